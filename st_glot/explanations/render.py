"""Pictures of an :class:`~st_glot.explanations.explanation.Explanation`: a PNG and a standalone HTML page.

Both show the tokens in reading order, wrapped into rows, each shaded by its
readout weight with a small bar underneath whose height is the weight, and the
strongest edges of the token graph drawn as arcs above the tokens (thicker and
darker for higher similarity; self-loops are never drawn). Word pieces are
shown the way they read: ``##ing`` becomes ``ing`` set flush against the piece
before it, byte-level BPE (``Ġ``, ``Ċ``) and SentencePiece (``▁``) markers turn
into word breaks.

The PNG is drawn on a matplotlib Agg canvas (no pyplot, no GUI) in a monospaced font whose widths
are known in advance, so labels never overlap. The HTML page carries its data,
CSS, SVG and JavaScript inline and loads nothing from anywhere; hovering a token
highlights its edges, and a slider sets how many edges are drawn.
"""

from __future__ import annotations

import html
import json
import os
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Colormap, Normalize, to_hex
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, PathPatch, Rectangle
from matplotlib.path import Path

from st_glot.explanations.explanation import Explanation

#: Special tokens: ``[CLS]``, ``<s>``, ``</s>``, ``<|endoftext|>``, ``<pad>`` …
_SPECIAL = re.compile(r"^(\[[A-Za-z_]+\]|<\|?/?[^<>\s]+\|?>)$")
_VISIBLE_WHITESPACE = {"\n": "↵", "\r": "↵", "\t": "⇥", " ": "␣"}
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


def _columns(text: str) -> int:
    """Width of ``text`` in monospace columns (East Asian wide characters count 2)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


# PNG geometry, in points (the axes map one data unit to one point).
_FONT = 10.0
_CHAR = 0.602 * _FONT  # advance of DejaVu Sans Mono
_PAD = 3.0
_BOX = 16.0
_BAR = 9.0
_ARC_ROOM = 52.0
_ROW = _ARC_ROOM + _BOX + _BAR + 8.0
_WORD_GAP = 7.0
_PIECE_GAP = 1.0
_MARGIN = 24.0
_WIDTH = 1080.0


@dataclass
class _Placed:
    """A token's box in the PNG: left edge, width, row."""

    x: float
    width: float
    row: int


def _layout(shown: list[DisplayToken], width: float) -> list[_Placed]:
    """Place boxes left to right, wrapping at word boundaries (a word wider than a row is split)."""
    words: list[list[int]] = []
    for index, token in enumerate(shown):
        if token.joined and words:
            words[-1].append(index)
        else:
            words.append([index])
    box_width = [_columns(t.text) * _CHAR + 2 * _PAD for t in shown]
    placed: list[_Placed] = [_Placed(0.0, 0.0, 0)] * len(shown)
    x, row = 0.0, 0
    for word in words:
        word_width = sum(box_width[i] for i in word) + _PIECE_GAP * (len(word) - 1)
        if x > 0 and x + word_width > width:
            x, row = 0.0, row + 1
        for position, index in enumerate(word):
            if position and x + box_width[index] > width:
                x, row = 0.0, row + 1
            placed[index] = _Placed(x, box_width[index], row)
            x += box_width[index] + _PIECE_GAP
        x += _WORD_GAP - _PIECE_GAP
    return placed


def _edge_style(similarity: np.ndarray, low: float) -> tuple[np.ndarray, np.ndarray]:
    """Line width and opacity per edge, growing from ``low`` to the strongest similarity shown."""
    if similarity.size == 0:
        return similarity, similarity
    span = max(float(similarity.max()) - low, 1e-6)
    strength = np.clip((similarity - low) / span, 0.0, 1.0)
    return 0.6 + 2.0 * strength, 0.25 + 0.65 * strength


def _text_colour(cmap: Colormap, value: float) -> str:
    """Black on light shades, white on dark ones."""
    red, green, blue, _ = cmap(value)
    return "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.55 else "white"


def _caption(token: DisplayToken) -> str:
    """A token's label outside the token row: a piece that continues a word gets a leading ``…``."""
    return f"…{token.text}" if token.joined else token.text


