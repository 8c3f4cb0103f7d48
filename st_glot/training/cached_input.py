"""``CachedTokenStates``: an input module that reads token states from the cache.

During training it replaces the frozen backbone at the front of the model:
``SentenceTransformer(modules=[CachedTokenStates(cache), pooler, ...])``. Its
``preprocess`` maps each text to its cache row (carried as ``input_ids``, the key
sentence-transformers' trainer uses to find a column's features), and its
forward reads those rows back as padded ``token_embeddings`` and
``attention_mask`` — exactly what the backbone would have produced, without
running it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sentence_transformers.base.modules.input_module import InputModule
from torch import Tensor

from st_glot.training.cache import TokenStateCache


class CachedTokenStates(InputModule):
    """Serve cached token states in place of a backbone.

    Args:
        cache: the :class:`~st_glot.training.cache.TokenStateCache` holding every text the
            model will see (training and evaluation).

    Raises:
        KeyError: from ``preprocess``, for a text that is not in the cache.
    """

    config_file_name = "cached_token_states.json"

    def __init__(self, cache: TokenStateCache) -> None:
        super().__init__()
        self.cache = cache

    def preprocess(self, inputs: Sequence[str], prompt: str | None = None, **kwargs) -> dict[str, Tensor]:
        # The prompt is part of the cache's key, so texts are looked up as given.
        return {"input_ids": self.cache.rows(list(inputs))}

    def forward(self, features: dict[str, Tensor | Any], **kwargs) -> dict[str, Tensor | Any]:
        rows = features["input_ids"]
        states, mask = self.cache.gather(rows)  # (B, L, d), (B, L)
        features["token_embeddings"] = states.to(rows.device)
        features["attention_mask"] = mask.to(device=rows.device, dtype=rows.dtype)
        return features

    def get_embedding_dimension(self) -> int:
        return self.cache.dim

    def get_config_dict(self) -> dict[str, Any]:
        return {"cache_directory": str(self.cache.directory), "dim": self.cache.dim, "dtype": self.cache.dtype}

    def save(self, output_path: str, *args, **kwargs) -> None:
        """Record where the cache lives (training checkpoints); the states stay in the cache folder."""
        self.save_config(output_path)

    @classmethod
    def load(cls, model_name_or_path: str, subfolder: str = "", **kwargs) -> CachedTokenStates:
        config = cls.load_config(model_name_or_path, subfolder=subfolder)
        return cls(TokenStateCache(config["cache_directory"], dim=config["dim"], dtype=config["dtype"]))
