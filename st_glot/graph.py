"""Step 1 of GLOT: the token similarity graph.

For one sequence with valid token states ``x_1 … x_n`` the graph has an edge
``j → i`` wherever the cosine similarity ``S_ij = <x_i, x_j> / (|x_i| |x_j|)``
exceeds the threshold ``tau`` (Mantri et al., "Towards Improved Sentence
Representations using Token Graphs", ICLR 2026). ``S`` is symmetric, so every
edge comes with its reverse, and the diagonal (``S_ii = 1``) is kept as in the
paper's code. Padding tokens are never nodes, and sequences never connect.

The whole batch is handled at once as a dense ``(B, L, L)`` mask; the sparse
``edge_index`` form used by torch-geometric is derived from that mask without a
loop over sequences.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

EdgeWeight = Literal["binary", "cosine"]
EDGE_WEIGHTS: tuple[str, ...] = ("binary", "cosine")


@dataclass
class TokenGraph:
    """A batch of token graphs in dense form.

    Attributes:
        valid: ``(B, L)`` bool, True on real (non-padding) tokens.
        adjacency: ``(B, L, L)`` bool; ``adjacency[b, i, j]`` is the edge ``j → i``.
            Only valid tokens take part; the diagonal is set where ``S_ii > tau``.
        weight: ``(B, L, L)`` float32 edge values (1 for ``"binary"``, ``S_ij`` for
            ``"cosine"``), zero where there is no edge.
        binary: True when every edge weighs 1, which lets layers skip per-edge work.
    """

    valid: Tensor
    adjacency: Tensor
    weight: Tensor
    binary: bool


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


def cosine_similarity_matrix(x: Tensor) -> Tensor:
    """Pairwise cosine similarity of the tokens of each sequence, in fp32.

    Args:
        x: ``(B, L, d)`` token states, any float dtype.

    Returns:
        ``(B, L, L)`` float32 with entries in ``[-1, 1]``; a zero vector has
        similarity 0 with everything.
    """
    unit = F.normalize(x.float(), dim=-1)  # (B, L, d)
    return unit @ unit.transpose(1, 2)  # (B, L, L)


def build_token_graph(x: Tensor, valid: Tensor, tau: float, edge_weight: EdgeWeight = "binary") -> TokenGraph:
    """Threshold the cosine similarity of valid tokens into a batched graph.

    Args:
        x: ``(B, L, d)`` token states.
        valid: ``(B, L)`` bool or 0/1 mask of real tokens.
        tau: edge threshold; edge ``j → i`` where ``S_ij > tau``.
        edge_weight: ``"binary"`` (every edge 1, the paper's code) or ``"cosine"``
            (edge carries ``S_ij``).

    Returns:
        The :class:`TokenGraph` of the batch.
    """
    if edge_weight not in EDGE_WEIGHTS:
        raise ValueError(f"Invalid edge_weight: {edge_weight!r}. Valid values are: {EDGE_WEIGHTS}.")
    valid = valid.bool()
    similarity = cosine_similarity_matrix(x)  # (B, L, L)
    pair = valid.unsqueeze(2) & valid.unsqueeze(1)  # (B, L, L)
    adjacency = (similarity > tau) & pair
    if edge_weight == "binary":
        weight = adjacency.float()
    else:
        weight = similarity.masked_fill(~adjacency, 0.0)
    return TokenGraph(valid=valid, adjacency=adjacency, weight=weight, binary=edge_weight == "binary")


def to_sparse(graph: TokenGraph) -> SparseTokenGraph:
    """Convert a dense :class:`TokenGraph` to torch-geometric's edge-list form.

    Nodes are the valid tokens in row-major order of ``(B, L)``, i.e. the order of
    ``x[graph.valid]``. No loop over sequences: node numbers come from a cumulative
    sum over the flattened mask.
    """
    valid = graph.valid
    node_id = valid.flatten().long().cumsum(0).view_as(valid) - 1  # (B, L)
    b, i, j = graph.adjacency.nonzero(as_tuple=True)  # (E,) each
    edge_index = torch.stack([node_id[b, j], node_id[b, i]])  # (2, E): source j, target i
    edge_value = graph.weight[b, i, j]  # (E,)
    lengths = valid.sum(dim=1)  # (B,)
    batch = torch.repeat_interleave(torch.arange(valid.size(0), device=valid.device), lengths)  # (N,)
    return SparseTokenGraph(edge_index=edge_index, edge_value=edge_value, batch=batch, num_graphs=valid.size(0))
