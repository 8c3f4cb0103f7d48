"""Graph convolution (GCN) over token graphs, dense and sparse.

Kipf & Welling, "Semi-Supervised Classification with Graph Convolutional
Networks" (ICLR 2017), in the form of torch-geometric's ``GCNConv``:

.. math::
    x' = \\hat D^{-1/2} \\hat A \\hat D^{-1/2} X W + b, \\qquad
    \\hat D_{ii} = \\sum_j \\hat A_{ij},

where ``\\hat A`` is the weighted adjacency with a self-loop of weight 1 added to
every token that has none (an existing self-loop keeps its weight, as in
``add_remaining_self_loops``).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.nn import GCNConv

from st_glot.nn.graph import TokenGraph


class TokenGCNConv(GCNConv):
    """``GCNConv`` with a batched dense forward over a ``(B, L, L)`` token graph.

    Args:
        in_channels: width of the input token states.
        out_channels: width of the output token states.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(in_channels, out_channels)

    def forward_sparse(self, x: Tensor, edge_index: Tensor, edge_value: Tensor) -> Tensor:
        """PyG path: ``x`` is ``(N, in)``, ``edge_index`` ``(2, E)``, ``edge_value`` ``(E,)``."""
        return self(x, edge_index, edge_value)

    def forward_dense(self, x: Tensor, graph: TokenGraph) -> Tensor:
        """Dense path: ``x`` is ``(B, L, in)`` or, packed, ``(N, in)``; returns ``out`` in the same layout."""
        L = graph.valid.size(1)
        eye = torch.eye(L, dtype=torch.bool, device=x.device)  # (L, L)
        has_loop = graph.adjacency.diagonal(dim1=1, dim2=2)  # (B, L)
        loop = torch.where(has_loop, graph.weight.diagonal(dim1=1, dim2=2), 1.0)  # (B, L)
        weight = graph.weight.masked_fill(eye, 0.0) + torch.diag_embed(loop)  # (B, L, L)
        deg_inv_sqrt = weight.sum(-1).pow(-0.5).masked_fill(weight.sum(-1) == 0, 0.0)  # (B, L)
        norm = deg_inv_sqrt.unsqueeze(-1) * weight * deg_inv_sqrt.unsqueeze(-2)  # (B, L, L)
        h = graph.padded(self.lin(x))  # (B, L, out)
        return graph.nodes(norm.to(h.dtype) @ h) + self.bias
