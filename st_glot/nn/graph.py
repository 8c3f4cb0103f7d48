"""Step 1 of GLOT: the token similarity graph.

For one sequence with valid token states ``x_1 … x_n`` the graph has an edge
``j → i`` wherever the cosine similarity ``S_ij = <x_i, x_j> / (|x_i| |x_j|)``
exceeds the threshold ``tau`` (Mantri et al., "Towards Improved Sentence
Representations using Token Graphs", ICLR 2026). ``S`` is symmetric, so every
edge comes with its reverse, and the diagonal (``S_ii = 1``) is kept as in the
paper's code. Padding tokens are never nodes, and sequences never connect.

The whole batch is handled at once as a dense ``(B, L, L)`` mask
(:func:`build_token_graph`). For long inputs, where ``(B, L, L)`` tensors no
longer fit in memory, :func:`build_sparse_token_graph` produces torch-geometric's
``edge_index`` form directly, thresholding the similarity one block of rows at a
time for the whole batch, so at most ``SIMILARITY_BLOCK_ELEMENTS`` similarities
exist at once and there is no loop over sequences.

``graph`` chooses which pairs connect (:data:`~st_glot.utils.choices.GRAPHS`), for
ablations that change the graph and nothing else. Every mode keeps the threshold
graph's self-loops (``S_ii > tau``) and edge values (1, or ``S_ij`` for
``"cosine"``), and never connects padding or two sequences; off the diagonal:

- ``"threshold"``: ``S_ij > tau`` (the paper's graph);
- ``"empty"``: no pair, each token only with itself (the layers' weights act on
  each token alone: no message passing);
- ``"complete"``: every pair of valid tokens of the sequence;
- ``"random"``: per sequence, as many unordered pairs ``{i, j}`` as the threshold
  graph has, drawn uniformly with ``graph_seed`` (:mod:`st_glot.nn.random_graph`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from st_glot.nn.inputs import PackedTokens
from st_glot.nn.random_graph import rewire_edge_list_randomly, rewire_randomly
from st_glot.utils.checks import check_choice, check_int
from st_glot.utils.choices import EDGE_WEIGHTS, GRAPH_NORMS, GRAPHS, EdgeWeight, GraphMode, GraphNorm

#: Upper bound on the fp32 similarities (``B × rows × L``) one block of
#: :func:`build_sparse_token_graph` holds: 2**24 elements, 64 MiB.
SIMILARITY_BLOCK_ELEMENTS = 1 << 24


@dataclass
class TokenGraph:
    """A batch of token graphs in dense form.

    Each of the ``B`` padded rows holds one sequence's graph, or, built by
    :func:`~st_glot.nn.row_packing.build_row_packed_token_graph`, the graphs of several
    sequences side by side, which no edge connects.

    Attributes:
        valid: ``(B, L)`` bool, True on real (non-padding) tokens.
        adjacency: ``(B, L, L)`` bool; ``adjacency[b, i, j]`` is the edge ``j → i``.
            Only valid tokens take part; the diagonal is set where ``S_ii > tau``.
        weight: ``(B, L, L)`` float32 edge values (1 for ``"binary"``, ``S_ij`` for
            ``"cosine"``), zero where there is no edge.
        binary: True when every edge weighs 1, which lets layers skip per-edge work.
        packing: where the node states live. None: padded ``(B, L, ·)`` tensors;
            a :class:`~st_glot.nn.inputs.PackedTokens`: ``(N, ·)`` rows of the
            valid tokens only, so the layers' per-token work (projections, MLPs)
            costs ``Σ nᵢ`` rows; only the ``(B, L, L)`` products see padding.
        cache: per-batch tensors derived from the graph by the layers (e.g. GAT's
            self-loop values and attention mask), computed by the first layer
            that needs them and shared by all others; see :meth:`derived`.
    """

    valid: Tensor
    adjacency: Tensor
    weight: Tensor
    binary: bool
    packing: PackedTokens | None = None
    cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def padded(self, t: Tensor) -> Tensor:
        """Node states in this graph's layout → ``(B, L, *rest)``, zero on padding when packed."""
        return t if self.packing is None else self.packing.pad(t)

    def nodes(self, t: Tensor) -> Tensor:
        """``(B, L, *rest)`` → node states in this graph's layout (the inverse of :meth:`padded`)."""
        return t if self.packing is None else self.packing.pack(t)

    def derived(self, key: str, compute: Callable[[TokenGraph], Any]) -> Any:
        """``compute(self)``, evaluated once per graph and cached under ``key``."""
        if key not in self.cache:
            self.cache[key] = compute(self)
        return self.cache[key]


