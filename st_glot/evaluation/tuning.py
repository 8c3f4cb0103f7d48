"""Fair tuning: each pooling method's learning rate and epochs, chosen on a validation split of the training set.

Every method gets the same budget: for each learning rate of one grid it trains on
the training set less a held-out validation split (``fraction`` of the rows, seeded,
stratified by class for classification) for up to ``epochs`` epochs, scored on the
validation split after every epoch. The (learning rate, epoch) pair with the best
validation score wins; ties go to the smaller learning rate, then the fewer epochs. The
evaluation split is never looked at. The chosen values then train the method on the
whole training set (:func:`st_glot.evaluation.compare.compare_poolers` with
``overrides``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from datasets import Dataset
from sentence_transformers.base.modules import Transformer

from st_glot.evaluation.compare import fresh_model
from st_glot.evaluation.tasks import sample_rows
from st_glot.training.fit import fit, label_column

logger = logging.getLogger(__name__)


@dataclass
class Tuning:
    """One method's tuning result.

    Attributes:
        learning_rate, epochs: the chosen values.
        score: the best validation score (the metric ×100).
        curves: per learning rate (as text, e.g. ``"0.0002"``), the validation score (×100)
            after each epoch.
    """

    learning_rate: float
    epochs: int
    score: float
    curves: dict[str, list[float]] = field(default_factory=dict)

    def fit_kwargs(self) -> dict[str, Any]:
        """The :func:`~st_glot.training.fit.fit` options this tuning chose."""
        return {"learning_rate": self.learning_rate, "epochs": self.epochs}


def carve_validation(train: Dataset, fraction: float, seed: int, stratify: bool) -> tuple[Dataset, Dataset]:
    """Split ``train`` into ``(rest, validation)``: ``round(fraction · n)`` rows (at least 1) drawn with
    ``seed`` by :func:`~st_glot.evaluation.tasks.sample_rows`, stratified by the label column when ``stratify``.

    Raises:
        ValueError: ``fraction`` outside (0, 0.5], or a training set too small to leave rows on both sides.
    """
    if not 0 < fraction <= 0.5:
        raise ValueError(f"validation fraction must be in (0, 0.5]; got {fraction!r}.")
    n = len(train)
    size = max(1, round(fraction * n))
    if size >= n:
        raise ValueError(f"A training set of {n} rows is too small to hold out a validation split.")
    labels = train[label_column(train)] if stratify else None
    held = set(sample_rows(n, size, labels, seed))
    rest = [i for i in range(n) if i not in held]
    return train.select(rest), train.select(sorted(held))


def tune(
    backbone: Transformer,
    train: Dataset,
    method: str,
    loss: str,
    metric_key: str,
    learning_rates: Sequence[float],
    fraction: float = 0.1,
    seed: int = 0,
    glot_kwargs: dict[str, Any] | None = None,
    **fit_kwargs: Any,
) -> Tuning:
    """Choose ``method``'s learning rate from ``learning_rates`` and its epochs (1 … ``epochs``) on a
    validation split carved from ``train`` (see the module docstring).

    Args:
        metric_key: the :func:`~st_glot.training.fit.fit` metric that ranks, e.g. ``"eval_mcc"``.
        fraction: the share of ``train`` held out for validation.
        seed: seeds the split, the poolers' initialisation and the training order.
        fit_kwargs: further :func:`~st_glot.training.fit.fit` options (batch size, cache …);
            ``epochs`` (default 3) is the most epochs tried, a ``learning_rate`` is replaced by the grid's.

    Raises:
        ValueError: an empty grid, or ``loss="mnrl"`` (it has no validation metric).
    """
    if not learning_rates:
        raise ValueError("The learning-rate grid is empty; give at least one rate, e.g. 1e-4,3e-4,1e-3.")
    if loss == "mnrl":
        raise ValueError("loss='mnrl' has no validation metric to tune on; give one learning rate instead of a grid.")
    epochs = fit_kwargs.pop("epochs", 3)
    fit_kwargs.pop("learning_rate", None)
    rest, validation = carve_validation(train, fraction, seed, stratify=loss == "classification")
    curves: dict[str, list[float]] = {}
    best: Tuning | None = None
    for lr in sorted(learning_rates):
        model = fresh_model(method, backbone, loss, seed, glot_kwargs)
        options = {**fit_kwargs, "progress_label": f"Tuning {method} (lr {lr:g})"}
        result = fit(
            model, rest, loss=loss, eval_dataset=validation, epochs=epochs, learning_rate=lr, seed=seed, **options
        )
        curve = [100 * entry[metric_key] for entry in result.history if metric_key in entry]
        curves[f"{lr:g}"] = curve
        epoch = max(range(len(curve)), key=lambda e: (curve[e], -e))  # the best epoch; the earliest on ties
        logger.info("tuning %s: lr %g, best validation %.2f at epoch %d", method, lr, curve[epoch], epoch + 1)
        if best is None or curve[epoch] > best.score:
            best = Tuning(learning_rate=lr, epochs=epoch + 1, score=curve[epoch])
    best.curves = curves
    return best


def tune_methods(
    backbone: Transformer,
    train: Dataset,
    methods: Sequence[str],
    loss: str,
    metric_key: str,
    learning_rates: Sequence[float],
    fraction: float = 0.1,
    seed: int = 0,
    glot_kwargs: dict[str, Any] | None = None,
    **fit_kwargs: Any,
) -> dict[str, Tuning]:
    """:func:`tune` for each of ``methods``, on the same validation split: ``{method: Tuning}``."""
    return {
        method: tune(
            backbone, train, method, loss, metric_key, learning_rates, fraction, seed, glot_kwargs, **fit_kwargs
        )
        for method in methods
    }


def format_tuning(tunings: Mapping[str, Mapping[str, Tuning]]) -> str:
    """Markdown table of the choices (``tunings``: per task, per method): for each, the best validation score of each learning rate
    (with its epoch) and the chosen learning rate and epochs."""
    rates = sorted({lr for per_task in tunings.values() for t in per_task.values() for lr in t.curves}, key=float)
    lines = [
        "| task | method | " + " | ".join(f"lr {lr}" for lr in rates) + " | chosen |",
        "|---|---|" + "---|" * (len(rates) + 1),
    ]
    for task, per_task in tunings.items():
        for method, t in per_task.items():
            cells = []
            for lr in rates:
                curve = t.curves.get(lr)
                cells.append(f"{max(curve):.2f} (ep {curve.index(max(curve)) + 1})" if curve else "")
            lines.append(f"| {task} | {method} | " + " | ".join(cells) + f" | lr {t.learning_rate:g}, {t.epochs} ep |")
    return "\n".join(lines)
