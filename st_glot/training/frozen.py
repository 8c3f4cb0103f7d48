"""Keeping a backbone frozen, and running it for token states.

"Frozen" means two things: no gradient reaches the backbone's parameters, and
the backbone stays in eval mode (dropout off) even when a trainer calls
``model.train()`` on the whole model every step — otherwise its token states
would be noisy and could not be cached.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager

import torch
from sentence_transformers import SentenceTransformer
from torch import Tensor

from st_glot.nn.inputs import padded_token_states


def _stay_in_eval(module: torch.nn.Module, mode: bool = True) -> torch.nn.Module:
    """Replacement for ``module.train`` that keeps the module and its children in eval mode."""
    return torch.nn.Module.train(module, False)


@contextmanager
def frozen(backbone: torch.nn.Module):
    """Freeze ``backbone`` for the duration of the block, then restore it.

    Inside the block every parameter has ``requires_grad=False`` and
    ``backbone.train()`` leaves it in eval mode.
    """
    flags = {name: p.requires_grad for name, p in backbone.named_parameters()}
    was_training = backbone.training
    backbone.requires_grad_(False)
    backbone.eval()
    backbone.train = _stay_in_eval.__get__(backbone)
    try:
        yield backbone
    finally:
        del backbone.train
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