@dataclass
class SparseTokenGraph:
    """The same graphs as one disjoint torch-geometric graph over the valid tokens.

    Attributes:
        edge_index: ``(2, E)`` long, rows ``(source j, target i)`` in node numbering.
        edge_value: ``(E,)`` float32 edge values.
        batch: ``(N,)`` long, the sequence each node belongs to.
        num_graphs: ``B``.
    """

    edge_index: Tensor
    edge_value: Tensor
    batch: Tensor
    num_graphs: int


def sequence_normalize(x: Tensor, valid: Tensor | None, mode: GraphNorm, packing: PackedTokens | None = None) -> Tensor:
    """Re-express each token relative to its own sequence, in fp32.

    Statistics are taken over the sequence's valid tokens only; padding comes out as 0.

    - ``"none"``: ``x_i`` unchanged;
    - ``"center"``: ``x_i - μ`` with ``μ`` the sequence's mean token state;
    - ``"standardize"``: ``(x_i - μ) / σ`` per dimension.

    Decoder LLMs' states share a dominant direction and a few dimensions tens of
    times larger than the rest (SmolLM2-135M: median pairwise cosine 0.93),
    nearly constant across a sequence; centring removes that shared part and
    leaves the differences between tokens.

    Args:
        x: ``(B, L, d)`` token states, any float dtype, or with ``packing`` the
            valid tokens' rows ``(N, d)``.
        valid: ``(B, L)`` mask of real tokens; None: every token is real.
        mode: one of :data:`~st_glot.utils.choices.GRAPH_NORMS`.
        packing: the packing of ``x``'s rows, or None for padded states.

    Returns:
        float32 in the layout of ``x``.
    """
    check_choice("graph_norm", mode, GRAPH_NORMS)
    x = x.float()
    if mode == "none":
        return x
    if packing is not None:
        count = packing.lengths.clamp_min(1).unsqueeze(-1).float()  # (B, 1)
        mean = x.new_zeros(count.size(0), x.size(-1)).index_add_(0, packing.batch, x) / count  # (B, d)
        x = x - mean.index_select(0, packing.batch)  # (N, d)
        if mode == "standardize":
            var = x.new_zeros(mean.shape).index_add_(0, packing.batch, x.square()) / count  # (B, d)
            x = x / (var.sqrt() + 1e-6).index_select(0, packing.batch)
        return x
    weight = x.new_ones(x.shape[:-1]) if valid is None else valid.float()  # (B, L)
    weight = weight.unsqueeze(-1)  # (B, L, 1)
    count = weight.sum(dim=1, keepdim=True).clamp_min(1.0)  # (B, 1, 1)
    mean = (x * weight).sum(dim=1, keepdim=True) / count  # (B, 1, d)
    x = (x - mean) * weight
    if mode == "standardize":
        x = x / ((x.square().sum(dim=1, keepdim=True) / count).sqrt() + 1e-6)
    return x


def unit_states(x: Tensor, valid: Tensor | None = None, graph_norm: GraphNorm = "none") -> Tensor:
    """fp32 unit vectors whose dot products are the graph's similarities:
    :func:`sequence_normalize` with ``graph_norm``, then unit length (a zero vector stays zero)."""
    check_choice("graph_norm", graph_norm, GRAPH_NORMS)
    return F.normalize(sequence_normalize(x, valid, graph_norm), dim=-1)  # (B, L, d)


def cosine_similarity_matrix(x: Tensor, valid: Tensor | None = None, graph_norm: GraphNorm = "none") -> Tensor:
    """Pairwise cosine similarity of the tokens of each sequence, in fp32.

    The similarities of :func:`unit_states`, computed without a unit-vector copy
    of the states: with ``c`` the states after ``graph_norm`` (statistics over
    the valid tokens) and ``r_i = 1 / max(|c_i|, 1e-12)``,
    ``S_ij = (c_i · c_j) r_i r_j``. Entries that involve a padding token are
    meaningless (padding may hold any finite values); callers mask them.

    Args:
        x: ``(B, L, d)`` token states, any float dtype.
        valid: ``(B, L)`` mask of real tokens; None: every token is real.
        graph_norm: one of :data:`~st_glot.utils.choices.GRAPH_NORMS` (see :func:`sequence_normalize`).

    Returns:
        ``(B, L, L)`` float32 with entries in ``[-1, 1]`` between valid tokens; a
        zero vector has similarity 0 with everything.
    """
    check_choice("graph_norm", graph_norm, GRAPH_NORMS)
    c = x.float()
    if graph_norm != "none":
        weight = (c.new_ones(c.shape[:-1]) if valid is None else valid.float()).unsqueeze(1)  # (B, 1, L)
        count = weight.sum(dim=-1, keepdim=True).clamp_min(1.0)  # (B, 1, 1)
        c = c - (weight @ c) / count  # (B, L, d): minus the mean of the valid tokens
        if graph_norm == "standardize":
            c = c / (((weight @ c.square()) / count).sqrt() + 1e-6)
    inverse = c.norm(dim=-1).clamp_min(1e-12).reciprocal()  # (B, L)
    return (c @ c.transpose(1, 2)) * inverse.unsqueeze(2) * inverse.unsqueeze(1)  # (B, L, L)


