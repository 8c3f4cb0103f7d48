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

from st_glot.evaluation.compare import compare_poolers
from st_glot.evaluation.tasks import PAPER_ROWS, TASKS, load_task
from st_glot.models.factory import make_model

logger = logging.getLogger(__name__)

METRIC_KEYS = {"spearman": "eval_spearman_cosine", "accuracy": "eval_accuracy", "f1": "eval_f1", "mcc": "eval_mcc"}


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
    seed: int = 0,
    glot_kwargs: dict[str, Any] | None = None,
    data: Mapping[str, tuple[Dataset, Dataset]] | None = None,
    **fit_kwargs: Any,
) -> list[dict[str, Any]]:
    """Train and score every method on every task.

    Args:
        data: ``(train, eval)`` per task, already loaded (e.g. to check the files before the
            backbone runs); a task missing from it is loaded with :func:`load_task`.

    Returns:
        One record per (task, method): ``task``, ``method``, ``metric``, ``score`` (×100),
        ``train_rows``, ``eval_rows``, ``train_seconds``; for STS-B also the untrained
        mean-pooling baseline as method ``"mean (untrained)"``.
    """
    records = []
    for task_name in tasks:
        task = TASKS[task_name]
        if data is not None and task_name in data:
            train, evaluation = data[task_name]
        else:
            train, evaluation = load_task(task_name, data_dir, limit=limit, seed=seed)
        for method, result, _ in compare_poolers(
            backbone, train, evaluation, methods, loss=task.loss, seed=seed, glot_kwargs=glot_kwargs, **fit_kwargs
        ):
            records.append(
                {
                    "task": task_name,
                    "method": method,
                    "metric": task.metric,
                    "score": 100 * result.metrics[METRIC_KEYS[task.metric]],
                    "train_rows": len(train),
                    "eval_rows": len(evaluation),
                    "train_seconds": round(result.train_seconds, 1),
                }
            )
            logger.info("%-8s %-8s %s %.2f", task_name, method, task.metric, records[-1]["score"])
        if task_name == "stsb":
            score = untrained_mean_spearman(
                backbone, evaluation["sentence1"], evaluation["sentence2"], evaluation["score"]
            )
            records.append(
                {
                    "task": task_name,
                    "method": "mean (untrained)",
                    "metric": "spearman",
                    "score": score,
                    "train_rows": 0,
                    "eval_rows": len(evaluation),
                    "train_seconds": 0.0,
                }
            )
    return records


def format_table(records: list[dict[str, Any]], paper_backbone: str | None = None) -> str:
    """Markdown table: methods × tasks (scores ×100), with the paper's rows for ``paper_backbone`` below."""
    tasks = list(dict.fromkeys(r["task"] for r in records))
    methods = list(dict.fromkeys(r["method"] for r in records))
    score = {(r["task"], r["method"]): r["score"] for r in records}
    metric = {r["task"]: r["metric"] for r in records}
    lines = ["| method | " + " | ".join(f"{t} ({metric[t]})" for t in tasks) + " |", "|---|" + "---|" * len(tasks)]
    for m in methods:
        lines.append(f"| {m} | " + " | ".join(f"{score[(t, m)]:.2f}" if (t, m) in score else "" for t in tasks) + " |")
    for m, row in PAPER_ROWS.get(paper_backbone or "", {}).items():
        lines.append(
            f"| paper {paper_backbone} {m} | " + " | ".join(f"{row[t]:.2f}" if t in row else "" for t in tasks) + " |"
        )
    return "\n".join(lines)
