"""The diagnostic stress test's data: a relational needle in a haystack of common words.

From Mantri et al. (ICLR 2026), "diagnostic stress test": a label-1 text holds
the needle ``<context> <noun>`` ("the folder includes files"); a label-0 text
holds ``<context> <negation> w_1 … w_10 <noun>`` ("the folder includes not … files"),
the negation separated from its noun by ten haystack words. The rest of the
text is haystack: common English words. The distractor ratio sets how much of a
128-word text is haystack. Telling the classes apart needs the relation between
the negation and the noun, which mean/max pooling dilute.

Two generators:

- ``"reference"`` reproduces the paper's code: ``int(128 · ratio)`` haystack
  words plus the needle, cut to 128 words. Label-0 texts are ~11 words longer
  (length alone leaks the label) and at high ratios overflow a 128-token
  backbone, so truncation can cut the needle.
- ``"balanced"`` (default) fixes both: every text of a ratio, whatever its label,
  has exactly the same number of tokens (counted with the backbone's
  tokenizer), and that number fits ``max_seq_length``, so the needle always
  survives tokenisation.

Generation is seeded by ``random.Random(seed)``: same seed, same data, any machine.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from st_glot.utils.checks import check_choice

#: Haystack vocabulary (common English web words), as listed in the paper's code.
NOISE_WORDS: tuple[str, ...] = tuple(
    "the of and to a in for is on that by this with i you it not or be are from at as your all have new more an "
    "was we will home can us about if page my has search free but our one other do no information time they site "
    "he up may what which their news out use any there see only so his when contact here business who web also now "
    "help get pm view online first am been would how were me services some these click its like service x than "
    "find date top yet".split()
)
TARGET_NOUNS: tuple[str, ...] = ("keys", "reports", "files", "tickets", "documents", "alerts")
MODIFIERS: tuple[str, ...] = ("not", "never", "without", "excluding")
CONTEXTS: tuple[str, ...] = ("the delivery contains", "the folder includes", "in the box are")
#: Haystack words between the negation and its noun in label-0 needles.
RELATIONAL_DISTANCE = 10
#: Text length, in words, that the distractor ratio refers to.
TEXT_WORDS = 128
GENERATORS: tuple[str, ...] = ("balanced", "reference")
DISTRACTOR_RATIOS: tuple[float, ...] = (0.2, 0.5, 0.8, 0.9)


@dataclass(frozen=True)
class Sample:
    """One stress-test text and its label (1: the noun is present, 0: negated)."""

    text: str
    label: int


def _needle(rng: random.Random, label: int) -> list[str]:
    context, noun = rng.choice(CONTEXTS), rng.choice(TARGET_NOUNS)
    if label == 1:
        return [context, noun]
    return [context, rng.choice(MODIFIERS), *rng.choices(NOISE_WORDS, k=RELATIONAL_DISTANCE), noun]


def _insert(rng: random.Random, haystack: list[str], needle: list[str]) -> str:
    at = rng.randint(0, len(haystack))
    return " ".join(haystack[:at] + needle + haystack[at:])


def reference_sample(rng: random.Random, ratio: float) -> Sample:
    """One sample exactly as the paper's generator makes it (random needle position)."""
    label = rng.choice((1, 0))
    needle = _needle(rng, label)
    noise = int(TEXT_WORDS * ratio)
    noise -= max(0, noise + len(needle) - TEXT_WORDS)
    haystack = rng.choices(NOISE_WORDS, k=noise)
    at = rng.randint(0, len(haystack))
    words = (haystack[:at] + needle + haystack[at:])[:TEXT_WORDS]
    return Sample(" ".join(words), label)


def balanced_target(ratio: float, count_tokens: Callable[[str], int], budget: int) -> int:
    """Token count of every balanced text at ``ratio``.

    ``min(budget, tokens of the longest possible label-0 needle + int(128 · ratio))``:
    the reference's haystack size, shrunk where the text would not fit ``budget``.
    """
    longest_needle = (
        max(map(count_tokens, CONTEXTS))
        + max(map(count_tokens, MODIFIERS))
        + RELATIONAL_DISTANCE * max(map(count_tokens, NOISE_WORDS))
        + max(map(count_tokens, TARGET_NOUNS))
    )
    return min(budget, longest_needle + int(TEXT_WORDS * ratio))


def balanced_sample(rng: random.Random, target: int, count_tokens: Callable[[str], int]) -> Sample:
    """One sample of exactly ``target`` tokens, for either label.

    Haystack words are drawn until the next one would overshoot; the last gap
    is filled with single-token haystack words.
    """
    label = rng.choice((1, 0))
    needle = _needle(rng, label)
    room = target - sum(count_tokens(part) for part in needle)
    single = [w for w in NOISE_WORDS if count_tokens(w) == 1]
    haystack: list[str] = []
    while room > 0:
        word = rng.choice(NOISE_WORDS)
        if count_tokens(word) > room:
            word = rng.choice(single)
        haystack.append(word)
        room -= count_tokens(word)
    return Sample(_insert(rng, haystack, needle), label)


def generate(
    num_samples: int,
    ratio: float,
    seed: int,
    generator: str = "balanced",
    count_tokens: Callable[[str], int] | None = None,
    budget: int = 126,
) -> list[Sample]:
    """Generate ``num_samples`` stress-test samples.

    Args:
        num_samples: how many.
        ratio: distractor ratio in ``(0, 1)``.
        seed: random seed (same seed → same samples).
        generator: ``"balanced"`` or ``"reference"``.
        count_tokens: tokens of one word or phrase, as it appears inside a text
            (needed by ``"balanced"``; see :func:`word_token_counter`).
        budget: tokens available for the text (``max_seq_length`` minus special tokens).
    """
    check_choice("generator", generator, GENERATORS)
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"Invalid distractor ratio: {ratio!r}. It must be in (0, 1), e.g. {DISTRACTOR_RATIOS}.")
    rng = random.Random(seed)
    if generator == "reference":
        return [reference_sample(rng, ratio) for _ in range(num_samples)]
    if count_tokens is None:
        raise ValueError(
            "generator='balanced' needs count_tokens (see st_glot.evaluation.stress.data.word_token_counter)."
        )
    target = balanced_target(ratio, count_tokens, budget)
    return [balanced_sample(rng, target, count_tokens) for _ in range(num_samples)]


def word_token_counter(tokenizer) -> Callable[[str], int]:
    """Token count of a word or phrase as it appears after a space inside a text.

    Texts are words joined by single spaces, and both WordPiece and byte-level BPE
    split at spaces first, so a text's token count is the sum of its parts'
    counts. Each part is measured between two fixed anchor words, which also
    captures the leading-space form BPE vocabularies use.
    """
    cache: dict[str, int] = {}
    anchor = len(tokenizer("the the", add_special_tokens=False)["input_ids"])

    def count(part: str) -> int:
        if part not in cache:
            cache[part] = len(tokenizer(f"the {part} the", add_special_tokens=False)["input_ids"]) - anchor
        return cache[part]

    return count
