"""An :class:`~st_glot.explanations.explanation.Explanation` as a standalone HTML page.

The page (the picture described in :mod:`~st_glot.explanations.render`) carries
its data, CSS, SVG and JavaScript inline and loads nothing from anywhere;
hovering a token highlights its edges, and a slider sets how many edges are drawn.
"""

from __future__ import annotations

import html
import json
import os

from matplotlib import colormaps
from matplotlib.colors import to_hex

from st_glot.explanations.explanation import Explanation
from st_glot.explanations.html_assets import SCRIPT, STYLE
from st_glot.explanations.render import (
    WEIGHT_CMAP,
    DisplayToken,
    caption,
    display_tokens,
    header_lines,
    text_colour,
    top_weight,
    weight_norm,
)


def _tokens_html(explanation: Explanation, shown: list[DisplayToken]) -> str:
    """One ``<span class="tok">`` per token, shaded by weight with a weight bar, grouped into ``<span class="word">``."""
    cmap = colormaps[WEIGHT_CMAP]
    heaviest = top_weight(explanation.weights)
    norm = weight_norm(explanation.weights)
    ranks = {index: rank for rank, (index, _, _) in enumerate(explanation.ranked(), start=1)}
    words: list[list[str]] = []
    for index, (token, weight) in enumerate(zip(shown, explanation.weights)):
        shade, height = float(norm(weight)), 10.0 * float(weight) / heaviest
        tooltip = f"{explanation.tokens[index]} · weight {weight:.4f} · rank {ranks[index]}"
        span = (
            f'<span class="tok{" special" if token.special else ""}" data-i="{index}" '
            f'style="background:{to_hex(cmap(shade))};color:{text_colour(cmap, shade)}" '
            f'title="{html.escape(tooltip)}">{html.escape(token.text)}'
            f'<i class="bar" style="height:{height:.1f}px"></i></span>'
        )
        if token.joined and words:
            words[-1].append(span)
        else:
            words.append([span])
    return "".join(f'<span class="word">{"".join(word)}</span>' for word in words)


def _controls_html(total: int, max_edges: int) -> str:
    """The edge-count slider, starting at ``max_edges`` of ``total``; nothing when the graph has no edges."""
    if not total:
        return ""
    return (
        f'<div class="controls"><label>edges drawn, strongest first: <input type="range" id="edge-count" min="0" '
        f'max="{total}" value="{min(max_edges, total)}"></label> <span id="edge-count-label"></span> '
        "· hover a token to see its edges</div>"
    )


def _ranked_html(explanation: Explanation, shown: list[DisplayToken]) -> str:
    """The ten heaviest tokens as ``<li>`` items, with the raw piece where it reads differently."""
    return "".join(
        f"<li><code>{html.escape(caption(shown[i]))}</code> {w:.4f}"
        + (f' <span class="meta">(as written: <code>{html.escape(raw)}</code>)</span>' if raw != shown[i].text else "")
        + "</li>"
        for i, raw, w in explanation.ranked(10)
    )


def _legend(explanation: Explanation) -> str:
    """What the shades, bars and arcs mean."""
    legend = "colour: readout weight, lightest to heaviest token · bar: weight relative to the heaviest"
    if explanation.tau is not None:
        legend += " · arcs: graph edges, darker = more similar, dashed = to another line"
    return legend


def _data_json(explanation: Explanation) -> str:
    """The explanation without its embedding, as JSON safe inside a ``<script>`` element."""
    data = {key: value for key, value in explanation.to_dict().items() if key != "embedding"}
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


def render_html(explanation: Explanation, path: str | os.PathLike, max_edges: int = 40) -> None:
    """Write ``explanation`` as a standalone HTML page at ``path``.

    Args:
        explanation: what to show.
        path: output file.
        max_edges: how many of the strongest edges are drawn at first (a slider
            on the page shows more or fewer).
    """
    shown = display_tokens(explanation.tokens)
    total = len(explanation.edge_similarity)
    header = header_lines(explanation, min(max_edges, total))
    title = explanation.label or "How the pooler read this text"
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f'<h1>{html.escape(title)}</h1><p class="meta">{html.escape(explanation.text)}</p>'
        + "".join(f'<p class="meta">{html.escape(line)}</p>' for line in header[1 if explanation.label else 0 :])
        + f'<p class="meta">{_legend(explanation)}</p>'
        + _controls_html(total, max_edges)
        + '<div id="stage"><svg id="arcs" xmlns="http://www.w3.org/2000/svg"></svg>'
        + f'<div id="tokens">{_tokens_html(explanation, shown)}</div></div>'
        + f'<h2 style="font-size:15px">Heaviest tokens</h2><ol>{_ranked_html(explanation, shown)}</ol>'
        + f'<script type="application/json" id="explanation-data">{_data_json(explanation)}</script>'
        + f"<script>{SCRIPT}</script></body></html>\n"
    )
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(page)
