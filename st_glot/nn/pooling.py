"""``GLOTPooling``: the sentence-transformers module that runs GLOT end to end.

It sits between ``Transformer`` and ``Normalize`` and turns
``features["token_embeddings"]`` ``(B, L, d)`` into
``features["sentence_embedding"]`` ``(B, D)`` in three steps: the token graph
(:mod:`st_glot.nn.graph`), the token GNN (:mod:`st_glot.nn.gnn`) and the attention
readout (:mod:`st_glot.nn.readout`). Reference: Mantri, Schönlieb, Lähner,
Eliasof, "Towards Improved Sentence Representations using Token Graphs",
ICLR 2026 (arXiv 2603.03389).
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import Tensor

from st_glot.nn.anchor import AnchorMix
from st_glot.nn.gnn import TokenGNN
from st_glot.nn.graph import build_sparse_token_graph, build_token_graph, sequence_normalize
from st_glot.nn.inputs import PackedTokens, padded_token_states
from st_glot.nn.norms import TokenRunningNorm
from st_glot.nn.readout import AttentionReadout
from st_glot.nn.row_packing import build_row_packed_token_graph
from st_glot.nn.serialization import SavableModule
from st_glot.utils.checks import check_choice, check_int
from st_glot.utils.choices import (
    ANCHORS,
    BACKENDS,
    EDGE_WEIGHTS,
    GLOT_OPTIONS,
    GNN_TYPES,
    GRAPH_NORMS,
    GRAPHS,
    INPUT_NORMS,
    JK_MODES,
    PRESETS,
    Anchor,
    Backend,
    EdgeWeight,
    GNNType,
    GraphMode,
    GraphNorm,
    InputNorm,
    JKMode,
)

#: ``backend="auto"`` runs the dense path while :func:`dense_bytes` stays within this (2 GiB).
DENSE_BUDGET_BYTES = 2 << 30

logger = logging.getLogger(__name__)


def dense_bytes(batch_size: int, length: int, num_layers: int, heads: int, training: bool) -> int:
    """Estimated peak bytes of the ``(B, L, L)`` tensors of one dense forward (and backward).

    Building the graph keeps about 4 fp32-sized ``(B, L, L)`` tensors alive
    (similarity, weight, and GAT's edge values and mask). A layer needs about 3
    per head while it runs (logits, masked logits, softmax); in inference they
    are freed before the next layer, in training autograd keeps them for the
    backward pass, which needs as many again::

        bytes = 4 · B · L² · (4 + 3 H · (2 K if training else min(K, 1)))
    """
    per_layer = 3 * heads
    layers = per_layer * (2 * num_layers if training else min(num_layers, 1))
    return 4 * batch_size * length * length * (4 + layers)


def default_scorer_hidden(width: int) -> int:
    """The paper's readout scorer width, ``max(128, D // 2)``."""
    return max(128, width // 2)


class GLOTPooling(SavableModule):
    """GLOT pooling: token graph → token GNN → attention readout.

    Args:
        embedding_dimension: width ``d`` of the backbone's token states.
        hidden_dim: width ``h`` of each GNN layer.
        num_layers: GNN layers ``K``; 0 keeps the attention readout alone (AdaPool-like).
        gnn: layer type, with the math of PyG's ``GATConv(edge_dim=1)`` (``"gat"``), ``GCNConv``
            (``"gcn"``), ``GINConv`` (``"gin"``) or ``GINEConv`` (``"gine"``).
        jk: jumping knowledge: ``"cat"`` (the input and every layer's output, width ``d + K·h``),
            ``"max"`` or ``"mean"`` (element-wise over the layers' outputs, width ``h``).
        tau: edge ``j → i`` where the cosine ``S_ij > tau``, in ``[-1, 1]``; padding is never a node.
        edge_weight: ``"binary"`` (every edge 1, as in the paper's code) or ``"cosine"`` (the edge
            carries ``S_ij``); ``"gin"`` takes no edge values.
        graph: the pairs the GNN connects (:mod:`st_glot.nn.graph`): ``"threshold"`` (``S_ij > tau``,
            the paper), or an ablation that changes the graph and nothing else (self-loops, edge
            values, padding and every other option stay): ``"empty"`` (each token only with itself:
            the layers without message passing), ``"complete"`` (every pair of a text's tokens),
            ``"random"`` (per text, as many pairs as the threshold graph, uniformly at random).
        graph_seed: seed of ``graph="random"``, an integer ``>= 0`` saved in the config; a text's
            random graph depends only on it, the text's length and its threshold edge count (the
            same in training and inference). ``None``: drawn from torch's RNG after the weights are
            initialised (``torch.manual_seed`` fixes it, and the weights equal those of
            ``"threshold"`` under the same seed); stays ``None`` for other graphs.
        heads: GAT attention heads, averaged (the width stays ``h``).
        dropout: dropout probability on the GNN layers' outputs in training, in ``[0, 1)``.
        scorer_hidden: hidden width of the readout scorer; ``None``: the paper's
            ``max(128, D // 2)``, ``D`` the GNN's output width.
        backend: ``"dense"`` (batched ``(B, L, L)`` tensors), ``"pyg"`` (the same parameters through
            torch-geometric's kernels on an edge list built block by block, no ``(B, L, L)`` tensor)
            or ``"auto"``: dense while :func:`dense_bytes` stays within ``dense_budget_bytes``
            (:data:`DENSE_BUDGET_BYTES`, 2 GiB). Over it, inference pools groups of texts that fit
            (the same result: texts pool independently; only a single text over the budget takes
            pyg) and training takes pyg. The path taken is in ``last_backend``, the texts per pass
            in ``last_group_size`` (and logged at debug level).
        graph_norm: the states the graph's cosine sees: centred (``"center"``) or standardised
            (``"standardize"``) per text by its own statistics, which keeps the graph sparse on
            anisotropic decoder states (:func:`st_glot.nn.graph.unit_states`); ``"none"``: the raw
            states (the paper). Only the graph changes.
        input_norm: the states the GNN and the readout see: ``"running"`` standardises each
            dimension with the mean and variance of every token seen in training, the same
            statistics at inference (:class:`st_glot.nn.norms.TokenRunningNorm`, saved with the
            model); ``"center"`` / ``"standardize"`` per text, as ``graph_norm`` (removes each
            text's mean token); ``"none"``: the raw states (the paper).
        anchor: an untrained pooling kept beside the readout's vector (:mod:`st_glot.nn.anchor`):
            ``"last"`` (the last valid token) or ``"mean"``, standardised per dimension with
            running statistics of the training texts (saved with the model); the output grows to
            ``D + d``. ``"none"``: no anchor.
        anchor_weight: the anchor's share ``w`` of the cosine of two outputs, in ``[0, 1]``:
            ``cos = (1 − w) cos_GLOT + w cos_anchor``.

    :meth:`from_preset` builds the named configurations of :data:`PRESETS`
    (``GLOTPooling.from_preset("paper", d)`` is the research code's).

    The forward pass writes ``features["sentence_embedding"]`` ``(B, D)`` and
    ``features["token_weights"]`` ``(B, L)``, the readout weights (fp32, summing to
    1 over each sequence's valid tokens, zero on padding).
    """

    config_keys = ["embedding_dimension", *GLOT_OPTIONS, "backend", "graph_seed"]
    #: The pooling method's name (:data:`~st_glot.utils.choices.POOLINGS`), as in ``make_pooler("glot", ...)``.
    method_name = "glot"
    #: Folders of format version 1 (st-glot 0.1, whose defaults were the paper's) that lack these keys
    #: load with these values, so they encode as they did.
    legacy_config_defaults = {"graph_norm": "none", "input_norm": "none"}

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
        backend: Backend = "auto",
        graph_norm: GraphNorm = "center",
        input_norm: InputNorm = "running",
        anchor: Anchor = "none",
        anchor_weight: float = 0.5,
        graph: GraphMode = "threshold",
        graph_seed: int | None = None,
    ) -> None:
        super().__init__()
        check_choice("gnn", gnn, GNN_TYPES)
        check_choice("graph", graph, GRAPHS)
        if graph_seed is not None:
            check_int("graph_seed", graph_seed, minimum=0)
        check_choice("jk", jk, JK_MODES)
        check_choice("edge_weight", edge_weight, EDGE_WEIGHTS)
        check_choice("backend", backend, BACKENDS)
        check_choice("graph_norm", graph_norm, GRAPH_NORMS)
        check_choice("input_norm", input_norm, INPUT_NORMS)
        check_choice("anchor", anchor, ANCHORS)
        for name, value in (("embedding_dimension", embedding_dimension), ("hidden_dim", hidden_dim), ("heads", heads)):
            check_int(name, value, minimum=1)
        check_int("num_layers", num_layers, minimum=0)
        if not -1.0 <= float(tau) <= 1.0:
            raise ValueError(f"Invalid tau: {tau!r}. tau is a cosine-similarity threshold in [-1, 1].")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"Invalid dropout: {dropout!r}. Valid values are in [0, 1).")
        if not 0.0 <= float(anchor_weight) <= 1.0:
            raise ValueError(f"Invalid anchor_weight: {anchor_weight!r}. Valid values are in [0, 1].")
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
        self.graph_norm = graph_norm
        self.input_norm = input_norm
        self.dense_budget_bytes = DENSE_BUDGET_BYTES
        self.last_backend: str | None = None
        self.last_group_size: int | None = None

        self.input_running_norm = TokenRunningNorm(embedding_dimension) if input_norm == "running" else None
        self.token_gnn = TokenGNN(
            embedding_dimension, hidden_dim, num_layers, gnn=gnn, jk=jk, heads=heads, dropout=dropout
        )
        width = self.token_gnn.out_channels
        self.scorer_hidden = default_scorer_hidden(width) if scorer_hidden is None else scorer_hidden
        check_int("scorer_hidden", self.scorer_hidden, minimum=1)
        self.readout = AttentionReadout(width, self.scorer_hidden)
        self.anchor = anchor
        self.anchor_weight = float(anchor_weight)
        self.anchor_mix = AnchorMix(embedding_dimension, anchor, anchor_weight) if anchor != "none" else None
        self.graph = graph
        if graph == "random" and graph_seed is None:
            graph_seed = int(torch.randint(0, 2**31 - 1, ()))
        self.graph_seed = graph_seed

    @classmethod
    def from_preset(cls, preset: str, embedding_dimension: int, **kwargs: Any) -> GLOTPooling:
        """A pooler in the named configuration of :data:`PRESETS`; ``kwargs`` override its entries.

        Raises:
            ValueError: ``preset`` is not a key of :data:`PRESETS`.
        """
        check_choice("preset", preset, PRESETS)
        return cls(embedding_dimension, **{**PRESETS[preset], **kwargs})

    def reset_parameters(self) -> None:
        """Re-initialise every learnable parameter."""
        self.token_gnn.reset_parameters()
        self.readout.reset_parameters()
        if self.anchor_mix is not None:
            self.anchor_mix.reset_parameters()
        if self.input_running_norm is not None:
            self.input_running_norm.reset_parameters()

    def derived_defaults(self) -> dict[str, Any]:
        """``scorer_hidden=None`` resolves to the paper's ``max(128, D // 2)`` of the GNN's output width."""
        return {"scorer_hidden": default_scorer_hidden(self.token_gnn.out_channels)}

    def get_embedding_dimension(self) -> int:
        """Width ``D`` of the sentence embedding."""
        extra = self.embedding_dimension if self.anchor_mix is not None else 0
        return self.token_gnn.out_channels + extra

    def choose_backend(self, batch_size: int, length: int) -> tuple[str, int]:
        """How a batch of ``batch_size`` sequences padded to ``length`` tokens is pooled.

        Returns:
            The path, ``"dense"`` or ``"pyg"``, and how many sequences go through
            it in one pass (``batch_size`` unless ``backend="auto"`` splits an
            over-budget batch in inference).
        """
        if self.backend != "auto":
            return self.backend, batch_size
        training = self.training and torch.is_grad_enabled()
        per_sequence = dense_bytes(1, length, self.num_layers, self.heads, training)
        if training:
            return ("dense" if batch_size * per_sequence <= self.dense_budget_bytes else "pyg"), batch_size
        if per_sequence > self.dense_budget_bytes:
            return "pyg", 1
        return "dense", min(batch_size, self.dense_budget_bytes // per_sequence)

    def forward(self, features: dict[str, Tensor | Any], **kwargs) -> dict[str, Tensor | Any]:
        token_embeddings, valid = padded_token_states(
            features, self.embedding_dimension, "GLOTPooling", zero_padding=False
        )  # (B, L, d), (B, L); padding finite, not necessarily zero
        # No token position at all (a decoder's empty texts): the dense path pools each row to 0, the edge list has no node.
        backend, group = self.choose_backend(*valid.shape) if valid.size(1) else ("dense", valid.size(0))
        if group >= valid.size(0):  # one pass (an empty batch too); no slicing, so no size enters a guard
            pooled = [self._pool(backend, token_embeddings, valid)]
        else:
            pooled = [
                self._pool(backend, token_embeddings[start : start + group], valid[start : start + group])
                for start in range(0, valid.size(0), group)
            ]
        self.last_backend, self.last_group_size = backend, group
        if not torch.compiler.is_compiling():  # a logging call would end a compiled graph
            logger.debug(
                "GLOTPooling: %s path, %d sequences per pass, batch of shape %s", backend, group, tuple(valid.shape)
            )
        z = torch.cat([z for z, _ in pooled])  # (B, D)
        if self.anchor_mix is not None:
            z = self.anchor_mix(z, token_embeddings, valid)
        features["sentence_embedding"] = z
        features["token_weights"] = torch.cat([weights for _, weights in pooled])  # (B, L)
        return features

    def _input_states(self, states: Tensor, valid: Tensor, packing: PackedTokens | None) -> Tensor:
        """What the GNN and the readout see: ``states`` after ``input_norm``, in the readout's dtype.

        ``states`` and the result are ``(G, L, d)`` (padding zero) or, with ``packing``, ``(N, d)``.
        """
        if self.input_running_norm is not None:
            if packing is None:
                x = self.input_running_norm(states, valid)  # (G, L, d)
            else:
                x = self.input_running_norm.normalize_tokens(states)  # (N, d)
        elif self.input_norm != "none":
            x = sequence_normalize(states, valid, self.input_norm, packing)
        else:
            x = states
        return x.to(self.readout.scorer[0].weight.dtype)

    def _pool(self, backend: str, token_embeddings: Tensor, valid: Tensor) -> tuple[Tensor, Tensor]:
        """Pool one group of sequences on one path: ``(G, L, d)`` states → ``(G, D)`` vectors, ``(G, L)`` weights.

        The dense path packs the valid tokens (:class:`PackedTokens`) unless padding
        is rare: then every per-token step (input norm, projections, scorer) costs
        ``Σ nᵢ`` rows, and the graph products run on rows of width ``L`` that hold
        several short sequences each (:mod:`st_glot.nn.row_packing`) when that
        saves at least a quarter of the ``(G, L, L)`` entries. Under ``torch.compile`` the
        dense path keeps the padded layout: a packing's sizes depend on the mask's values,
        which would end the graph and specialise it to them.
        """
        compiling = torch.compiler.is_compiling()
        packing = PackedTokens.from_mask(valid) if backend == "dense" and not compiling else None
        if packing is None:
            if compiling:
                states = token_embeddings  # padding zeroed by padded_token_states
            elif not bool(valid.all()):
                states = token_embeddings.masked_fill(~valid.unsqueeze(-1), 0.0)  # (G, L, d), padding 0
            elif token_embeddings.is_inference() and torch.is_grad_enabled():
                states = token_embeddings.clone()  # states made under inference_mode: autograd must save them
            else:
                states = token_embeddings
        else:
            states = packing.pack(token_embeddings)  # (N, d)
        x = self._input_states(states, valid, packing)
        if backend == "dense":
            graph = None
            if packing is not None:  # short texts share rows of the graph
                graph = build_row_packed_token_graph(
                    states, packing, self.tau, self.edge_weight, self.graph_norm, **self._graph_mode()
                )
            if graph is None:
                graph = build_token_graph(
                    token_embeddings, valid, self.tau, self.edge_weight, self.graph_norm, packing, **self._graph_mode()
                )
            parts = self.token_gnn.forward_dense_parts(x, graph)  # [(G, L, ·) or (N, ·)], widths summing to D
            return self.readout(parts, valid, packing)  # (G, D), (G, L)
        sparse = build_sparse_token_graph(
            states, valid, self.tau, self.edge_weight, self.graph_norm, **self._graph_mode()
        )
        u = self.token_gnn.forward_sparse(x[valid], sparse)  # (N, D)
        z, node_weights = self.readout.forward_sparse(u, sparse.batch, sparse.num_graphs)
        weights = torch.zeros(valid.shape, dtype=node_weights.dtype, device=valid.device)  # (G, L)
        weights[valid] = node_weights
        return z, weights

    def _graph_mode(self) -> dict[str, Any]:
        """The graph builders' ``graph`` and ``graph_seed``."""
        return {"graph": self.graph, "graph_seed": self.graph_seed}
