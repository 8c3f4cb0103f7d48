"""The cost of each method in a comparison, with the token-state cache fill charged to every method that reads it.

In a comparison the first method that reads the cache fills it (the backbone runs over every
text once) and the others read it for free. What a user of one such method pays is the fill
and its own training, so :class:`CacheFills` records each fill where it ran and charges it to
every cached method's :class:`~st_glot.training.cost.Cost`: ``seconds`` (the whole run) then
holds the fill, ``cache_fill_seconds`` says how much of it, and the peak memory is the larger of
the fill's and the training's. A method that runs the backbone in every step (``lora``) has no fill.

:func:`cost_record` turns a cost into a record's ``cost`` entry and :func:`format_cost_table`
the records of a comparison into the Markdown table written beside the score table.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from st_glot.training.cost import MEMORY_MEASURES, Cost
from st_glot.training.fit import FitResult


@dataclass
class _Fill:
    seconds: float = 0.0
    texts: int = 0
    peak_memory_mib: float = 0.0


class CacheFills:
    """The cache fills of one comparison's data, by cache folder, charged to every method that reads that cache.

    Share one between the calls of :func:`~st_glot.evaluation.compare.compare_poolers` that train on
    the same data (e.g. its seeds), so that a later seed's methods are charged the fill an earlier
    seed ran. A cache that held every text before the comparison began has no fill to charge: its
    methods' ``cache_fill_texts`` stay 0, and :func:`format_cost_table` says so.
    """

    def __init__(self) -> None:
        self._fills: dict[str, _Fill] = {}

    def charge(self, result: FitResult) -> None:
        """Record the fill ``result``'s run made (if any) and charge its cache's fills to ``result.cost``."""
        cost = result.cost
        if not cost.cached:
            return
        fill = self._fills.setdefault(result.cache_dir, _Fill())
        if cost.cache_fill_texts:
            fill.seconds += cost.cache_fill_seconds
            fill.texts += cost.cache_fill_texts
            fill.peak_memory_mib = max(fill.peak_memory_mib, cost.fill_peak_memory_mib)
        if fill.texts:
            cost.seconds += fill.seconds - cost.cache_fill_seconds
            cost.cache_fill_seconds, cost.cache_fill_texts = fill.seconds, fill.texts
            cost.fill_peak_memory_mib = fill.peak_memory_mib


def cost_record(cost: Cost) -> dict[str, Any]:
    """A record's ``cost`` entry: ``trainable_parameters``, ``steps``, ``seconds_per_step``, ``total_seconds``
    (the whole run, a cached method's cache fill included), ``cache_fill_seconds`` and ``cache_fill_texts`` (the
    fill charged; 0 when none), ``peak_memory_mib`` (the larger of the training's and the fill's) and
    ``memory_measure`` (what the peak reads, :data:`~st_glot.training.cost.MEMORY_MEASURES`)."""
    return {
        "trainable_parameters": cost.trainable_parameters,
        "cached": cost.cached,
        "steps": cost.steps,
        "seconds_per_step": round(cost.step_seconds, 5),
        "total_seconds": round(cost.seconds, 2),
        "cache_fill_seconds": round(cost.cache_fill_seconds, 2),
        "cache_fill_texts": cost.cache_fill_texts,
        "peak_memory_mib": round(max(cost.peak_memory_mib, cost.fill_peak_memory_mib), 1),
        "memory_measure": cost.memory_measure,
    }


#: The :func:`cost_record` figures :func:`format_cost_table` averages.
_AVERAGED = (
    "trainable_parameters",
    "steps",
    "seconds_per_step",
    "total_seconds",
    "cache_fill_seconds",
    "peak_memory_mib",
)


def format_cost_table(records: Sequence[dict[str, Any]], group: str | None = None) -> str:
    """Markdown: per method (and per ``group``, a record key such as ``"task"``), the mean over its records of
    each :func:`cost_record` figure, and notes saying what is measured.

    ``records`` hold ``method`` and ``cost``; a record without ``cost`` (an untrained baseline) is left out.
    """
    runs: dict[tuple[Any, str], list[dict[str, Any]]] = {}
    for record in records:
        if "cost" in record:
            runs.setdefault((record.get(group) if group else None, record["method"]), []).append(record["cost"])
    header = ["method", *([group] if group else []), "runs", "trainable parameters", "steps", "s / step"]
    header += ["total s (cache fill included)", "of which cache fill s", "peak memory MiB"]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for (key, method), costs in runs.items():
        mean = {name: statistics.fmean(c[name] for c in costs) for name in _AVERAGED}
        cells = [method, *([str(key)] if group else []), str(len(costs)), f"{mean['trainable_parameters']:,.0f}"]
        cells += [f"{mean['steps']:.0f}", f"{mean['seconds_per_step']:.4f}", f"{mean['total_seconds']:.1f}"]
        fill = f"{mean['cache_fill_seconds']:.1f}" if all(c["cached"] for c in costs) else "no cache"
        cells += [fill, f"{mean['peak_memory_mib']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    measures = sorted({c["memory_measure"] for costs in runs.values() for c in costs})
    notes = [
        "Total s: wall time of each method's whole run (training, final evaluation and, for methods that read the "
        "token-state cache, the cache fill: the backbone's one pass over the texts, measured where it ran and "
        "charged to every method that reads that cache). s / step: the training loop's wall time over its steps.",
        "Peak memory: " + "; ".join(MEMORY_MEASURES[m] for m in measures) + ".",
    ]
    unfilled = sorted(
        {method for (_, method), costs in runs.items() if any(c["cached"] and not c["cache_fill_texts"] for c in costs)}
    )
    if unfilled:
        notes.append(
            f"The cache held every text before the run for {', '.join(unfilled)}: no fill was measured or charged "
            "(a fresh --cache-dir measures it)."
        )
    return "\n".join(lines) + "\n\n" + "\n".join(notes)
