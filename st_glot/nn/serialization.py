"""Saving and loading of st-glot's sentence-transformers modules.

A module folder holds ``config.json`` (the constructor arguments plus a format
version) and ``model.safetensors`` (the weights). Loading checks both before a
module is returned: an unknown key, a newer format, a missing or unreadable
weights file, or weights whose shapes do not fit the config all raise an error
that names the file, so a half-loaded, randomly initialised module never
escapes. Weights are only ever read from safetensors (no pickle).
"""

from __future__ import annotations

import inspect
import json
import os
from typing import Any

try:
    from typing import Self
except ImportError:  # Python < 3.11
    from typing_extensions import Self

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save
from sentence_transformers.base.modules.module import Module

from st_glot.hub.model_card import attach_glot_card
from st_glot.utils.io import atomic_write_bytes

#: Version of the folder format written by :meth:`SavableModule.save`.
FORMAT_VERSION = 2
WEIGHTS_NAME = "model.safetensors"
#: Weight files of other formats that :meth:`SavableModule.load` refuses by name (pickles).
PICKLED_WEIGHTS_NAMES = ("pytorch_model.bin", "model.bin", "model.pt", "model.pth")


class SavableModule(Module):
    """A sentence-transformers module whose folder is a JSON config plus safetensors weights."""

    #: Config values that folders of format version 1 relied on as defaults, for keys they lack.
    legacy_config_defaults: dict[str, Any] = {}

    def get_config_dict(self) -> dict[str, Any]:
        return {**super().get_config_dict(), "format_version": FORMAT_VERSION}

    def derived_defaults(self) -> dict[str, Any]:
        """The values that constructor arguments defaulting to ``None`` resolve to in this module."""
        return {}

    def non_default_options(self) -> dict[str, Any]:
        """The config entries after the first (``embedding_dimension``) that differ from the constructor's defaults.

        An argument without a default is always listed; one whose default is ``None``
        is compared with the value it resolves to (:meth:`derived_defaults`).
        """
        parameters = inspect.signature(type(self).__init__).parameters
        derived = self.derived_defaults()
        config = self.get_config_dict()
        return {
            key: config[key] for key in self.config_keys[1:] if config[key] != derived.get(key, parameters[key].default)
        }

    def __repr__(self) -> str:
        """One line, as PyG's layers print: ``GLOTPooling(384, graph_norm='none', input_norm='none')``.

        The first config entry, then every option that differs from its default, so
        two differently configured modules never print alike; evaluated, the line
        builds a module of the same configuration.
        """
        options = "".join(f", {key}={value!r}" for key, value in self.non_default_options().items())
        return f"{type(self).__name__}({getattr(self, self.config_keys[0])!r}{options})"

    def on_model_ready(self, model: torch.nn.Module) -> None:
        """Give the model this module joins st-glot's card (``pip install st-glot``, ``trust_remote_code=True``).

        sentence-transformers calls this once a model is built or loaded; see
        :func:`st_glot.hub.model_card.attach_glot_card`.
        """
        attach_glot_card(model)

    def save(self, output_path: str, *args, safe_serialization: bool = True, **kwargs) -> None:
        """Write ``config.json`` and ``model.safetensors`` into ``output_path``.

        Each file is written under a temporary name and renamed into place, so a
        crash never leaves a truncated file under the final name.
        """
        os.makedirs(output_path, exist_ok=True)
        state = {name: tensor.detach().contiguous().cpu() for name, tensor in self.state_dict().items()}
        atomic_write_bytes(os.path.join(output_path, WEIGHTS_NAME), save(state))
        config = json.dumps(self.get_config_dict(), indent=4)
        atomic_write_bytes(os.path.join(output_path, self.config_file_name), config.encode("utf-8"))

    @classmethod
    def load(
        cls,
        model_name_or_path: str,
        subfolder: str = "",
        token: bool | str | None = None,
        cache_folder: str | None = None,
        revision: str | None = None,
        local_files_only: bool = False,
        **kwargs,
    ) -> Self:
        """Load a module saved by :meth:`save`, locally or from the Hugging Face Hub."""
        hub = dict(
            subfolder=subfolder,
            token=token,
            cache_folder=cache_folder,
            revision=revision,
            local_files_only=local_files_only,
        )
        where = os.path.join(model_name_or_path, subfolder)
        config_path = cls.load_file_path(model_name_or_path, filename=cls.config_file_name, **hub)
        if config_path is None:
            raise FileNotFoundError(f"{cls.__name__}: no {cls.config_file_name} in {where!r}.")
        with open(config_path, encoding="utf-8") as f:
            config = json.load(f)
        try:
            module = cls(**cls._check_config(config, config_path))
        except ValueError as error:
            raise ValueError(f"{config_path}: {error}") from error

        weights_path = cls.load_file_path(model_name_or_path, filename=WEIGHTS_NAME, **hub)
        if weights_path is None:
            pickled = [name for name in PICKLED_WEIGHTS_NAMES if os.path.isfile(os.path.join(where, name))]
            reason = (
                f"it holds {pickled[0]}, a pickle, which st-glot never loads (unpickling can run arbitrary code). "
                "Convert it to safetensors where you trust it (safetensors.torch.save_file(torch.load(path, "
                f"weights_only=True), '{WEIGHTS_NAME}')) or save the model again with model.save(path)."
                if pickled
                else "the folder is incomplete. Save the model again with model.save(path)."
            )
            raise FileNotFoundError(f"{cls.__name__}: no {WEIGHTS_NAME} in {where!r}; {reason}")
        module.load_weights(weights_path)
        return module

    @classmethod
    def _check_config(cls, config: dict[str, Any], config_path: str) -> dict[str, Any]:
        config = dict(config)
        version = config.pop("format_version", FORMAT_VERSION)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ValueError(
                f"has format_version={version!r}, newer than this st-glot reads "
                f"(up to {FORMAT_VERSION}). Upgrade with: pip install -U st-glot"
            )
        accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
        unknown = sorted(set(config) - accepted)
        if unknown:
            raise ValueError(f"has unknown key(s) {unknown} for {cls.__name__}. Valid keys are: {sorted(accepted)}.")
        if version < 2:
            config = {**cls.legacy_config_defaults, **config}
        return config

    def load_weights(self, weights_path: str) -> None:
        """Load a safetensors file, checking that names and shapes fit this module's config."""
        try:
            weights = load_file(weights_path)
        except (SafetensorError, OSError, ValueError) as error:
            raise ValueError(
                f"{weights_path} is not a readable safetensors file ({error}). "
                "The file is truncated or corrupt: save the model again."
            ) from error
        expected = self.state_dict()
        missing = sorted(set(expected) - set(weights))
        unexpected = sorted(set(weights) - set(expected))
        wrong = [
            f"{name}: file {tuple(weights[name].shape)} vs config {tuple(expected[name].shape)}"
            for name in expected.keys() & weights.keys()
            if weights[name].shape != expected[name].shape
        ]
        if missing or unexpected or wrong:
            raise ValueError(
                f"{weights_path} does not match the module's config: "
                f"missing {missing}, unexpected {unexpected}, shape mismatches {sorted(wrong)}. "
                "The config and the weights come from different models."
            )
        with torch.no_grad():
            self.load_state_dict(weights)