def build_token_graph(
    x: Tensor,
    valid: Tensor,
    tau: float,
    edge_weight: EdgeWeight = "binary",
    graph_norm: GraphNorm = "none",
    packing: PackedTokens | None = None,
    graph: GraphMode = "threshold",
    graph_seed: int | None = None,
) -> TokenGraph:
    """Threshold the cosine similarity of valid tokens into a batched graph (or another ``graph`` mode).

    Args:
        x: ``(B, L, d)`` token states; padding may hold any finite values.
        valid: ``(B, L)`` bool or 0/1 mask of real tokens.
        tau: edge threshold; edge ``j → i`` where ``S_ij > tau``.
        edge_weight: ``"binary"`` (every edge 1, the paper's code) or ``"cosine"``
            (edge carries ``S_ij``).
        graph_norm: how states are centred before the cosine (:func:`unit_states`).
        packing: the layout of the node states the layers will receive (see
            :attr:`TokenGraph.packing`); None for padded ``(B, L, ·)`` states.
        graph: which pairs connect, one of :data:`GRAPHS` (see the module docstring).
        graph_seed: the seed of ``graph="random"`` (an integer >= 0); unused otherwise.

    Returns:
        The :class:`TokenGraph` of the batch.
    """
    check_choice("edge_weight", edge_weight, EDGE_WEIGHTS)
    valid = valid.bool()
    similarity = cosine_similarity_matrix(x, valid, graph_norm)  # (B, L, L)
    pair = valid.unsqueeze(2) & valid.unsqueeze(1)  # (B, L, L)
    return connect(similarity, pair, valid, tau, edge_weight, packing, graph, graph_seed)


def connect(
    similarity: Tensor,
    pair: Tensor,
    valid: Tensor,
    tau: float,
    edge_weight: EdgeWeight = "binary",
    packing: PackedTokens | None = None,
    graph: GraphMode = "threshold",
    graph_seed: int | None = None,
    segment: Tensor | None = None,
) -> TokenGraph:
    """The :class:`TokenGraph` of mode ``graph`` over the token pairs ``pair``; for ``"threshold"`` an edge
    ``j → i`` wherever ``pair[b, i, j]`` and ``S_ij > tau``.

    Args:
        similarity: ``(B, L, L)`` fp32 cosine similarities.
        pair: ``(B, L, L)`` bool, the token pairs that may connect (both valid, same sequence).
        valid: ``(B, L)`` bool mask of real tokens.
        tau, edge_weight, packing, graph, graph_seed: as for :func:`build_token_graph`.
        segment: ``(B, L)`` long, the sequence at each position (numbered from 0, -1 on
            padding), where a row holds several; None: row ``b`` is sequence ``b``.
    """
    check_choice("edge_weight", edge_weight, EDGE_WEIGHTS)
    diagonal = torch.eye(similarity.size(-1), dtype=torch.bool, device=similarity.device)  # (L, L)
    adjacency = graph_edges(similarity, pair, tau, graph, diagonal)  # (B, L, L)
    if graph == "random":
        if segment is None:
            rows = torch.arange(valid.size(0), device=valid.device).unsqueeze(1)  # (B, 1)
            segment = rows.expand(valid.shape).masked_fill(~valid, -1)  # (B, L)
        adjacency = rewire_randomly(adjacency, segment, _random_seed(graph_seed))
    if edge_weight == "binary":
        weight = adjacency.float()
    else:
        weight = similarity.masked_fill(~adjacency, 0.0)
    return TokenGraph(valid=valid, adjacency=adjacency, weight=weight, binary=edge_weight == "binary", packing=packing)


def _node_numbering(valid: Tensor) -> tuple[Tensor, Tensor]:
    """Node number of each valid token ``(B, L)`` (row-major over the batch) and the ``(N,)`` graph of each node."""
    node_id = valid.flatten().long().cumsum(0).view_as(valid) - 1  # (B, L)
    lengths = valid.sum(dim=1)  # (B,)
    batch = torch.repeat_interleave(torch.arange(valid.size(0), device=valid.device), lengths)  # (N,)
    return node_id, batch


