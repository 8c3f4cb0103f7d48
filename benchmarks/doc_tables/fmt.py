"""Formatting shared by every generated table: numbers, mean ± sample std over seeds, Markdown tables.

One convention everywhere: a cell over several seeds is ``mean ± std`` with ``std`` the sample standard
deviation (n − 1); a cell of one seed (or of an untrained method, which has no seed) is the value alone.
Negative numbers take the minus sign (U+2212), as in the prose around them.
"""

from __future__ import annotations

import statistics
import textwrap
from collections.abc import Sequence

MINUS = "\u2212"


def num(value: float, digits: int) -> str:
    """``value`` with ``digits`` decimals and a typographic minus."""
    text = f"{value:.{digits}f}"
    return text.lstrip("-") if float(text) == 0 else text.replace("-", MINUS)


def signed(value: float, digits: int) -> str:
    """``value`` with an explicit sign: ``+1.20`` / ``−0.40``."""
    text = num(value, digits)
    return text if text.startswith(MINUS) else "+" + text


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n − 1) over seeds; one value has std 0."""
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def cell(values: Sequence[float], digits: int, seeds: bool = False, bold: bool = False) -> str:
    """``mean ± std`` over ``values`` (the value alone for one), with the single values in brackets if ``seeds``."""
    if not values:
        return ""
    mean, std = mean_std(values)
    text = num(mean, digits) if len(values) == 1 else f"{num(mean, digits)} ± {num(std, digits)}"
    if bold:
        text = f"**{text}**"
    if seeds and len(values) > 1:
        text += " (" + ", ".join(num(v, digits) for v in values) + ")"
    return text


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table; every row has one cell per header column."""
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"row {list(row)} has {len(row)} cells, the header {len(header)}")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def percent(ratio: str) -> str:
    """A distractor ratio key (``"0.2"``) as a column title (``20 %``)."""
    return f"{round(float(ratio) * 100)} %"


def minutes(seconds: float) -> str:
    """A duration in whole minutes, at least 1: ``about N minutes``."""
    count = max(1, round(seconds / 60))
    return f"about {count} minute{'s' if count > 1 else ''}"


def paragraphs(text: str, width: int = 100) -> str:
    """Generated prose wrapped at ``width`` columns, paragraph by paragraph (blank-line separated)."""
    return "\n\n".join(
        textwrap.fill(p, width, break_long_words=False, break_on_hyphens=False) for p in text.split("\n\n")
    )
