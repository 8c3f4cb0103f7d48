"""Write explanations to a folder: ``explanations.json`` plus a PNG and/or HTML page per text."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence

from sentence_transformers import SentenceTransformer

from st_glot.explanations.explanation import Explanation, explain
from st_glot.explanations.render_html import render_html
from st_glot.explanations.render_png import render_png
from st_glot.utils.checks import check_choice

#: Picture formats :func:`write_explanations` can write.
FORMATS = ("png", "html")


def _file_stem(index: int, explanation: Explanation) -> str:
    """``003-the-cat-sat``: the text's position and its first words, safe as a file name."""
    caption = explanation.label if explanation.label else explanation.text
    slug = re.sub(r"[^a-z0-9]+", "-", caption.lower()).strip("-")[:40].strip("-")
    return f"{index:03d}-{slug}" if slug else f"{index:03d}"


def write_explanations(
    model: SentenceTransformer,
    texts: str | Sequence[str],
    output_dir: str | os.PathLike,
    labels: Sequence[str | None] | None = None,
    batch_size: int = 32,
    max_edges: int = 40,
    formats: Sequence[str] = ("png", "html"),
) -> list[Explanation]:
    """Explain ``texts`` and write the results to ``output_dir``.

    Writes ``explanations.json`` (every :class:`Explanation` as a dict, in input
    order, each with the names of its picture files) and, per text, a PNG and/or
    a standalone HTML page named ``NNN-first-words``.

    Args:
        model: see :func:`explain`.
        texts: one text or a list of texts.
        output_dir: folder to write into; created if missing.
        labels: optional caption per text (shown in the pictures, used in file names).
        batch_size: texts per forward pass.
        max_edges: the most graph edges drawn per picture (the strongest ones).
        formats: any of ``"png"`` and ``"html"``.

    Returns:
        The explanations, in input order.

    Raises:
        ValueError: a format is not ``"png"`` or ``"html"``; see also :func:`explain`.
    """
    for name in formats:
        check_choice("format", name, FORMATS)
    explanations = explain(model, texts, batch_size=batch_size, labels=labels)
    os.makedirs(output_dir, exist_ok=True)
    records = []
    for index, explanation in enumerate(explanations):
        stem = _file_stem(index, explanation)
        files = {}
        if "png" in formats:
            files["png"] = f"{stem}.png"
            render_png(explanation, os.path.join(output_dir, files["png"]), max_edges=max_edges)
        if "html" in formats:
            files["html"] = f"{stem}.html"
            render_html(explanation, os.path.join(output_dir, files["html"]), max_edges=max_edges)
        records.append({**explanation.to_dict(), "files": files})
    with open(os.path.join(output_dir, "explanations.json"), "w", encoding="utf-8") as handle:
        json.dump(records, handle, ensure_ascii=False, indent=1)
    return explanations
