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


def dense_states(gnn: TokenGNN, x: Tensor, graph: TokenGraph) -> Tensor:
    """The concatenated refined states of the dense path, ``(B, L, D)`` (or ``(N, D)`` on a packed graph)."""
    return torch.cat(gnn.forward_dense_parts(x, graph), dim=-1)
