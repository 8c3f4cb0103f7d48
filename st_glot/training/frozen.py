"""Keeping a backbone frozen, and running it for token states.

"Frozen" means two things: no gradient reaches the backbone's parameters, and
the backbone stays in eval mode (dropout off) even when a trainer calls
``model.train()`` on the whole model every step — otherwise its token states
would be noisy and could not be cached. :func:`frozen` holds for the duration of
a block (:func:`st_glot.fit` trains inside one); :func:`freeze_backbone` holds until
:func:`unfreeze_backbone`, for sentence-transformers' own trainer.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from functools import partial

import torch
from sentence_transformers import SentenceTransformer
from torch import Tensor

from st_glot.nn.inputs import padded_token_states


def _stay_in_eval(module: torch.nn.Module, mode: bool = True) -> torch.nn.Module:
    """Replacement for ``module.train`` that keeps the module and its children in eval mode."""
    return torch.nn.Module.train(module, False)


def _freeze(backbone: torch.nn.Module) -> None:
    """No gradient for any of ``backbone``'s parameters; eval mode, kept through ``backbone.train()``.

    ``train`` is replaced on the instance by a ``functools.partial`` of a module-level
    function (not a bound method), so the module still pickles (multi-process encoding,
    ``torch.save``) and deep-copies with the freeze in place.
    """
    backbone.requires_grad_(False)
    backbone.eval()
    backbone.train = partial(_stay_in_eval, backbone)


def _backbone(model: SentenceTransformer) -> torch.nn.Module:
    if not isinstance(model, SentenceTransformer):
        raise TypeError(
            f"Expected a SentenceTransformer (its first module is the backbone); got {type(model).__name__}."
        )
    return model[0]


def freeze_backbone(model: SentenceTransformer) -> SentenceTransformer:
    """Freeze ``model``'s backbone (its first module) for good, as :func:`st_glot.fit` does while it trains.

    Every backbone parameter gets ``requires_grad=False`` and the backbone stays in
    eval mode (dropout off) even when a trainer calls ``model.train()`` every step,
    as sentence-transformers' ``SentenceTransformerTrainer`` and ``model.fit`` do; the
    modules after it (the pooler) train as usual. Without it a backbone frozen by hand
    with ``requires_grad_(False)`` keeps its dropout on in training, so the pooler
    learns from noisy token states it never sees at inference. The freeze survives
    ``pickle`` and ``copy.deepcopy``; :func:`unfreeze_backbone` lifts it.

    Returns:
        ``model``, frozen in place.

    Raises:
        TypeError: ``model`` is not a ``SentenceTransformer``.
    """
    _freeze(_backbone(model))
    return model


def unfreeze_backbone(model: SentenceTransformer) -> SentenceTransformer:
    """Undo :func:`freeze_backbone`: the backbone's parameters train again and it follows ``model``'s mode.

    Returns:
        ``model``, in place.
    """
    backbone = _backbone(model)
    backbone.__dict__.pop("train", None)
    backbone.requires_grad_(True)
    backbone.train(model.training)
    return model


@contextmanager
def frozen(backbone: torch.nn.Module):
    """Freeze ``backbone`` for the duration of the block, then restore it.

    Inside the block every parameter has ``requires_grad=False`` and
    ``backbone.train()`` leaves it in eval mode. Afterwards each parameter's
    ``requires_grad``, the training mode and the ``train`` method (that of a
    :func:`freeze_backbone` freeze, if any) are as before.
    """
    flags = {name: p.requires_grad for name, p in backbone.named_parameters()}
    was_training = backbone.training
    kept_train = backbone.__dict__.get("train")
    _freeze(backbone)
    try:
        yield backbone
    finally:
        if kept_train is None:
            del backbone.train
        else:
            backbone.train = kept_train
        for name, p in backbone.named_parameters():
            p.requires_grad_(flags[name])
        backbone.train(was_training)


@torch.no_grad()
def backbone_states(
    model: SentenceTransformer, texts: Sequence[str], prompt: str | None = None
) -> tuple[Tensor, Tensor]:
    """Run the model's backbone on ``texts``: token states ``(B, L, d)`` and mask ``(B, L)``.

    The backbone is put in eval mode; flash-attention-flattened outputs are re-padded.
    """
    backbone = model[0]
    backbone.eval()
    features = model.preprocess(list(texts), prompt=prompt)
    features = {k: v.to(model.device) if isinstance(v, Tensor) else v for k, v in features.items()}
    out = backbone(features)
    return padded_token_states(out, backbone.get_embedding_dimension(), "the backbone")
