"""Graph attention (GAT) over token graphs, dense and sparse.

Velickovic et al., "Graph Attention Networks" (ICLR 2018), in the form of
torch-geometric's ``GATConv(in, out, heads, edge_dim=1)`` with its default
self-loops. For target token ``i``, neighbours ``N(i)`` (self included) and a
scalar edge value ``e_ij``:

.. math::
    h_j = W x_j, \\qquad
    \\alpha_{ij} = \\mathrm{softmax}_{j \\in N(i)}\\big(\\mathrm{LeakyReLU}_{0.2}(
        a_s^\\top h_j + a_t^\\top h_i + a_e^\\top W_e e_{ij})\\big), \\qquad
    x'_i = \\sum_{j \\in N(i)} \\alpha_{ij} h_j + b.

As in ``GATConv``, existing self-loops are replaced by new ones whose edge value
is the mean of the node's other incoming edge values (0 when it has none).
With several heads the outputs are averaged (``concat=False``), so the width
stays ``out_channels``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn import GATConv

from st_glot.graph import TokenGraph


class TokenGATConv(GATConv):
    """``GATConv`` with a batched dense forward over a ``(B, L, L)`` token graph.

    The parameters are exactly those of :class:`torch_geometric.nn.GATConv`, so
    :meth:`forward_sparse` (PyG's own kernel) and :meth:`forward_dense` compute
    the same function from the same weights.

    Args:
        in_channels: width of the input token states.
        out_channels: width of the output token states.
        heads: number of attention heads (averaged).
    """

    def __init__(self, in_channels: int, out_channels: int, heads: int = 1) -> None:
        super().__init__(in_channels, out_channels, heads=heads, concat=False, edge_dim=1)

    def forward_sparse(self, x: Tensor, edge_index: Tensor, edge_value: Tensor) -> Tensor:
        """PyG path: ``x`` is ``(N, in)``, ``edge_index`` ``(2, E)``, ``edge_value`` ``(E,)``."""
        return self(x, edge_index, edge_value)

    def forward_dense(self, x: Tensor, graph: TokenGraph) -> Tensor:
        """Dense path: ``x`` is ``(B, L, in)``; returns ``(B, L, out)``."""
        B, L, _ = x.shape
        H, C = self.heads, self.out_channels
        h = self.lin(x).view(B, L, H, C)  # (B, L, H, C)
        score_src = (h * self.att_src).sum(-1).transpose(1, 2)  # (B, H, L)
        score_dst = (h * self.att_dst).sum(-1).transpose(1, 2)  # (B, H, L)

        eye = torch.eye(L, dtype=torch.bool, device=x.device)  # (L, L)
        off_diag = graph.adjacency & ~eye  # (B, L, L)
        value = graph.weight.masked_fill(~off_diag, 0.0)  # (B, L, L)
        in_degree = off_diag.sum(-1)  # (B, L)
        loop_value = value.sum(-1) / in_degree.clamp_min(1)  # (B, L): mean of incoming values
        value = value + torch.diag_embed(loop_value)  # (B, L, L)
        neighbours = off_diag | eye  # (B, L, L); every token has its self-loop

        # a_e^T W_e e for a 1-d edge value is e times one scalar per head.
        edge_gain = (self.lin_edge.weight.view(H, C) * self.att_edge.view(H, C)).sum(-1)  # (H,)
        logits = (
            score_dst.unsqueeze(-1)
            + score_src.unsqueeze(-2)
            + value.unsqueeze(1) * edge_gain.view(1, H, 1, 1)
        )  # (B, H, L, L)
        logits = F.leaky_relu(logits.float(), self.negative_slope)
        logits = logits.masked_fill(~neighbours.unsqueeze(1), float("-inf"))
        alpha = torch.softmax(logits, dim=-1).to(h.dtype)  # (B, H, L, L)
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        out = alpha @ h.transpose(1, 2)  # (B, H, L, C)
        out = out.mean(dim=1)  # (B, L, C)
        return out + self.bias
