"""Train several pooling methods on one frozen backbone and one dataset, sharing the cached states.

The backbone runs once (the first method fills the token-state cache; the others
read it), then each method trains a fresh pooler — and the task head — from the
same seed; ``lora`` trains adapters on a copy of the backbone instead, running it in
every step. Each result's cost has the cache fill charged to every method that reads
the cache (:class:`~st_glot.evaluation.costs.CacheFills`). Used by ``st-glot stress-test``,
``glue``, ``compare`` and ``generalisation``.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import torch
from datasets import Dataset
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Transformer

from st_glot.evaluation.costs import CacheFills
from st_glot.models.factory import make_model
from st_glot.models.lora import LoraSettings
from st_glot.training.fit import FitResult, fit

#: The :func:`~st_glot.training.fit.fit` metric key of each reported metric.
METRIC_KEYS: dict[str, str] = {
    "spearman": "eval_spearman_cosine",
    "accuracy": "eval_accuracy",
    "f1": "eval_f1",
    "mcc": "eval_mcc",
}


def mean_and_std(scores: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n − 1) of scores over seeds; the std of one score is 0."""
    return statistics.fmean(scores), statistics.stdev(scores) if len(scores) > 1 else 0.0


def fresh_model(
    method: str,
    backbone: Transformer,
    loss: str,
    seed: int,
    glot_kwargs: dict[str, Any] | None = None,
    lora: LoraSettings | None = None,
) -> SentenceTransformer:
    """A new model for ``method`` on ``backbone``, its pooler (and ``"lora"``'s adapters, with the settings
    ``lora``) initialised from ``seed``.

    With an embedding loss (``cosine``, ``cosent``, ``mnrl``) the pooler gets a trainable
    linear projection and the output is normalised, as in the paper's STS-B set-up;
    classification models are neither projected nor normalised.
    """
    torch.manual_seed(seed)
    embedding_loss = loss != "classification"
    options = {"lora": lora} if method == "lora" else {}
    return make_model(
        backbone, method, normalize=embedding_loss, project=embedding_loss, **options, **(glot_kwargs or {})
    )


def compare_poolers(
    backbone: Transformer,
    train: Dataset,
    evaluation: Dataset,
    methods: Sequence[str],
    loss: str,
    seed: int = 0,
    glot_kwargs: dict[str, Any] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    run_label: str = "",
    cache_fills: CacheFills | None = None,
    lora: LoraSettings | None = None,
    **fit_kwargs: Any,
) -> Iterator[tuple[str, FitResult, SentenceTransformer]]:
    """Yield ``(method, fit result, trained model)`` for each pooling method in turn.

    Args:
        backbone: the frozen backbone shared by all methods (``"prompteol"`` reads it through
            PromptEOL's template: :func:`~st_glot.models.factory.method_backbone`).
        train, evaluation: datasets in :func:`st_glot.training.fit.fit`'s format.
        methods: names from :data:`st_glot.utils.choices.POOLINGS`.
        loss: the :func:`~st_glot.training.fit.fit` loss (the model as in :func:`fresh_model`).
        seed: seeds the pooler's initialisation and the training order.
        glot_kwargs: :class:`~st_glot.GLOTPooling` options for ``"glot"``.
        overrides: per method, :func:`~st_glot.training.fit.fit` options that replace ``fit_kwargs``
            (e.g. the learning rate and epochs chosen by :func:`st_glot.evaluation.tuning.tune`).
        run_label: which run of a longer job this is, after the method in each progress bar's name
            (``"ratio 0.2, seed 0"`` gives ``Training glot (ratio 0.2, seed 0)``).
        cache_fills: the cache fills to charge (:class:`~st_glot.evaluation.costs.CacheFills`); give the
            same one to the calls on the same data (e.g. each seed's). Default: this call's alone.
        lora: the adapters of ``"lora"`` (default :class:`~st_glot.models.lora.LoraSettings`).
        fit_kwargs: passed on to :func:`~st_glot.training.fit.fit`.

    Raises:
        ValueError: ``"lora"`` with ``group_by_length`` (which reads the text lengths from the cache), before
            any method trains.
    """
    if "lora" in methods and fit_kwargs.get("group_by_length"):
        raise ValueError(
            "group_by_length=True needs the token-state cache, which 'lora' cannot use (its backbone changes as "
            "it trains); leave group_by_length off or compare without 'lora'."
        )
    fills = cache_fills if cache_fills is not None else CacheFills()
    for method in methods:
        model = fresh_model(method, backbone, loss, seed, glot_kwargs, lora)
        # the bar names the method, not its pooling mode
        label = f"Training {method}" + (f" ({run_label})" if run_label else "")
        options = {"progress_label": label, **fit_kwargs, **(overrides or {}).get(method, {})}
        result = fit(model, train, loss=loss, eval_dataset=evaluation, seed=seed, eval_every_epoch=False, **options)
        fills.charge(result)
        yield method, result, model
