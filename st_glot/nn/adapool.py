"""``AdaPool``: the paper's learnable pooling baseline.

A scorer ``Linear(d, 128) → tanh → Linear(128, 1)`` rates each raw token state,
a softmax over the valid tokens turns the scores into weights, and the sentence
vector is the weighted sum of the raw states (Brothers, "Robust noise-aware
pooling", as used as a baseline by Mantri et al., ICLR 2026). It equals GLOT
with ``K = 0`` and a 128-wide scorer.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from st_glot.nn.inputs import padded_token_states
from st_glot.nn.readout import AttentionReadout
from st_glot.nn.serialization import SavableModule
from st_glot.utils.checks import check_int


class AdaPool(SavableModule):
    """Attention pooling of raw token states.

    Args:
        embedding_dimension: width ``d`` of the backbone's token states.
        scorer_hidden: hidden width of the scorer (128 in the paper).

    Writes ``features["sentence_embedding"]`` ``(B, d)`` and
    ``features["token_weights"]`` ``(B, L)``.
    """

    config_keys = ["embedding_dimension", "scorer_hidden"]
    #: The pooling method's name (:data:`~st_glot.utils.choices.POOLINGS`), as in ``make_pooler("adapool", ...)``.
    method_name = "adapool"

    def __init__(self, embedding_dimension: int, scorer_hidden: int = 128) -> None:
        super().__init__()
        check_int("embedding_dimension", embedding_dimension, minimum=1)
        check_int("scorer_hidden", scorer_hidden, minimum=1)
        self.embedding_dimension = embedding_dimension
        self.scorer_hidden = scorer_hidden
        self.readout = AttentionReadout(embedding_dimension, scorer_hidden)

    def reset_parameters(self) -> None:
        self.readout.reset_parameters()

    def get_embedding_dimension(self) -> int:
        return self.embedding_dimension

    def forward(self, features: dict[str, Tensor | Any], **kwargs) -> dict[str, Tensor | Any]:
        token_embeddings, valid = padded_token_states(
            features, self.embedding_dimension, "AdaPool"
        )  # (B, L, d), (B, L)
        x = token_embeddings.to(self.readout.scorer[0].weight.dtype)
        features["sentence_embedding"], features["token_weights"] = self.readout(x, valid)
        return features
