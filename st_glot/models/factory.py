"""One constructor for every pooling method the paper compares, on any backbone."""

from __future__ import annotations

from typing import Any

import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Dense, Normalize, Transformer
from sentence_transformers.sentence_transformer.modules import Pooling
from torch import nn

from st_glot.hub.model_card import attach_glot_card
from st_glot.models.backbones import is_decoder
from st_glot.models.lora import LoraSettings, adapted_backbone
from st_glot.models.templated import TemplatedTransformer
from st_glot.nn.adapool import AdaPool
from st_glot.nn.latent import LatentAttentionPooling
from st_glot.nn.pooling import GLOTPooling
from st_glot.utils.checks import check_choice
from st_glot.utils.choices import POOLINGS
from st_glot.utils.templates import AUTO, PROMPTEOL_TEMPLATE


def make_pooler(name: str, backbone: Transformer, preset: str = "recommended", **glot_kwargs: Any) -> nn.Module:
    """The pooling module ``name`` for ``backbone``.

    ``"latent"`` is NV-Embed's latent-attention pooling with the paper's settings
    (:class:`LatentAttentionPooling`). ``"lora"`` pools the backbone :func:`method_backbone` gives it (LoRA
    adapters on its attention projections): the mean on encoders, the last token (of the text in its
    template) on decoders. ``"cls"`` is the first token on encoders and the last non-padding token
    ("[EOS]") on decoders. ``"prompteol"`` is the last non-padding token, meant for the
    backbone :func:`method_backbone` gives it (the text in PromptEOL's template). For
    ``"glot"``, ``preset`` names the configuration
    (:data:`st_glot.nn.pooling.PRESETS`) and ``glot_kwargs`` override its
    :class:`GLOTPooling` options. Its ``anchor``, unless given (or given as ``"auto"``), is
    :func:`default_anchor`'s in the recommended preset and ``"none"`` in the paper's.
    """
    check_choice("pooling", name, POOLINGS)
    dim = backbone.get_embedding_dimension()
    if name == "glot":
        if glot_kwargs.get("anchor", AUTO) == AUTO:
            glot_kwargs["anchor"] = default_anchor(backbone) if preset == "recommended" else "none"
        return GLOTPooling.from_preset(preset, dim, **glot_kwargs)
    if name == "adapool":
        return AdaPool(dim)
    if name == "latent":
        return LatentAttentionPooling(dim)
    if name == "prompteol" or (name == "lora" and is_decoder(backbone)):
        return Pooling(dim, pooling_mode="lasttoken")
    if name == "lora":
        return Pooling(dim, pooling_mode="mean")
    if name == "cls":
        return Pooling(dim, pooling_mode="lasttoken" if is_decoder(backbone) else "cls")
    return Pooling(dim, pooling_mode=name)


def default_anchor(backbone: Transformer) -> str:
    """GLOT's ``anchor`` for ``backbone``: ``"last"`` on a decoder that reads its texts in a template
    (:class:`~st_glot.models.templated.TemplatedTransformer`, e.g. PromptEOL's, whose last token
    summarises the text), ``"none"`` otherwise. See docs/benchmarks/generalisation.md."""
    return "last" if isinstance(backbone, TemplatedTransformer) and is_decoder(backbone) else "none"


def method_backbone(name: str, backbone: Transformer, lora: LoraSettings | None = None) -> Transformer:
    """The backbone the pooling method ``name`` reads: ``backbone`` itself, except for ``"prompteol"`` and
    ``"lora"``.

    PromptEOL (Jiang et al., 2023) reads the text in the template
    ``'This sentence : "{text}" means in one word:"'``: for ``"prompteol"`` this is a
    :class:`~st_glot.models.templated.TemplatedTransformer` with that template (in place
    of any template ``backbone`` has) sharing ``backbone``'s weights and tokenizer.
    For ``"lora"`` it is :func:`~st_glot.models.lora.adapted_backbone`'s: a copy sharing those, with
    fresh LoRA adapters (``lora``, default :class:`~st_glot.models.lora.LoraSettings`) on its attention
    projections, reading a decoder's texts in its template (PromptEOL's when it has none).
    """
    check_choice("pooling", name, POOLINGS)
    if name == "prompteol":
        return TemplatedTransformer.around(backbone, PROMPTEOL_TEMPLATE)
    if name == "lora":
        return adapted_backbone(backbone, lora)
    return backbone


