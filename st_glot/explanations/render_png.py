"""An :class:`~st_glot.explanations.explanation.Explanation` drawn as a PNG.

The picture (described in :mod:`~st_glot.explanations.render`) is drawn on a
matplotlib Agg canvas (no pyplot, no GUI) in a monospaced font whose widths are
known in advance, so labels never overlap. All geometry is in points: the axes
map one data unit to one point.
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Colormap, Normalize
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, PathPatch, Rectangle
from matplotlib.path import Path

from st_glot.explanations.explanation import Explanation
from st_glot.explanations.render import (
    WEIGHT_CMAP,
    DisplayToken,
    display_tokens,
    header_lines,
    text_colour,
    top_weight,
    weight_norm,
)

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
_HEADER_LINE = 16.0
_LEGEND_HEIGHT = 40.0


def _columns(text: str) -> int:
    """Width of ``text`` in monospace columns (East Asian wide characters count 2)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


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


@dataclass
class _Page:
    """Vertical geometry of the picture, in points: the caption on top, one band per token row, the legend below."""

    header_height: float
    rows: int

    @property
    def height(self) -> float:
        return self.header_height + self.rows * _ROW + _LEGEND_HEIGHT

    def box_bottom(self, row: int) -> float:
        """Lower edge of the token boxes in ``row`` (0 is the top row), below the room for its arcs."""
        return self.height - self.header_height - row * _ROW - _ARC_ROOM - _BOX


def _edge_style(similarity: np.ndarray, low: float) -> tuple[np.ndarray, np.ndarray]:
    """Line width and opacity per edge, growing from ``low`` to the strongest similarity shown."""
    if similarity.size == 0:
        return similarity, similarity
    span = max(float(similarity.max()) - low, 1e-6)
    strength = np.clip((similarity - low) / span, 0.0, 1.0)
    return 0.6 + 2.0 * strength, 0.25 + 0.65 * strength


def _arc_lift(dx: float) -> float:
    """Control-point height of the cubic arc over a horizontal span ``dx``: its peak is 3/4 of this."""
    return min(_ARC_ROOM - 4.0, 6.0 + 1.6 * dx**0.5) * 4.0 / 3.0


def _blank_page(page: _Page) -> tuple[Figure, Axes]:
    """A white figure of the page's size on an Agg canvas, with axes in points and no frame."""
    fig = Figure(figsize=(_WIDTH / 72.0, page.height / 72.0))
    FigureCanvasAgg(fig)  # the Agg canvas: no GUI backend, no global pyplot state
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, _WIDTH)
    ax.set_ylim(0, page.height)
    ax.axis("off")
    return fig, ax


def _draw_header(ax: Axes, header: list[str], page: _Page) -> None:
    """The caption lines at the top left; the first one larger and bold."""
    for line_number, line in enumerate(header):
        ax.text(
            _MARGIN,
            page.height - 8.0 - _HEADER_LINE * line_number,
            line,
            va="top",
            ha="left",
            fontsize=11 if line_number == 0 else 9,
            weight="bold" if line_number == 0 else "normal",
            color="#222",
        )


def _draw_tokens(
    ax: Axes,
    shown: list[DisplayToken],
    placed: list[_Placed],
    weights: np.ndarray,
    page: _Page,
    cmap: Colormap,
    norm: Normalize,
) -> None:
    """Each token: a box shaded by its weight, its label, and a bar below as tall as its share of the heaviest."""
    heaviest = top_weight(weights)
    for token, place, weight in zip(shown, placed, weights):
        x, y = _MARGIN + place.x, page.box_bottom(place.row)
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
            color=text_colour(cmap, norm(weight)),
            zorder=4,
        )
        ax.add_patch(
            Rectangle(
                (x + 1, y - 1.5 - _BAR * weight / heaviest),
                place.width - 2,
                _BAR * weight / heaviest,
                facecolor="#8a8a8a",
                edgecolor="none",
                zorder=3,
            )
        )


def _draw_arcs(ax: Axes, explanation: Explanation, placed: list[_Placed], page: _Page, max_edges: int) -> None:
    """The ``max_edges`` strongest graph edges as cubic arcs between box tops; dashed between rows."""
    edges = explanation.strongest_edges(max_edges)
    low = explanation.tau if explanation.tau is not None else 0.0
    widths, alphas = _edge_style(np.array([s for _, _, s in edges], dtype=np.float32), low)
    for (i, j, _), line_width, alpha in zip(edges, widths, alphas):
        a, b = placed[i], placed[j]
        x1, x2 = _MARGIN + a.x + a.width / 2, _MARGIN + b.x + b.width / 2
        y1, y2 = page.box_bottom(a.row) + _BOX, page.box_bottom(b.row) + _BOX
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


def _draw_legend(fig: Figure, explanation: Explanation, page: _Page, cmap: Colormap, norm: Normalize) -> None:
    """The colour bar of the weights and what the shades, bars and arcs mean, along the bottom."""
    height = page.height
    bar_axes = fig.add_axes((_MARGIN / _WIDTH, 12.0 / height, 200.0 / _WIDTH, 8.0 / height))
    colorbar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=bar_axes, orientation="horizontal")
    colorbar.ax.tick_params(labelsize=7, length=2)
    legends = ["readout weight: colour from lightest to heaviest token, bar height relative to the heaviest"]
    if explanation.tau is not None:
        legends.append("arcs: graph edges, darker = more similar; dashed = edge to another row")
    for left, legend in zip((_MARGIN + 210.0, _MARGIN + 620.0), legends):
        fig.text(left / _WIDTH, 16.0 / height, legend, fontsize=8, va="center", color="#444")


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
    header = header_lines(explanation, min(max_edges, len(explanation.edge_similarity)))
    page = _Page(header_height=_HEADER_LINE * len(header) + 10.0, rows=(placed[-1].row + 1) if placed else 1)
    cmap, norm = colormaps[WEIGHT_CMAP], weight_norm(explanation.weights)

    fig, ax = _blank_page(page)
    _draw_header(ax, header, page)
    _draw_tokens(ax, shown, placed, explanation.weights, page, cmap, norm)
    _draw_arcs(ax, explanation, placed, page, max_edges)
    _draw_legend(fig, explanation, page, cmap, norm)
    fig.savefig(path, dpi=dpi, facecolor="white")
