"""``GLOTPooling``: the sentence-transformers module that runs GLOT end to end.

It sits between ``Transformer`` and ``Normalize`` and turns
``features["token_embeddings"]`` ``(B, L, d)`` into
``features["sentence_embedding"]`` ``(B, D)`` in three steps: the token graph
(:mod:`st_glot.graph`), the token GNN (:mod:`st_glot.gnn`) and the attention
readout (:mod:`st_glot.readout`). Reference: Mantri, Schönlieb, Lähner,
Eliasof, "Towards Improved Sentence Representations using Token Graphs",
ICLR 2026 (arXiv 2603.03389).
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import Tensor

from st_glot.checks import check_choice, check_int
from st_glot.gnn import GNN_TYPES, JK_MODES, GNNType, JKMode, TokenGNN
from st_glot.graph import EDGE_WEIGHTS, EdgeWeight, build_token_graph, to_sparse
from st_glot.inputs import padded_token_states
from st_glot.readout import AttentionReadout
from st_glot.serialization import SavableModule

Backend = Literal["dense", "pyg"]
BACKENDS: tuple[str, ...] = ("dense", "pyg")


def default_scorer_hidden(width: int) -> int:
    """The paper's readout scorer width, ``max(128, D // 2)``."""
    return max(128, width // 2)


class GLOTPooling(SavableModule):
    """GLOT pooling: token graph → token GNN → attention readout.

    Args:
        embedding_dimension: width ``d`` of the backbone's token states.
        hidden_dim: width ``h`` of each GNN layer.
        num_layers: number of GNN layers ``K``; 0 gives the readout alone.
        gnn: layer type: ``"gat"`` (default), ``"gcn"``, ``"gin"`` or ``"gine"``.
        jk: jumping knowledge: ``"cat"`` (width ``d + K·h``), ``"max"`` or ``"mean"``
            (width ``h``).
        tau: edge threshold on cosine similarity, in ``[-1, 1]``.
        edge_weight: ``"binary"`` (every edge 1, as in the paper's code) or
            ``"cosine"`` (edge carries its similarity). ``"gin"`` uses no edge values.
        heads: attention heads for ``"gat"`` (averaged, width stays ``h``).
        dropout: dropout on GNN layer outputs during training, in ``[0, 1)``.
        scorer_hidden: hidden width of the readout scorer; ``None`` takes the
            paper's ``max(128, D // 2)``.
        backend: ``"dense"`` (batched ``(B, L, L)`` tensors, default) or ``"pyg"``
            (the same parameters through torch-geometric's sparse kernels).

    The forward pass writes ``features["sentence_embedding"]`` ``(B, D)`` and
    ``features["token_weights"]`` ``(B, L)``, the readout weights (fp32, summing to
    1 over each sequence's valid tokens, zero on padding).
    """

    config_keys = [
        "embedding_dimension",
        "hidden_dim",
        "num_layers",
        "gnn",
        "jk",
        "tau",
        "edge_weight",
        "heads",
        "dropout",
        "scorer_hidden",
        "backend",
    ]

    def __init__(
        self,
        embedding_dimension: int,
        hidden_dim: int = 128,
        num_layers: int = 2,
        gnn: GNNType = "gat",
        jk: JKMode = "cat",
        tau: float = 0.3,
        edge_weight: EdgeWeight = "binary",
        heads: int = 1,
        dropout: float = 0.0,
        scorer_hidden: int | None = None,
        backend: Backend = "dense",
    ) -> None:
        super().__init__()
        check_choice("gnn", gnn, GNN_TYPES)
        check_choice("jk", jk, JK_MODES)
        check_choice("edge_weight", edge_weight, EDGE_WEIGHTS)
        check_choice("backend", backend, BACKENDS)
        for name, value in (("embedding_dimension", embedding_dimension), ("hidden_dim", hidden_dim), ("heads", heads)):
            check_int(name, value, minimum=1)
        check_int("num_layers", num_layers, minimum=0)
        if not -1.0 <= float(tau) <= 1.0:
            raise ValueError(f"Invalid tau: {tau!r}. tau is a cosine-similarity threshold in [-1, 1].")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"Invalid dropout: {dropout!r}. Valid values are in [0, 1).")
        if gnn == "gin" and edge_weight == "cosine":
            raise ValueError(
                "edge_weight='cosine' has no effect with gnn='gin' (GIN sums neighbours unweighted). "
                "Use gnn='gine' for edge-aware messages, or edge_weight='binary'."
            )
        self.embedding_dimension = embedding_dimension
        self.hidden_dim = hidden_dim
        self.num_layers = num_layers
        self.gnn = gnn
        self.jk = jk
        self.tau = float(tau)
        self.edge_weight = edge_weight
        self.heads = heads
        self.dropout = float(dropout)
        self.backend = backend

        self.token_gnn = TokenGNN(embedding_dimension, hidden_dim, num_layers, gnn=gnn, jk=jk, heads=heads, dropout=dropout)
        width = self.token_gnn.out_channels
        self.scorer_hidden = default_scorer_hidden(width) if scorer_hidden is None else scorer_hidden
        check_int("scorer_hidden", self.scorer_hidden, minimum=1)
        self.readout = AttentionReadout(width, self.scorer_hidden)

    def reset_parameters(self) -> None:
        """Re-initialise every learnable parameter."""
        self.token_gnn.reset_parameters()
        self.readout.reset_parameters()

    def get_embedding_dimension(self) -> int:
        """Width ``D`` of the sentence embedding."""
        return self.token_gnn.out_channels

    def forward(self, features: dict[str, Tensor | Any], **kwargs) -> dict[str, Tensor | Any]:
        token_embeddings, valid = padded_token_states(features, self.embedding_dimension, "GLOTPooling")  # (B, L, d), (B, L)
        x = token_embeddings.to(self.readout.scorer[0].weight.dtype)
        graph = build_token_graph(token_embeddings, valid, self.tau, self.edge_weight)
        if self.backend == "dense":
            u = self.token_gnn.forward_dense(x, graph)  # (B, L, D)
            z, weights = self.readout(u, valid)  # (B, D), (B, L)
        else:
            sparse = to_sparse(graph)
            u = self.token_gnn.forward_sparse(x[valid], sparse)  # (N, D)
            z, node_weights = self.readout.forward_sparse(u, sparse.batch, sparse.num_graphs)
            weights = torch.zeros(valid.shape, dtype=node_weights.dtype, device=valid.device)
            weights[valid] = node_weights
        features["sentence_embedding"] = z
        features["token_weights"] = weights
        return features

    def __repr__(self) -> str:
        return (
            f"GLOTPooling({self.embedding_dimension}, {self.get_embedding_dimension()}, gnn={self.gnn}, "
            f"layers={self.num_layers}, hidden={self.hidden_dim}, jk={self.jk}, tau={self.tau}, "
            f"edge_weight={self.edge_weight}, backend={self.backend})"
        )