def make_model(
    backbone: Transformer,
    pooling: str | nn.Module = "glot",
    normalize: bool = True,
    project: bool = False,
    device: str | None = None,
    preset: str = "recommended",
    lora: LoraSettings | None = None,
    **glot_kwargs: Any,
) -> SentenceTransformer:
    """``SentenceTransformer(modules=[backbone, pooler(, Dense)(, Normalize())])`` with st-glot's model card.

    ``pooling`` is a pooling module, or the name of a method (:data:`st_glot.utils.choices.POOLINGS`):
    the pooler is then ``make_pooler(pooling, backbone, preset, **glot_kwargs)`` and the backbone
    :func:`method_backbone`'s (PromptEOL's template for ``"prompteol"``; LoRA adapters with the
    settings ``lora`` for ``"lora"``).

    ``project`` adds a linear ``D → D`` projection after the pooler, as the paper
    does for STS-B (it also gives parameter-free poolers something to train).
    The card (:class:`st_glot.hub.model_card.GLOTModelCardData`) names the model by
    its content for MTEB and describes the frozen backbone and the pooler.

    A backbone in float16 or bfloat16 (``load_backbone(dtype=...)``) stays so, but the modules
    after it are kept in float32 (sentence-transformers would cast them to the backbone's dtype,
    where Adam's small updates are lost) and the backbone's token states reach them as float32.

    Raises:
        TypeError: ``glot_kwargs`` or a ``preset`` other than the default given with a pooling module, or
            ``lora`` with a method other than ``"lora"``.
    """
    if lora is not None and pooling != "lora":
        raise TypeError(f"make_model got lora={lora!r} with pooling {pooling!r}; LoRA settings are for pooling='lora'.")
    if isinstance(pooling, str):
        pooler = make_pooler(pooling, backbone, preset, **glot_kwargs)
        backbone = method_backbone(pooling, backbone, lora)
    elif glot_kwargs or preset != "recommended":
        raise TypeError(
            f"make_model got preset={preset!r} and options {sorted(glot_kwargs)} with a pooling module "
            f"({type(pooling).__name__}); they configure a pooler named by a string: make_model(backbone, 'glot', ...)"
        )
    else:
        pooler = pooling
    modules = [backbone, pooler]
    if project:
        width = pooler.get_embedding_dimension()
        modules.append(Dense(width, width, activation_function=None))
    if normalize:
        modules.append(Normalize())
    model = SentenceTransformer(modules=modules, device=device)
    if next(backbone.parameters()).dtype != torch.float32:
        for module in modules[1:]:
            module.float()
        if not any(hook is _float32_states for hook in backbone._forward_hooks.values()):
            backbone.register_forward_hook(_float32_states)
    return attach_glot_card(model)


def assemble(modules: list[nn.Module], device: str | None = None) -> SentenceTransformer:
    """``SentenceTransformer(modules=modules, device=device)`` with the modules after the first in the dtypes
    they had: sentence-transformers casts them to the first module's dtype (a float16 or bfloat16 backbone's),
    where a float32 pooler would lose Adam's small updates. Their tensors keep their values exactly."""
    kept = [
        (owner, kind, name, tensor.data if kind == "_parameters" else tensor)
        for module in modules[1:]
        for owner in module.modules()
        for kind in ("_parameters", "_buffers")
        for name, tensor in getattr(owner, kind).items()
        if tensor is not None
    ]
    model = SentenceTransformer(modules=modules, device=device)
    for owner, kind, name, tensor in kept:
        current = getattr(owner, kind)[name]
        if kind == "_parameters":
            current.data = tensor.to(current.device)
        else:
            owner._buffers[name] = tensor.to(current.device)
    return model


def _float32_states(module: nn.Module, args: Any, features: dict[str, Any]) -> dict[str, Any]:
    """Forward hook: a low-precision backbone's token states as float32, for the float32 modules after it."""
    features["token_embeddings"] = features["token_embeddings"].float()
    return features