def build_sparse_token_graph(
    x: Tensor,
    valid: Tensor,
    tau: float,
    edge_weight: EdgeWeight = "binary",
    graph_norm: GraphNorm = "none",
    block_elements: int = SIMILARITY_BLOCK_ELEMENTS,
    graph: GraphMode = "threshold",
    graph_seed: int | None = None,
) -> SparseTokenGraph:
    """The graphs of :func:`build_token_graph`, built as an edge list without any ``(B, L, L)`` tensor.

    The rows ``i`` of ``S`` are processed in blocks of ``r = max(1, block_elements
    // (B L))`` for all sequences at once: ``S[:, i0:i0+r] = U[:, i0:i0+r] U^T``
    with ``U`` the unit-normalised states, thresholded and restricted to valid
    pairs; only the surviving edges are kept. Peak extra memory is one
    ``(B, r, L)`` fp32 block plus the edges; the work is ``2 B L^2 d`` FLOPs as
    in the dense form. At normal lengths one block covers every row.

    Args:
        x: ``(B, L, d)`` token states.
        valid: ``(B, L)`` bool or 0/1 mask of real tokens.
        tau: edge threshold; edge ``j → i`` where ``S_ij > tau``.
        edge_weight: ``"binary"`` or ``"cosine"``, as in :func:`build_token_graph`.
        graph_norm: how states are centred before the cosine (:func:`unit_states`).
        block_elements: upper bound on the similarities held at once (fp32 elements).
        graph, graph_seed: as for :func:`build_token_graph`. ``"random"`` holds one
            integer key per token pair of each sequence (``Σ nᵢ (nᵢ - 1) / 2``) while it draws.

    Returns:
        The :class:`SparseTokenGraph`; edges are ordered by row block, then
        ``(b, i, j)`` (for ``"random"``: the self-loops so, then the drawn pairs),
        and carry the same values as the dense graph's entries.
    """
    check_choice("edge_weight", edge_weight, EDGE_WEIGHTS)
    if block_elements < 1:
        raise ValueError(f"Invalid block_elements: {block_elements!r}. It must be an integer >= 1.")
    valid = valid.bool()
    B, L = valid.shape
    unit = unit_states(x, valid, graph_norm)  # (B, L, d)
    unit_t = unit.transpose(1, 2)  # (B, d, L)
    node_id, batch = _node_numbering(valid)
    rows = max(1, block_elements // max(1, B * L))
    positions = torch.arange(L, device=valid.device)  # (L,)
    sources, targets, values = [], [], []
    for start in range(0, L, rows):
        similarity = unit[:, start : start + rows] @ unit_t  # (B, r, L)
        pair = valid[:, start : start + rows, None] & valid[:, None, :]  # (B, r, L)
        diagonal = positions[start : start + rows, None] == positions  # (r, L)
        keep = graph_edges(similarity, pair, tau, graph, diagonal)  # (B, r, L)
        b, i, j = keep.nonzero(as_tuple=True)  # (E_block,) each
        i = i + start
        sources.append(node_id[b, j])
        targets.append(node_id[b, i])
        values.append(similarity[b, i - start, j] if edge_weight == "cosine" else similarity.new_ones(b.numel()))
    edge_index = torch.stack([torch.cat(sources), torch.cat(targets)])  # (2, E): source j, target i
    edge_value = torch.cat(values)  # (E,)
    if graph == "random":
        edge_index, edge_value = rewire_edge_list_randomly(
            edge_index, edge_value, batch, B, unit[valid], edge_weight, _random_seed(graph_seed), block_elements
        )
    return SparseTokenGraph(edge_index=edge_index, edge_value=edge_value, batch=batch, num_graphs=B)


def graph_edges(similarity: Tensor, pair: Tensor, tau: float, graph: GraphMode, diagonal: Tensor) -> Tensor:
    """Which pairs connect in mode ``graph``, before ``"random"``'s draw (there: the threshold graph).

    Args:
        similarity: ``(B, r, L)`` fp32 cosine similarities of ``r`` rows (targets ``i``) with all ``L`` columns.
        pair: ``(B, r, L)`` bool, the pairs that may connect (both valid, same sequence).
        tau: the threshold; self-loops follow it in every mode.
        graph: one of :data:`GRAPHS`.
        diagonal: ``(r, L)`` bool, True where ``i == j``.

    Returns:
        ``(B, r, L)`` bool: ``S_ij > tau`` on the diagonal; off it ``S_ij > tau`` (``"threshold"``,
        ``"random"``), nothing (``"empty"``) or everything (``"complete"``); always within ``pair``.
    """
    check_choice("graph", graph, GRAPHS)
    above = similarity > tau  # (B, r, L)
    if graph == "empty":
        above = above & diagonal
    elif graph == "complete":
        above = above | ~diagonal
    return above & pair


def _random_seed(graph_seed: int | None) -> int:
    check_int("graph_seed", graph_seed, minimum=0)
    return graph_seed
