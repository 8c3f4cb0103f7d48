"""Training a backbone's LoRA adapters and nothing else of it.

A backbone with adapters (:func:`st_glot.models.lora.adapted_backbone`) trains like the pooler: it
runs in every step (its token states change as the adapters learn, so no cache can serve them),
its adapters get gradients and its own weights none. Its own dropout stays off, as a frozen
backbone's does, so that the adapters learn from the token states the model gives in use; only
the adapters' dropout (:attr:`~st_glot.models.lora.LoraSettings.dropout`) follows the training mode.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import partial

import torch

from st_glot.models.lora import adapter_layers, adapter_parameters, has_adapters
from st_glot.training.frozen import frozen


def _adapters_follow(backbone: torch.nn.Module, mode: bool = True) -> torch.nn.Module:
    """Replacement for ``backbone.train``: the backbone in eval mode, its adapters' dropout in ``mode``."""
    torch.nn.Module.train(backbone, False)
    for layer in adapter_layers(backbone).values():
        layer.lora_dropout.train(mode)
    return backbone


@contextmanager
def adapters_only(backbone: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Inside the block only ``backbone``'s adapter parameters have ``requires_grad`` and ``backbone.train(mode)``
    keeps it in eval mode but for its adapters' dropout; afterwards each parameter's flag, the training mode
    and the ``train`` method are as before (as :func:`~st_glot.training.frozen.frozen` restores them)."""
    with frozen(backbone):
        for p in adapter_parameters(backbone).values():
            p.requires_grad_(True)
        backbone.train = partial(_adapters_follow, backbone)
        yield backbone


def training_backbone(backbone: torch.nn.Module) -> AbstractContextManager[torch.nn.Module]:
    """How :func:`st_glot.fit` holds ``backbone`` while it trains: :func:`adapters_only` for a backbone with LoRA
    adapters, :func:`~st_glot.training.frozen.frozen` otherwise."""
    return adapters_only(backbone) if has_adapters(backbone) else frozen(backbone)
