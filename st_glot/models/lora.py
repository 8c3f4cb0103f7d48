"""LoRA adapters on a backbone's attention projections: the fine-tuning GLOT is set against.

LoRA (Hu et al., 2021, "LoRA: Low-Rank Adaptation of Large Language Models") keeps each
adapted weight ``W`` (``d_out × d_in``) frozen and learns a low-rank update: the layer
computes ``x Wᵀ + (α / r) · dropout(x) Aᵀ Bᵀ`` with ``A`` (``r × d_in``, random) and ``B``
(``d_out × r``, zero at the start, so training starts from the backbone as it is). The
adapters here sit on every attention projection of the backbone (each linear layer inside
an attention block: query, key, value and output), built by ``peft``
(``pip install 'st-glot[lora]'``).

sentence-transformers' own ``model.add_adapter`` goes through transformers' PEFT integration,
which needs a newer ``peft`` than transformers 5.25 finds on PyPI (0.22 against 0.21.2), so
:func:`adapted_backbone` calls ``peft.inject_adapter_in_model``, the function that integration calls.

The adapted backbone is a copy of the backbone's modules that shares its weight tensors (none
is copied): the backbone itself, which the other methods of a comparison read, never changes.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain

from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Transformer
from torch import nn

from st_glot.hub.identity import LOADED_ATTRIBUTE
from st_glot.models.backbones import is_decoder
from st_glot.models.templated import TemplatedTransformer
from st_glot.utils.templates import PROMPTEOL_TEMPLATE

#: The name peft gives the one adapter of each layer.
ADAPTER = "default"


@dataclass(frozen=True)
class LoraSettings:
    """The adapters' shape: rank ``r``, scale ``alpha`` (the update is multiplied by ``alpha / r``)
    and the dropout on the adapters' input.

    Defaults: ``r = 8``, the rank issue 26 asks for (also peft's ``LoraConfig`` default);
    ``alpha = 16 = 2r`` (st-glot's choice: an update scaled by 2); ``dropout = 0``, peft's
    default. The paper's LoRA on Mistral-7B (Mantri et al., ICLR 2026, project page) has
    r = 64 and 167.8M trainable parameters, which is r = 64 on all seven linear maps of
    each of its 32 layers, not on the attention projections alone.
    """

    r: int = 8
    alpha: float = 16.0
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.r, int) or isinstance(self.r, bool) or self.r < 1:
            raise ValueError(f"Invalid LoRA rank r: {self.r!r}. It must be an integer >= 1.")
        if not self.alpha > 0:
            raise ValueError(f"Invalid LoRA alpha: {self.alpha!r}. It must be > 0.")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"Invalid LoRA dropout: {self.dropout!r}. It must be in [0, 1).")


def attention_projections(model: nn.Module) -> list[str]:
    """Names of the linear layers inside ``model``'s attention blocks (modules whose class name ends in
    ``Attention``: ``BertAttention``, ``MPNetAttention``, ``LlamaAttention`` …), in module order.

    Raises:
        ValueError: ``model`` has no such layer (the message names the attention blocks found, if any).
    """
    blocks = [(name, module) for name, module in model.named_modules() if type(module).__name__.endswith("Attention")]
    names = {
        f"{name}.{inner}" if name else inner
        for name, block in blocks
        for inner, layer in block.named_modules()
        if isinstance(layer, nn.Linear)
    }
    if not names:
        found = sorted({type(block).__name__ for _, block in blocks}) or "no module named *Attention"
        raise ValueError(
            f"{type(model).__name__} has no linear layer inside an attention block ({found}); "
            "LoRA here adapts the nn.Linear projections of modules whose class name ends in 'Attention'."
        )
    return [name for name, _ in model.named_modules() if name in names]


def adapted_backbone(backbone: Transformer, settings: LoraSettings | None = None) -> Transformer:
    """A copy of ``backbone`` with fresh LoRA adapters (``settings``, default :class:`LoraSettings`) on
    every attention projection (:func:`attention_projections`).

    The copy shares the backbone's weight tensors and tokenizer; only its module objects are new,
    so ``backbone`` itself stays as it is. The adapters' ``A`` is drawn from torch's global random
    generator (seed it first for a reproducible start) and ``B`` is zero. A decoder given without a
    template (:class:`~st_glot.models.templated.TemplatedTransformer`) reads its texts in PromptEOL's
    template (as the ``"prompteol"`` method does), so that its last token summarises the text.

    The adapters are float32 whatever the backbone's dtype (as the modules after a float16 or bfloat16
    backbone are, :func:`~st_glot.models.factory.make_model`). The ``requires_grad`` flags of the shared
    weights are left as they were: :func:`st_glot.fit`
    trains the adapters alone (:func:`st_glot.training.lora.adapters_only`).
    """
    try:
        from peft import LoraConfig, inject_adapter_in_model
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError(
            "The 'lora' method needs peft: pip install 'st-glot[lora]' (or pip install peft)."
        ) from error

    settings = settings or LoraSettings()
    shared = {id(t): t for t in chain(backbone.parameters(), backbone.buffers())}
    shared[id(backbone.processor)] = backbone.processor
    adapted = copy.deepcopy(backbone, shared)
    adapted.__dict__.pop("train", None)  # a freeze of the original (st_glot.training.frozen) is not the copy's
    adapted.__dict__.pop(LOADED_ATTRIBUTE, None)  # the model card records the adapted backbone afresh
    flags = {id(p): p.requires_grad for p in backbone.parameters()}
    config = LoraConfig(
        r=settings.r,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=attention_projections(adapted.auto_model),
    )
    inject_adapter_in_model(config, adapted.auto_model, ADAPTER)
    for p in adapter_parameters(adapted).values():  # float32 on a bf16 backbone: Adam's small steps are kept
        p.data = p.data.float()  # peft casts each layer's input to its adapters' dtype and the sum back
    for p in adapted.parameters():  # peft turned the shared weights' flags off; they are the backbone's
        p.requires_grad_(flags.get(id(p), True))
    if is_decoder(adapted) and not isinstance(adapted, TemplatedTransformer):
        adapted = TemplatedTransformer.around(adapted, PROMPTEOL_TEMPLATE)
    return adapted


def adapter_layers(module: nn.Module) -> dict[str, nn.Module]:
    """``name → layer`` of every LoRA layer inside ``module`` (empty when peft was never imported)."""
    if "peft" not in sys.modules:  # no module can hold a peft layer
        return {}
    from peft.tuners.lora import LoraLayer

    return {name: layer for name, layer in module.named_modules() if isinstance(layer, LoraLayer)}


def has_adapters(module: nn.Module) -> bool:
    """True when ``module`` (a backbone) holds LoRA layers: training it trains their adapters."""
    return bool(adapter_layers(module))


def adapter_parameters(module: nn.Module) -> dict[str, nn.Parameter]:
    """``name → parameter`` of the LoRA adapters inside ``module`` (the ``A`` and ``B`` of each layer)."""
    layers = adapter_layers(module)
    return {
        f"{name}.{inner}": p
        for name, layer in layers.items()
        for part in (layer.lora_A, layer.lora_B)
        for inner, p in part.named_parameters(prefix=_part_name(layer, part))
    }


def _part_name(layer: nn.Module, part: nn.Module) -> str:
    return next(name for name, child in layer.named_children() if child is part)


def merged_backbone(backbone: Transformer) -> Transformer:
    """A copy of ``backbone`` with its adapters merged into new weights, ``W + (α / r) B A``: a plain backbone
    that saves and loads as any other. It shares every tensor the adapters do not touch; ``backbone`` is
    unchanged."""
    merged = copy.deepcopy(backbone, {id(t): t for t in chain(backbone.parameters(), backbone.buffers())})
    merged.__dict__.pop("train", None)
    for name, layer in adapter_layers(merged.auto_model).items():
        base = layer.get_base_layer()
        plain = nn.Linear(base.in_features, base.out_features, bias=False, device="meta")
        plain.weight = nn.Parameter(base.weight.detach() + layer.get_delta_weight(ADAPTER).detach().to(base.weight))
        plain.bias = base.bias
        parent, _, child = name.rpartition(".")
        setattr(merged.auto_model.get_submodule(parent), child, plain)
    merged.auto_model.__dict__.pop("peft_config", None)
    return merged


@contextmanager
def adapters_merged(model: SentenceTransformer) -> Iterator[SentenceTransformer]:
    """Inside the block, ``model``'s backbone is :func:`merged_backbone`'s (when it has adapters), e.g. to save
    it as a plain model; afterwards it is the adapted backbone again."""
    key = next(iter(model._modules))
    adapted = model._modules[key]
    if not has_adapters(adapted):
        yield model
        return
    model._modules[key] = merged_backbone(adapted)
    try:
        yield model
    finally:
        model._modules[key] = adapted
