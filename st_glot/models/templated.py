"""A backbone that wraps every text in a prompt template before tokenising it.

``TemplatedTransformer`` is a sentence-transformers ``Transformer`` whose text
preprocessing puts each input into the slot of its template (e.g. PromptEOL's
``'This sentence : "{text}" means in one word:"'``). The template is part of the
module's saved configuration (``sentence_bert_config.json``), so a model saved
with it encodes the same after ``SentenceTransformer(path, trust_remote_code=True)``,
and part of the backbone's fingerprint, so the token-state cache keeps the states
of each template apart.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from sentence_transformers.base.modules import Transformer

from st_glot.utils.templates import SLOT, fill_template, resolve_template

#: Most rounds of cutting a text to fit its template in ``max_seq_length`` (one is nearly always enough).
FIT_ROUNDS = 4


class TemplatedTransformer(Transformer):
    """A ``Transformer`` that encodes ``template`` with each text in its ``{text}`` slot.

    Args:
        model_name_or_path: as for ``Transformer``.
        template: a string with exactly one ``{text}`` slot, or a name from
            :data:`st_glot.utils.templates.TEMPLATES` (``"prompteol"``).
        kwargs: passed on to ``Transformer``.

    A sentence-transformers prompt (``encode(..., prompt=...)``) is prepended to the
    templated text, so ``include_prompt=False`` pooling still drops exactly the prompt's
    tokens. A text too long for ``max_seq_length`` once templated is cut (at a token
    boundary of the text alone), not the templated text's end, so that the template's
    words after the slot are kept: a summary token at the end stays the template's last token.

    Raises:
        ValueError: ``template`` has no ``{text}`` slot or more than one.
    """

    config_keys: list[str] = [*Transformer.config_keys, "template"]

    def __init__(self, model_name_or_path: str, *, template: str, **kwargs: Any) -> None:
        template = resolve_template(template)
        super().__init__(model_name_or_path, **kwargs)
        self.template = template

    @classmethod
    def around(cls, backbone: Transformer, template: str) -> TemplatedTransformer:
        """``backbone`` with ``template``, sharing its model and tokenizer (no weights are copied or loaded)."""
        template = resolve_template(template)
        templated = cls.__new__(cls)
        # Shallow copies of the module's own tables (submodules, hooks, settings), the same tensors and tokenizer.
        state = {k: copy.copy(v) if isinstance(v, dict | set) else v for k, v in vars(backbone).items()}
        state.pop("train", None)  # an instance-level override set by st_glot.training.frozen while frozen
        state["_prompt_length_mapping"] = {}
        templated.__dict__.update(state)
        templated.template = template
        return templated

    def preprocess(
        self,
        inputs: Sequence[str],
        prompt: str | None = None,
        processing_kwargs: dict | None = None,
        apply_template: bool = True,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Tokenise each text inside the template (``apply_template=False``: as given)."""
        if apply_template and inputs:
            max_length = kwargs.get("max_length") or self.max_seq_length
            inputs = [fill_template(self.template, text) for text in self._fit_texts(inputs, max_length)]
        return super().preprocess(inputs, prompt=prompt, processing_kwargs=processing_kwargs, **kwargs)

    def _get_prompt_length(self, prompt: str, **kwargs: Any) -> int | None:
        # The prompt's own length, outside any template: the tokens include_prompt=False pooling drops.
        return super()._get_prompt_length(prompt, apply_template=False, **kwargs)

    def _fit_texts(self, texts: Sequence[str], max_length: int | None) -> list[str]:
        """``texts``, each one too long to fit in the template within ``max_length`` tokens cut short.

        A templated text of ``n > max_length`` tokens loses its last ``n − max_length``
        tokens of text (cut by character offsets, so it stays a string); since a cut can
        change how the text's edge merges with the template, the lengths are checked again
        (up to :data:`FIT_ROUNDS` rounds, then the tokenizer's truncation applies). Needs a
        fast tokenizer; otherwise the texts are returned as given.
        """
        bad = [(i, t) for i, t in enumerate(texts) if not isinstance(t, str)][:1]
        if bad:
            position, value = bad[0]
            raise TypeError(
                f"Input {position} is {value!r} of type {type(value).__name__}; a TemplatedTransformer takes texts "
                f"(str) only, each placed in the template's {SLOT} slot."
            )
        tokenizer = self.tokenizer
        fitted = list(texts)
        if not max_length or tokenizer is None or not getattr(tokenizer, "is_fast", False):
            return fitted
        for _ in range(FIT_ROUNDS):
            filled = tokenizer([fill_template(self.template, t) for t in fitted], verbose=False)["input_ids"]
            excess = {i: len(ids) - max_length for i, ids in enumerate(filled) if len(ids) > max_length}
            if not excess:
                break
            spans = tokenizer(
                [fitted[i] for i in excess], add_special_tokens=False, return_offsets_mapping=True, verbose=False
            )["offset_mapping"]
            for (i, extra), offsets in zip(excess.items(), spans, strict=True):
                keep = len(offsets) - extra
                if keep < 1:
                    alone = len(tokenizer(fill_template(self.template, ""), verbose=False)["input_ids"])
                    raise ValueError(
                        f"The template {self.template!r} alone takes {alone} tokens, leaving no room for a text "
                        f"within max_seq_length {max_length}: raise max_seq_length or shorten the template."
                    )
                fitted[i] = fitted[i][: offsets[keep - 1][1]]
        return fitted