def _weight_norm(weights: np.ndarray) -> Normalize:
    """Colour scale from the lightest to the heaviest token of this text (the colour bar shows the values)."""
    if len(weights) == 0:
        return Normalize(0.0, 1.0)
    low, high = float(weights.min()), float(weights.max())
    return Normalize(low, high) if high > low else Normalize(0.0, high or 1.0)


def _arc_lift(dx: float) -> float:
    """Control-point height of the cubic arc over a horizontal span ``dx``: its peak is 3/4 of this."""
    return min(_ARC_ROOM - 4.0, 6.0 + 1.6 * dx**0.5) * 4.0 / 3.0


def _header(explanation: Explanation, drawn: int) -> list[str]:
    """Caption lines: label, pooler and graph summary, heaviest tokens."""
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
    top = ", ".join(f"{_caption(shown[i])} {w:.3f}" for i, _, w in explanation.ranked(6))
    lines.append(f"heaviest: {top}")
    return lines


def render_png(explanation: Explanation, path: str | os.PathLike, max_edges: int = 40, dpi: int = 150) -> None:
    """Draw ``explanation`` as a PNG at ``path``.

    Args:
        explanation: what to draw.
        path: output file.
        max_edges: draw only this many of the strongest edges.
        dpi: resolution.
    """
    shown = display_tokens(explanation.tokens)
    placed = _layout(shown, _WIDTH - 2 * _MARGIN)
    rows = (placed[-1].row + 1) if placed else 1
    header = _header(explanation, min(max_edges, len(explanation.edge_similarity)))
    header_height = 16.0 * len(header) + 10.0
    legend_height = 40.0
    height = header_height + rows * _ROW + legend_height

    fig = Figure(figsize=(_WIDTH / 72.0, height / 72.0))
    FigureCanvasAgg(fig)  # the Agg canvas: no GUI backend, no global pyplot state
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, _WIDTH)
    ax.set_ylim(0, height)
    ax.axis("off")
    for line_number, line in enumerate(header):
        ax.text(
            _MARGIN,
            height - 8.0 - 16.0 * line_number,
            line,
            va="top",
            ha="left",
            fontsize=11 if line_number == 0 else 9,
            weight="bold" if line_number == 0 else "normal",
            color="#222",
        )

    def box_bottom(row: int) -> float:
        return height - header_height - row * _ROW - _ARC_ROOM - _BOX

    cmap = colormaps[WEIGHT_CMAP]
    top_weight = float(explanation.weights.max()) if len(explanation.weights) else 1.0
    norm = _weight_norm(explanation.weights)
    for token, place, weight in zip(shown, placed, explanation.weights):
        x, y = _MARGIN + place.x, box_bottom(place.row)
        ax.add_patch(
            FancyBboxPatch(
                (x, y),
                place.width,
                _BOX,
                boxstyle="round,pad=0,rounding_size=2.5",
                facecolor=cmap(norm(weight)),
                edgecolor="#999" if token.special else "#bbb",
                linewidth=0.6,
                linestyle="--" if token.special else "-",
                zorder=3,
            )
        )
        ax.text(
            x + place.width / 2,
            y + _BOX / 2,
            token.text,
            ha="center",
            va="center_baseline",
            fontsize=_FONT,
            family="DejaVu Sans Mono",
            color=_text_colour(cmap, norm(weight)),
            zorder=4,
        )
        ax.add_patch(
            Rectangle(
                (x + 1, y - 1.5 - _BAR * weight / top_weight),
                place.width - 2,
                _BAR * weight / top_weight,
                facecolor="#8a8a8a",
                edgecolor="none",
                zorder=3,
            )
        )

    edges = explanation.strongest_edges(max_edges)
    low = explanation.tau if explanation.tau is not None else 0.0
    widths, alphas = _edge_style(np.array([s for _, _, s in edges], dtype=np.float32), low)
    for (i, j, _), line_width, alpha in zip(edges, widths, alphas):
        a, b = placed[i], placed[j]
        x1, x2 = _MARGIN + a.x + a.width / 2, _MARGIN + b.x + b.width / 2
        y1, y2 = box_bottom(a.row) + _BOX, box_bottom(b.row) + _BOX
        lift = _arc_lift(abs(x2 - x1))
        same_row = a.row == b.row
        curve = Path(
            [(x1, y1), (x1, y1 + lift), (x2, y2 + lift), (x2, y2)], [Path.MOVETO, Path.CURVE4, Path.CURVE4, Path.CURVE4]
        )
        ax.add_patch(
            PathPatch(
                curve,
                facecolor="none",
                edgecolor="#2c5d9e",
                linewidth=float(line_width),
                alpha=float(alpha) * (1.0 if same_row else 0.6),
                linestyle="-" if same_row else (0, (4, 2)),
                zorder=2,
            )
        )

    bar_axes = fig.add_axes((_MARGIN / _WIDTH, 12.0 / height, 200.0 / _WIDTH, 8.0 / height))
    colorbar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=bar_axes, orientation="horizontal")
    colorbar.ax.tick_params(labelsize=7, length=2)
    legends = ["readout weight: colour from lightest to heaviest token, bar height relative to the heaviest"]
    if explanation.tau is not None:
        legends.append("arcs: graph edges, darker = more similar; dashed = edge to another row")
    for left, legend in zip((_MARGIN + 210.0, _MARGIN + 620.0), legends):
        fig.text(left / _WIDTH, 16.0 / height, legend, fontsize=8, va="center", color="#444")
    fig.savefig(path, dpi=dpi, facecolor="white")


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:18px;margin:0 0 4px}
.meta{color:#555;font-size:13px;margin:2px 0}
.controls{font-size:13px;margin:10px 0}
#stage{position:relative;max-width:1100px}
#arcs{position:absolute;left:0;top:0;z-index:0;pointer-events:none;overflow:visible}
#arcs path{fill:none;stroke:#2c5d9e}
#arcs path.cross{stroke-dasharray:4 2}
#arcs path.dim{stroke-opacity:.06}
#arcs path.hot{stroke:#c2410c;stroke-opacity:1}
#tokens{position:relative;z-index:1;line-height:1}
.word{display:inline-block;white-space:nowrap;margin:56px 4px 16px 0}
.tok{position:relative;display:inline-block;font:14px/20px ui-monospace,"DejaVu Sans Mono",Menlo,monospace;
 padding:0 4px;border:1px solid #bbb;border-radius:3px;margin-right:1px;cursor:default}
.tok.special{border-style:dashed;color:#555}
.tok .bar{position:absolute;left:1px;right:1px;top:calc(100% + 2px);background:#8a8a8a}
.tok.hot{outline:2px solid #c2410c}
ol{font-size:13px}
code{font:13px ui-monospace,"DejaVu Sans Mono",monospace}
"""

_SCRIPT = """
(function(){
const data=JSON.parse(document.getElementById('explanation-data').textContent);
const stage=document.getElementById('stage'), svg=document.getElementById('arcs');
const toks=Array.from(document.querySelectorAll('.tok')), slider=document.getElementById('edge-count');
const count=document.getElementById('edge-count-label'), NS='http://www.w3.org/2000/svg';
const sims=data.edge_similarity, low=data.tau===null?0:data.tau, high=sims.length?sims[0]:1;
function draw(){
  while(svg.firstChild) svg.removeChild(svg.firstChild);
  const base=stage.getBoundingClientRect(), n=slider?Number(slider.value):0;
  svg.setAttribute('width',base.width); svg.setAttribute('height',base.height);
  const boxes=toks.map(t=>{const r=t.getBoundingClientRect();return {x:r.left-base.left+r.width/2,y:r.top-base.top};});
  for(let k=0;k<n;k++){
    const [i,j]=data.edges[k], a=boxes[i], b=boxes[j], s=(sims[k]-low)/Math.max(high-low,1e-6);
    const lift=Math.min(52,6+1.6*Math.sqrt(Math.abs(b.x-a.x)))*4/3, cross=Math.abs(a.y-b.y)>2;
    const p=document.createElementNS(NS,'path');
    p.setAttribute('d',`M${a.x},${a.y} C${a.x},${a.y-lift} ${b.x},${b.y-lift} ${b.x},${b.y}`);
    p.setAttribute('stroke-width',(0.8+2.2*s).toFixed(2));
    p.setAttribute('stroke-opacity',((0.25+0.65*s)*(cross?0.6:1)).toFixed(2));
    p.dataset.i=i; p.dataset.j=j; if(cross) p.classList.add('cross');
    const title=document.createElementNS(NS,'title');
    title.textContent=`${toks[i].textContent} — ${toks[j].textContent}: cosine ${sims[k].toFixed(3)}`;
    p.appendChild(title); svg.appendChild(p);
  }
  if(count) count.textContent=`${n} of ${sims.length}`;
  document.body.dataset.drawnEdges=String(n);
}
function focus(i){
  toks.forEach(t=>t.classList.toggle('hot',i!==null&&Number(t.dataset.i)===i));
  svg.querySelectorAll('path').forEach(p=>{
    const on=i!==null&&(Number(p.dataset.i)===i||Number(p.dataset.j)===i);
    p.classList.toggle('hot',on); p.classList.toggle('dim',i!==null&&!on);
  });
}
toks.forEach(t=>{
  t.addEventListener('mouseenter',()=>focus(Number(t.dataset.i)));
  t.addEventListener('mouseleave',()=>focus(null));
});
if(slider) slider.addEventListener('input',draw);
window.addEventListener('resize',draw);
draw();
})();
"""


def render_html(explanation: Explanation, path: str | os.PathLike, max_edges: int = 40) -> None:
    """Write ``explanation`` as a standalone HTML page at ``path``.

    Args:
        explanation: what to show.
        path: output file.
        max_edges: how many of the strongest edges are drawn at first (a slider
            on the page shows more or fewer).
    """
    shown = display_tokens(explanation.tokens)
    cmap = colormaps[WEIGHT_CMAP]
    top_weight = float(explanation.weights.max()) if len(explanation.weights) else 1.0
    norm = _weight_norm(explanation.weights)
    ranks = {index: rank for rank, (index, _, _) in enumerate(explanation.ranked(), start=1)}

    words: list[list[str]] = []
    for index, (token, weight) in enumerate(zip(shown, explanation.weights)):
        shade, height = float(norm(weight)), 10.0 * float(weight) / top_weight
        tooltip = f"{explanation.tokens[index]} · weight {weight:.4f} · rank {ranks[index]}"
        span = (
            f'<span class="tok{" special" if token.special else ""}" data-i="{index}" '
            f'style="background:{to_hex(cmap(shade))};color:{_text_colour(cmap, shade)}" '
            f'title="{html.escape(tooltip)}">{html.escape(token.text)}'
            f'<i class="bar" style="height:{height:.1f}px"></i></span>'
        )
        if token.joined and words:
            words[-1].append(span)
        else:
            words.append([span])
    tokens_html = "".join(f'<span class="word">{"".join(word)}</span>' for word in words)

    total = len(explanation.edge_similarity)
    header = _header(explanation, min(max_edges, total))
    title = explanation.label or "How the pooler read this text"
    controls = (
        f'<div class="controls"><label>edges drawn, strongest first: <input type="range" id="edge-count" min="0" '
        f'max="{total}" value="{min(max_edges, total)}"></label> <span id="edge-count-label"></span> '
        "· hover a token to see its edges</div>"
        if total
        else ""
    )
    ranked = "".join(
        f"<li><code>{html.escape(_caption(shown[i]))}</code> {w:.4f}"
        + (f' <span class="meta">(as written: <code>{html.escape(raw)}</code>)</span>' if raw != shown[i].text else "")
        + "</li>"
        for i, raw, w in explanation.ranked(10)
    )
    legend = "colour: readout weight, lightest to heaviest token · bar: weight relative to the heaviest"
    if explanation.tau is not None:
        legend += " · arcs: graph edges, darker = more similar, dashed = to another line"
    data = {key: value for key, value in explanation.to_dict().items() if key != "embedding"}
    payload = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        f'<h1>{html.escape(title)}</h1><p class="meta">{html.escape(explanation.text)}</p>'
        + "".join(f'<p class="meta">{html.escape(line)}</p>' for line in header[1 if explanation.label else 0 :])
        + f'<p class="meta">{legend}</p>'
        + controls
        + '<div id="stage"><svg id="arcs" xmlns="http://www.w3.org/2000/svg"></svg>'
        + f'<div id="tokens">{tokens_html}</div></div>'
        + f'<h2 style="font-size:15px">Heaviest tokens</h2><ol>{ranked}</ol>'
        + f'<script type="application/json" id="explanation-data">{payload}</script>'
        + f"<script>{_SCRIPT}</script></body></html>\n"
    )
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(page)
