"""Compare pooling methods on a user's own task (:mod:`st_glot.evaluation.user_data`), over several seeds.

For each seed, :func:`st_glot.evaluation.compare.compare_poolers` trains every method on
the same frozen backbone (its token states computed once, into the token-state cache,
and shared by every method and seed). Each method's score (×100, the task type's
metric) is summarised over the seeds as mean and sample standard deviation (n − 1;
0 for one seed); the methods are ranked by mean, and the winner is named with its
margin (difference of means, in points) over the runner-up. ``write_results`` writes
``results.json``, ``results.md`` and ``scores.png`` (bars: means; error bars: std).
"""

from __future__ import annotations

import json
import logging
import os
import statistics
from collections.abc import Iterator, Sequence
from typing import Any

from sentence_transformers.base.modules import Transformer

from st_glot.evaluation.compare import METRIC_KEYS, compare_poolers, mean_and_std
from st_glot.evaluation.costs import CacheFills, cost_record, format_cost_table
from st_glot.evaluation.tuning import Tuning, format_tuning, tune_methods
from st_glot.evaluation.user_data import TASK_TYPES, UserTask

logger = logging.getLogger(__name__)

#: Margins (points) below this are a tie.
TIE_POINTS = 0.05


def run_comparison(
    backbone: Transformer,
    task: UserTask,
    methods: Sequence[str],
    seeds: Sequence[int],
    glot_kwargs: dict[str, Any] | None = None,
    tunings: dict[str, Tuning] | None = None,
    **fit_kwargs: Any,
) -> Iterator[dict[str, Any]]:
    """Yield one record per (seed, method) as it finishes.

    A record holds ``seed``, ``method``, ``score`` (the task type's metric ×100),
    ``metrics`` (every metric of :attr:`TaskType.metrics`, ×100), ``train_seconds``,
    ``precompute_seconds``, ``cost`` (:func:`~st_glot.evaluation.costs.cost_record`, the cache
    fill charged to every cached method of every seed) and, for ``glot``, ``glot_config`` (the
    pooler's resolved configuration).

    Args:
        backbone: the frozen backbone.
        task: the user's data (:func:`~st_glot.evaluation.user_data.load_user_task`).
        methods: names from :data:`st_glot.utils.choices.POOLINGS`.
        seeds: each seeds the poolers' initialisation and the training order.
        glot_kwargs: :class:`~st_glot.GLOTPooling` options.
        tunings: per method, the learning rate and epochs to train with (:func:`tune_all`);
            records then also hold ``learning_rate`` and ``epochs``.
        fit_kwargs: passed on to :func:`~st_glot.training.fit.fit` (epochs, learning rate, cache …).
    """
    overrides = {method: tuning.fit_kwargs() for method, tuning in (tunings or {}).items()}
    kind = TASK_TYPES[task.task_type]
    fills = CacheFills()
    for seed in seeds:
        runs = compare_poolers(
            backbone,
            task.train,
            task.evaluation,
            methods,
            loss=kind.loss,
            seed=seed,
            glot_kwargs=glot_kwargs,
            overrides=overrides,
            run_label=f"seed {seed}",
            cache_fills=fills,
            **fit_kwargs,
        )
        for method, result, model in runs:
            metrics = {name: 100 * result.metrics[METRIC_KEYS[name]] for name in kind.metrics}
            record = {
                "seed": seed,
                "method": method,
                "score": metrics[kind.metric],
                "metrics": metrics,
                "train_seconds": round(result.train_seconds, 2),
                "precompute_seconds": round(result.precompute_seconds, 2),
                "cost": cost_record(result.cost),
                **overrides.get(method, {}),
            }
            if method == "glot":
                record["glot_config"] = model[1].get_config_dict()
            logger.info("seed %d %s %s %.2f", seed, method, kind.metric, record["score"])
            yield record


