"""Train several pooling methods on one frozen backbone and one dataset, sharing the cached states.

The backbone runs once (the first method fills the token-state cache; the others
read it), then each method trains a fresh pooler — and the task head — from the
same seed. Used by ``st-glot stress-test`` and ``st-glot glue``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch
from datasets import Dataset
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Transformer

from st_glot.models.factory import make_model, make_pooler, method_backbone
from st_glot.training.fit import FitResult, fit


def compare_poolers(
    backbone: Transformer,
    train: Dataset,
    evaluation: Dataset,
    methods: Sequence[str],
    loss: str,
    seed: int = 0,
    glot_kwargs: dict[str, Any] | None = None,
    **fit_kwargs: Any,
) -> Iterator[tuple[str, FitResult, SentenceTransformer]]:
    """Yield ``(method, fit result, trained model)`` for each pooling method in turn.

    Args:
        backbone: the frozen backbone shared by all methods (``"prompteol"`` reads it through
            PromptEOL's template: :func:`~st_glot.models.factory.method_backbone`).
        train, evaluation: datasets in :func:`st_glot.training.fit.fit`'s format.
        methods: names from :data:`st_glot.models.factory.POOLINGS`.
        loss: the :func:`~st_glot.training.fit.fit` loss. With an embedding loss (``cosine``,
            ``cosent``, ``mnrl``) every method gets a trainable linear projection, as in the
            paper's STS-B set-up; classification models are neither projected nor normalised.
        seed: seeds the pooler's initialisation and the training order.
        glot_kwargs: :class:`~st_glot.GLOTPooling` options for ``"glot"``.
        fit_kwargs: passed on to :func:`~st_glot.training.fit.fit`.
    """
    for method in methods:
        torch.manual_seed(seed)
        pooler = make_pooler(method, backbone, **(glot_kwargs or {}))
        embedding_loss = loss != "classification"
        model = make_model(method_backbone(method, backbone), pooler, normalize=embedding_loss, project=embedding_loss)
        options = {"progress_label": f"Training {method}", **fit_kwargs}  # the method's name, not its pooling mode
        result = fit(model, train, loss=loss, eval_dataset=evaluation, seed=seed, eval_every_epoch=False, **options)
        yield method, result, model
