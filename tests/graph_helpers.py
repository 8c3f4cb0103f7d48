"""Test helpers for token graphs: the dense graph as an edge list, and the dense GNN's full output."""

from __future__ import annotations

import torch
from torch import Tensor

from st_glot.nn.gnn import TokenGNN
from st_glot.nn.graph import SparseTokenGraph, TokenGraph


def to_sparse(graph: TokenGraph) -> SparseTokenGraph:
    """A dense :class:`TokenGraph` as torch-geometric's edge list over ``x[graph.valid]``'s rows."""
    valid = graph.valid
    node_id = valid.flatten().long().cumsum(0).view_as(valid) - 1  # (B, L)
    batch = torch.repeat_interleave(torch.arange(valid.size(0)), valid.sum(dim=1))  # (N,)
    b, i, j = graph.adjacency.nonzero(as_tuple=True)  # (E,) each
    edge_index = torch.stack([node_id[b, j], node_id[b, i]])  # (2, E): source j, target i
    return SparseTokenGraph(
        edge_index=edge_index, edge_value=graph.weight[b, i, j], batch=batch, num_graphs=valid.size(0)
    )


def edges(sparse: SparseTokenGraph) -> dict[tuple[int, int], float]:
    """An edge list as ``{(source, target): value}``."""
    return {(int(s), int(t)): float(v) for (s, t), v in zip(sparse.edge_index.T, sparse.edge_value)}


def pair_values(valid: Tensor, values: Tensor) -> dict[tuple[int, int], float]:
    """``values`` ``(B, L, L)`` at every valid token pair, keyed as :func:`to_sparse` keys edges."""
    pair = valid.unsqueeze(2) & valid.unsqueeze(1)  # (B, L, L)
    everything = TokenGraph(valid=valid, adjacency=pair, weight=values.double(), binary=False)
    return {key: value for key, value in zip(edges(to_sparse(everything)).keys(), values[pair].tolist())}


def assert_same_edges(
    got: dict[tuple[int, int], float],
    expected: dict[tuple[int, int], float],
    similarity: dict[tuple[int, int], float],
    tau: float,
    limit: dict[tuple[int, int], float],
) -> None:
    """The same edges, except pairs whose similarity lies within their ``limit`` of ``tau`` (either
    answer is right there), carrying values within it. ``similarity``, ``limit``: every valid pair's."""
    clear = {pair for pair, value in similarity.items() if abs(value - tau) > limit[pair]}
    assert got.keys() & clear == expected.keys() & clear
    assert got.keys() <= similarity.keys()  # never a pair across sequences or with padding
    for pair in got.keys() & expected.keys():
        assert abs(got[pair] - expected[pair]) <= limit[pair], (pair, got[pair], expected[pair])


def dense_states(gnn: TokenGNN, x: Tensor, graph: TokenGraph) -> Tensor:
    """The concatenated refined states of the dense path, ``(B, L, D)`` (or ``(N, D)`` on a packed graph)."""
    return torch.cat(gnn.forward_dense_parts(x, graph), dim=-1)
