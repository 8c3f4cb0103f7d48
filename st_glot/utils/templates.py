"""Prompt templates: text placed around every input, with one ``{text}`` slot.

A template differs from a sentence-transformers prompt, which is a prefix only:
``'This sentence : "{text}" means in one word:"'`` puts words after the text too,
so a decoder's last token summarises it (PromptEOL, Jiang et al., 2023). This
module imports nothing heavy, so the command line can check a template before
loading any model.
"""

from __future__ import annotations

#: The slot a template's text goes into.
SLOT = "{text}"
#: PromptEOL's template (Jiang et al., 2023, "Scaling Sentence Embeddings with Large Language Models").
PROMPTEOL_TEMPLATE = 'This sentence : "{text}" means in one word:"'
#: Named templates: ``--template prompteol`` is PromptEOL's.
TEMPLATES: dict[str, str] = {"prompteol": PROMPTEOL_TEMPLATE}
#: ``load_backbone(template=AUTO)``: PromptEOL's template on a decoder, plain text on an encoder.
AUTO = "auto"


def resolve_template(template: str) -> str:
    """The template text for a name from :data:`TEMPLATES`, or ``template`` itself once checked.

    Raises:
        ValueError: ``template`` is neither a name from :data:`TEMPLATES` nor a string
            with exactly one ``{text}`` slot.
    """
    if template in TEMPLATES:
        return TEMPLATES[template]
    if not isinstance(template, str) or template.count(SLOT) != 1:
        slots = template.count(SLOT) if isinstance(template, str) else 0
        raise ValueError(
            f"Invalid template: {template!r} has {slots} {SLOT} slots; a template needs exactly one "
            f"(e.g. {PROMPTEOL_TEMPLATE!r}), or is one of the names {tuple(TEMPLATES)}."
        )
    return template


def fill_template(template: str, text: str) -> str:
    """``template`` with ``text`` in its slot (other braces in the template are kept as written)."""
    return template.replace(SLOT, text, 1)