def tune_all(
    backbone: Transformer,
    task: UserTask,
    methods: Sequence[str],
    learning_rates: Sequence[float],
    fraction: float,
    seed: int,
    glot_kwargs: dict[str, Any] | None = None,
    **fit_kwargs: Any,
) -> dict[str, Tuning]:
    """Each method's learning rate and epochs, chosen on a validation split of ``task.train``
    (:func:`~st_glot.evaluation.tuning.tune_methods`)."""
    kind = TASK_TYPES[task.task_type]
    key = METRIC_KEYS[kind.metric]
    return tune_methods(
        backbone, task.train, methods, kind.loss, key, learning_rates, fraction, seed, glot_kwargs, **fit_kwargs
    )


def summarise(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per method, best mean first: ``mean``, ``std`` (n − 1; 0 for one seed), ``seeds``, ``scores`` (in seed order)
    and ``metrics`` (each metric's mean over seeds)."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        grouped.setdefault(record["method"], []).append(record)
    summary = {}
    for method, runs in grouped.items():
        scores = [r["score"] for r in runs]
        mean, std = mean_and_std(scores)
        summary[method] = {
            "mean": mean,
            "std": std,
            "seeds": [r["seed"] for r in runs],
            "scores": scores,
            "metrics": {name: statistics.fmean(r["metrics"][name] for r in runs) for name in runs[0]["metrics"]},
        }
    return dict(sorted(summary.items(), key=lambda item: -item[1]["mean"]))


def winner(summary: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The best method by mean score, its margin (points) over the runner-up, and a sentence saying so.

    Methods within :data:`TIE_POINTS` of the best tie, all of them named. The sentence
    adds a caution when the margin is smaller than either method's standard deviation
    over seeds, or when there was one seed (no spread to judge by). With one method
    there is no runner-up.
    """
    ranked = list(summary)
    best = ranked[0]
    if len(ranked) == 1:
        return {"method": best, "runner_up": None, "margin": None, "line": f"{best} is the only method compared"}
    second = ranked[1]
    margin = summary[best]["mean"] - summary[second]["mean"]
    tied = [method for method in ranked if summary[best]["mean"] - summary[method]["mean"] < TIE_POINTS]
    if len(tied) > 1:
        line = f"{', '.join(tied[:-1])} and {tied[-1]} tie ({summary[best]['mean']:.1f} points each)"
    else:
        line = f"{best} wins by {margin:.1f} points over {second}"
        spread = max(summary[best]["std"], summary[second]["std"])
        if margin < spread:
            line += f", less than the spread over seeds (std up to {spread:.1f}): not a clear win"
    if len(summary[best]["seeds"]) == 1:
        line += "; one seed only, so no spread to judge by (e.g. --seeds 0,1,2)"
    return {"method": best, "runner_up": second, "margin": margin, "line": line}


def format_table(summary: dict[str, dict[str, Any]], metric: str) -> str:
    """Markdown table, best first: the ranking metric as mean ± std, the other metrics' means, each seed's score."""
    first = next(iter(summary.values()))
    others = [name for name in first["metrics"] if name != metric]
    seeds = first["seeds"]
    header = [f"{metric} ×100 (mean ± std)", *others, *(f"seed {s}" for s in seeds)]
    lines = ["| method | " + " | ".join(header) + " |", "|---|" + "---|" * len(header)]
    for method, stats in summary.items():
        cells = [
            f"{stats['mean']:.2f} ± {stats['std']:.2f}",
            *(f"{stats['metrics'][name]:.2f}" for name in others),
            *(f"{score:.2f}" for score in stats["scores"]),
        ]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(summary: dict[str, dict[str, Any]], metric: str, path: str | os.PathLike, title: str) -> None:
    """Bar chart of each method's mean score, error bars: std over seeds; the winner's bar highlighted."""
    from matplotlib.figure import Figure

    methods = list(summary)
    means = [summary[m]["mean"] for m in methods]
    figure = Figure(figsize=(6.4, 4.2), dpi=120)
    axes = figure.subplots()
    colours = ["tab:orange" if i == 0 else "tab:blue" for i in range(len(methods))]
    stds = [summary[m]["std"] for m in methods]
    axes.bar(methods, means, yerr=stds, capsize=4, color=colours)
    for x, (mean, std) in enumerate(zip(means, stds)):
        top = mean + std if mean >= 0 else mean - std
        axes.annotate(
            f"{mean:.1f}", (x, top), textcoords="offset points", xytext=(0, 3 if mean >= 0 else -10), ha="center"
        )
    axes.margins(y=0.12)  # room for the labels above the error bars
    axes.set_ylabel(f"{metric} ×100 (mean ± std over seeds)")
    axes.set_title(title, fontsize=10)
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)


def write_results(
    folder: str | os.PathLike,
    task: UserTask,
    backbone_name: str,
    records: Sequence[dict[str, Any]],
    settings: dict[str, Any],
    seconds: float,
    tunings: dict[str, Tuning] | None = None,
    provenance: dict[str, Any] | None = None,
) -> tuple[dict[str, dict[str, Any]], dict[str, Any], str]:
    """Write ``results.json``, ``results.md`` (the score table, the winner and the cost table) and ``scores.png``
    into ``folder``; return summary, winner, table.

    ``results.json`` holds ``backbone``, ``task_type``, ``metric``, the data (sources, rows,
    columns, classes), ``seeds``, ``settings`` (the options as given), ``glot_config``,
    ``seconds``, ``methods`` (:func:`summarise`), ``winner`` (:func:`winner`), ``tuning`` (per method, the
    chosen learning rate and epochs and the validation curves; null without ``tunings``), every record and
    ``provenance`` (the run's :func:`st_glot.utils.provenance.provenance` block).
    With ``tunings``, ``results.md`` and the returned table also show the choices.
    """
    metric = TASK_TYPES[task.task_type].metric
    summary = summarise(records)
    best = winner(summary)
    table = format_table(summary, metric)
    if tunings:
        table += "\n\nLearning rate and epochs chosen on a validation split of the training data (×100):\n\n"
        table += format_tuning({task.task_type: tunings})
    glot_config = next((r["glot_config"] for r in records if "glot_config" in r), None)
    payload = {
        "backbone": backbone_name,
        "task_type": task.task_type,
        "task_type_detected": task.detected,
        "metric": metric,
        "data": {
            "train": {"source": task.sources[0], "rows": len(task.train)},
            "eval": {"source": task.sources[1], "rows": len(task.evaluation)},
            "text_columns": list(task.columns.texts),
            "label_column": task.columns.target,
            "classes": task.classes,
        },
        "seeds": list(dict.fromkeys(r["seed"] for r in records)),
        "settings": settings,
        "glot_config": glot_config,
        "seconds": round(seconds, 1),
        "methods": summary,
        "winner": best,
        "tuning": {method: vars(t) for method, t in tunings.items()} if tunings else None,
        "records": [{k: v for k, v in r.items() if k != "glot_config"} for r in records],
        "provenance": provenance,
    }
    folder = os.fspath(folder)
    with open(os.path.join(folder, "results.json"), "w", encoding="utf-8") as f:
        json.dump(payload, f, indent=2)
    title = f"{backbone_name} · {task.task_type} · {len(payload['seeds'])} seed(s)"
    with open(os.path.join(folder, "results.md"), "w", encoding="utf-8") as f:
        f.write(
            f"# Pooler comparison: {title}\n\ntrain {task.sources[0]} ({len(task.train)} rows), "
            f"eval {task.sources[1]} ({len(task.evaluation)} rows)\n\n{table}\n\n{best['line']}.\n\n"
            f"## Cost per method (mean over seeds)\n\n{format_cost_table(records)}\n"
        )
    plot(summary, metric, os.path.join(folder, "scores.png"), title)
    return summary, best, table
