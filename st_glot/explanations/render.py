"""What the PNG and the HTML page of an :class:`~st_glot.explanations.explanation.Explanation` both show.

Both pictures (:mod:`~st_glot.explanations.render_png`, :mod:`~st_glot.explanations.render_html`)
show the tokens in reading order, wrapped into rows, each shaded by its readout
weight with a small bar underneath whose height is the weight, and the strongest
edges of the token graph drawn as arcs above the tokens (thicker and darker for
higher similarity; self-loops are never drawn). This module holds what they
share: readable token labels, the colour scale and the caption lines.

Word pieces are shown the way they read: ``##ing`` becomes ``ing`` set flush
against the piece before it, byte-level BPE (``Ġ``, ``Ċ``) and SentencePiece
(``▁``) markers turn into word breaks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from matplotlib.colors import Colormap, Normalize

from st_glot.explanations.explanation import Explanation

#: Special tokens: ``[CLS]``, ``<s>``, ``</s>``, ``<|endoftext|>``, ``<pad>`` …
_SPECIAL = re.compile(r"^(\[[A-Za-z_]+\]|<\|?/?[^<>\s]+\|?>)$")
_VISIBLE_WHITESPACE = {"\n": "↵", "\r": "↵", "\t": "⇥", " ": "␣"}
#: Matplotlib colour map of the readout weights, light (low) to dark (high).
WEIGHT_CMAP = "YlOrRd"


@dataclass
class DisplayToken:
    """A token as shown: ``text`` without tokenizer markers; ``joined`` when it continues the previous word."""

    text: str
    joined: bool
    special: bool


@lru_cache(maxsize=1)
def _byte_decoder() -> dict[str, int]:
    """Inverse of the byte → printable-character table of byte-level BPE (GPT-2, RoBERTa, Llama 3, Qwen)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    codes = list(printable)
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return {chr(code): byte for byte, code in zip(printable, codes)}


def _show_whitespace(text: str) -> str:
    """A piece made only of whitespace, spelled with visible symbols (``↵``, ``⇥``, ``␣``)."""
    return "".join(_VISIBLE_WHITESPACE.get(c, c) for c in text) or "␣"


def display_tokens(tokens: list[str]) -> list[DisplayToken]:
    """Turn raw tokenizer pieces into readable labels and word boundaries.

    The scheme is read from the tokens: byte-level BPE if any contains ``Ġ`` or
    ``Ċ`` (its pieces are decoded back to UTF-8; a leading space starts a word),
    SentencePiece if any starts with ``▁`` (which starts a word), and WordPiece
    otherwise (``##`` continues a word). Special tokens always stand alone.
    """
    byte_level = any("Ġ" in t or "Ċ" in t for t in tokens)
    sentencepiece = not byte_level and any(t.startswith("▁") for t in tokens)
    decoder = _byte_decoder()
    shown: list[DisplayToken] = []
    for index, token in enumerate(tokens):
        if _SPECIAL.match(token):
            shown.append(DisplayToken(token, joined=False, special=True))
            continue
        if byte_level and all(c in decoder for c in token):
            text = bytes(decoder[c] for c in token).decode("utf-8", errors="replace")
            starts = text[:1].isspace()
        elif sentencepiece:
            text = token.replace("▁", " ")
            starts = token.startswith("▁")
        else:
            starts = not (token.startswith("##") and len(token) > 2)
            text = token if starts else token[2:]
        text = text.strip() or _show_whitespace(text)
        joined = not starts and index > 0 and not shown[-1].special
        shown.append(DisplayToken(text, joined=joined, special=False))
    return shown


def text_colour(cmap: Colormap, value: float) -> str:
    """Black on light shades, white on dark ones (``value`` in [0, 1] on ``cmap``)."""
    red, green, blue, _ = cmap(value)
    return "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.55 else "white"


def caption(token: DisplayToken) -> str:
    """A token's label outside the token row: a piece that continues a word gets a leading ``…``."""
    return f"…{token.text}" if token.joined else token.text


def weight_norm(weights: np.ndarray) -> Normalize:
    """Colour scale from the lightest to the heaviest token of this text (the colour bar shows the values)."""
    if len(weights) == 0:
        return Normalize(0.0, 1.0)
    low, high = float(weights.min()), float(weights.max())
    return Normalize(low, high) if high > low else Normalize(0.0, high or 1.0)


def top_weight(weights: np.ndarray) -> float:
    """The heaviest token's weight (1 for no tokens): the full height of a weight bar."""
    return float(weights.max()) if len(weights) else 1.0


def header_lines(explanation: Explanation, drawn: int) -> list[str]:
    """Caption lines: label, pooler and graph summary (``drawn`` edges of all), heaviest tokens."""
    shown = display_tokens(explanation.tokens)
    lines = [explanation.label] if explanation.label else []
    summary = f"{explanation.pooler} · {len(explanation.tokens)} tokens"
    if explanation.tau is None:
        summary += " · no token graph"
    else:
        total = len(explanation.edge_similarity)
        summary += f" · tau = {explanation.tau:g} · {total} edges, the {drawn} strongest drawn"
        if drawn:
            summary += f" (cosine {explanation.edge_similarity[drawn - 1]:.2f} to {explanation.edge_similarity[0]:.2f})"
    lines.append(summary)
    top = ", ".join(f"{caption(shown[i])} {w:.3f}" for i, _, w in explanation.ranked(6))
    lines.append(f"heaviest: {top}")
    return lines
