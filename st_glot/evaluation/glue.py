"""The paper's GLUE-style comparison: pooling methods on a frozen backbone, task by task.

Heads as in the paper: a linear classifier on the pooled vector (single
sentences) or on ``[z_a, z_b]`` (pairs); STS-B by regressing the cosine of the
two vectors to the score scaled to [0, 1] (MSE). Metrics: CoLA MCC, STS-B
Spearman, MRPC/QQP F1, accuracy elsewhere, ×100.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from datasets import Dataset
from scipy.stats import spearmanr
from sentence_transformers.base.modules import Transformer
from sentence_transformers.sentence_transformer.modules import Pooling

from st_glot.evaluation.compare import METRIC_KEYS, compare_poolers, mean_and_std
from st_glot.evaluation.costs import CacheFills, cost_record
from st_glot.evaluation.tasks import PAPER_ROWS, TASKS, load_task
from st_glot.evaluation.tuning import Tuning, tune_methods
from st_glot.models.factory import make_model

logger = logging.getLogger(__name__)


def untrained_mean_spearman(
    backbone: Transformer, sentences1: Sequence[str], sentences2: Sequence[str], scores: Sequence[float]
) -> float:
    """STS Spearman (×100) of plain mean pooling on the backbone, nothing trained."""
    model = make_model(backbone, Pooling(backbone.get_embedding_dimension(), pooling_mode="mean"))
    a = model.encode(list(sentences1), convert_to_tensor=True)
    b = model.encode(list(sentences2), convert_to_tensor=True)
    similarity = torch.nn.functional.cosine_similarity(a, b).cpu().numpy()
    return 100 * float(spearmanr(similarity, list(scores)).statistic)


def run_glue(
    backbone: Transformer,
    tasks: Sequence[str],
    methods: Sequence[str],
    data_dir: str | None = None,
    limit: int | None = None,
    seeds: Sequence[int] = (0,),
    glot_kwargs: dict[str, Any] | None = None,
    data: Mapping[str, tuple[Dataset, Dataset]] | None = None,
    lr_grid: Sequence[float] | None = None,
    validation_fraction: float = 0.1,
    **fit_kwargs: Any,
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Tuning]]]:
    """Train and score every method on every task, for each seed.

    Args:
        limit: a seeded sample of this many rows of each split (the first seed draws it).
        seeds: each seeds the poolers' initialisation and the training order.
        data: ``(train, eval)`` per task, already loaded (e.g. to check the files before the
            backbone runs); a task missing from it is loaded with :func:`load_task`.
        lr_grid: if given, each method's learning rate and epochs (at most ``epochs``) are chosen
            per task on a validation split of the training set (:func:`~st_glot.evaluation.tuning.tune_methods`,
            with the first seed), then every seed trains on the whole training set with them.
        validation_fraction: the share of each training set held out for that choice.

    Returns:
        The records, one per (task, method, seed): ``task``, ``method``, ``seed``, ``metric``,
        ``score`` (×100), ``learning_rate``, ``epochs``, ``train_rows``, ``eval_rows``,
        ``train_seconds``, ``losses`` (the mean training loss of each epoch) and ``cost``
        (:func:`~st_glot.evaluation.costs.cost_record`, the task's cache fill charged); for STS-B also
        the untrained mean-pooling baseline as method ``"mean (untrained)"``. And the tunings,
        per task and method (empty without ``lr_grid``).
    """
    records, tunings = [], {}
    for task_name in tasks:
        task = TASKS[task_name]
        if data is not None and task_name in data:
            train, evaluation = data[task_name]
        else:
            train, evaluation = load_task(task_name, data_dir, limit=limit, seed=seeds[0])
        metric_key = METRIC_KEYS[task.metric]
        if lr_grid:
            tunings[task_name] = tune_methods(
                backbone,
                train,
                methods,
                task.loss,
                metric_key,
                lr_grid,
                validation_fraction,
                seeds[0],
                glot_kwargs,
                **fit_kwargs,
            )
        overrides = {method: tuning.fit_kwargs() for method, tuning in tunings.get(task_name, {}).items()}
        fills = CacheFills()
        for seed in seeds:
            runs = compare_poolers(
                backbone,
                train,
                evaluation,
                methods,
                loss=task.loss,
                seed=seed,
                glot_kwargs=glot_kwargs,
                overrides=overrides,
                run_label=f"{task_name}, seed {seed}",
                cache_fills=fills,
                **fit_kwargs,
            )
            for method, result, _ in runs:
                chosen = {**fit_kwargs, **overrides.get(method, {})}
                records.append(
                    {
                        "task": task_name,
                        "method": method,
                        "seed": seed,
                        "metric": task.metric,
                        "score": 100 * result.metrics[metric_key],
                        "learning_rate": chosen.get("learning_rate"),
                        "epochs": chosen.get("epochs"),
                        "train_rows": len(train),
                        "eval_rows": len(evaluation),
                        "train_seconds": round(result.train_seconds, 1),
                        "losses": [entry["loss"] for entry in result.history if "loss" in entry],
                        "cost": cost_record(result.cost),
                    }
                )
                logger.info("%-8s %-8s seed %d %s %.2f", task_name, method, seed, task.metric, records[-1]["score"])
        if task_name == "stsb":
            score = untrained_mean_spearman(
                backbone, evaluation["sentence1"], evaluation["sentence2"], evaluation["score"]
            )
            records.append(
                {
                    "task": task_name,
                    "method": "mean (untrained)",
                    "seed": None,
                    "metric": "spearman",
                    "score": score,
                    "learning_rate": None,
                    "epochs": 0,
                    "train_rows": 0,
                    "eval_rows": len(evaluation),
                    "train_seconds": 0.0,
                    "losses": [],
                }
            )
    return records, tunings


def summarise(records: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[float, float, int]]:
    """``(task, method) → (mean, sample std (0 for one run), runs)`` of the scores."""
    scores: dict[tuple[str, str], list[float]] = {}
    for r in records:
        scores.setdefault((r["task"], r["method"]), []).append(r["score"])
    return {key: (*mean_and_std(v), len(v)) for key, v in scores.items()}


def format_table(records: list[dict[str, Any]], paper_backbone: str | None = None) -> str:
    """Markdown table: methods × tasks (scores ×100; mean ± std over seeds when there are several), with the
    paper's rows for ``paper_backbone`` below."""
    tasks = list(dict.fromkeys(r["task"] for r in records))
    methods = list(dict.fromkeys(r["method"] for r in records))
    stats = summarise(records)
    metric = {r["task"]: r["metric"] for r in records}

    def cell(key: tuple[str, str]) -> str:
        if key not in stats:
            return ""
        mean, std, runs = stats[key]
        return f"{mean:.2f} ± {std:.2f}" if runs > 1 else f"{mean:.2f}"

    lines = ["| method | " + " | ".join(f"{t} ({metric[t]})" for t in tasks) + " |", "|---|" + "---|" * len(tasks)]
    for m in methods:
        lines.append(f"| {m} | " + " | ".join(cell((t, m)) for t in tasks) + " |")
    for m, row in PAPER_ROWS.get(paper_backbone or "", {}).items():
        lines.append(
            f"| paper {paper_backbone} {m} | " + " | ".join(f"{row[t]:.2f}" if t in row else "" for t in tasks) + " |"
        )
    return "\n".join(lines)
