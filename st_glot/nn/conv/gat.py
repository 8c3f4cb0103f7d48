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
from torch_geometric.utils import add_self_loops, remove_self_loops, softmax

from st_glot.nn.graph import TokenGraph


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
        """Edge-list path: ``x`` is ``(N, in)``, ``edge_index`` ``(2, E)``, ``edge_value`` ``(E,)``.

        The same function as ``GATConv.forward`` (torch-geometric's self-loop and
        softmax utilities), but per edge only the ``(E, H)`` attention scalars are
        stored: neighbours are summed by :class:`EdgeWeightedSum` instead of
        gathering an ``(E, H, C)`` message tensor, so memory grows as ``O(E H + N H C)``.
        """
        N = x.size(0)
        H, C = self.heads, self.out_channels
        edge_index, edge_value = remove_self_loops(edge_index, edge_value)
        edge_index, edge_value = add_self_loops(edge_index, edge_value, fill_value=self.fill_value, num_nodes=N)
        source, target = edge_index  # (E,) each
        h = self.lin(x).view(N, H, C)  # (N, H, C)
        score_src = (h * self.att_src).sum(-1)  # (N, H)
        score_dst = (h * self.att_dst).sum(-1)  # (N, H)
        edge_gain = (self.lin_edge.weight.view(H, C) * self.att_edge.view(H, C)).sum(-1)  # (H,)
        logits = score_src[source] + score_dst[target] + edge_value.unsqueeze(-1) * edge_gain  # (E, H)
        alpha = softmax(F.leaky_relu(logits, self.negative_slope), target, num_nodes=N)  # (E, H)
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        out = EdgeWeightedSum.apply(alpha, h, source, target)  # (N, H, C)
        return out.mean(dim=1) + self.bias  # (N, C)

    def forward_dense(self, x: Tensor, graph: TokenGraph) -> Tensor:
        """Dense path: ``x`` is ``(B, L, in)``, or ``(N, in)`` valid tokens when the
        graph is packed (:attr:`TokenGraph.packing`); returns ``out`` in the same layout.

        The self-loop values and the neighbour mask depend only on the graph, so
        they are computed once per batch (:func:`gat_edge_terms`) and shared by
        every layer and head; per layer the work is one ``(N, in) × (in, H C)``
        matmul (``N = B L`` unpacked), ``O(H B L^2)`` elementwise logits and one
        ``(L, L) × (L, C)`` matmul per padded row and head.
        """
        B, L = graph.valid.shape
        H, C = self.heads, self.out_channels
        value, bias = graph.derived("gat_edge_terms", gat_edge_terms)  # (B, L, L) each
        h = self.lin(x).view(-1, H, C)  # (B L or N, H, C)
        attention = torch.cat([self.att_src, self.att_dst]).permute(1, 2, 0)  # (H, C, 2)
        scores = graph.padded((h.transpose(0, 1) @ attention).transpose(0, 1)).view(B, L, H, 2)  # a_sᵀ h, a_tᵀ h
        score_src, score_dst = scores.permute(3, 0, 2, 1)  # (B, H, L) each
        h = graph.padded(h).view(B, L, H, C)  # (B, L, H, C)
        # a_e^T W_e e for a 1-d edge value is e times one scalar per head.
        edge_gain = (self.lin_edge.weight.view(H, C) * self.att_edge.view(H, C)).sum(-1)  # (H,)
        logits = torch.addcmul(
            score_dst.unsqueeze(-1) + score_src.unsqueeze(-2),
            value.unsqueeze(1),
            edge_gain.view(1, H, 1, 1),
        )  # (B, H, L, L)
        logits = F.leaky_relu(logits.float(), self.negative_slope) + bias.unsqueeze(1)
        alpha = torch.softmax(logits, dim=-1).to(h.dtype)  # (B, H, L, L)
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        if H == 1:
            out = alpha.squeeze(1) @ h.squeeze(2)  # (B, L, C)
        else:
            out = (alpha @ h.transpose(1, 2)).mean(dim=1)  # (B, H, L, C) → (B, L, C)
        return graph.nodes(out) + self.bias  # (B, L, C) or (N, C)


def gat_edge_terms(graph: TokenGraph) -> tuple[Tensor, Tensor]:
    """Edge values with GATConv's self-loops, and the additive attention mask.

    Off-diagonal edges keep their value; every token gets a self-loop whose value
    is the mean of its other incoming edge values (0 without any), as
    ``add_self_loops(fill_value="mean")`` does.

    Returns:
        ``value`` ``(B, L, L)`` fp32 and ``bias`` ``(B, L, L)`` fp32, 0 where
        ``j`` is a neighbour of ``i`` (self included) and ``-inf`` elsewhere.
    """
    L = graph.adjacency.size(-1)
    eye = torch.eye(L, dtype=torch.bool, device=graph.adjacency.device)  # (L, L)
    off_diag = graph.adjacency & ~eye  # (B, L, L)
    value = graph.weight.masked_fill(~off_diag, 0.0)  # (B, L, L)
    loop_value = value.sum(-1) / off_diag.sum(-1).clamp_min(1)  # (B, L): mean of incoming values
    value.diagonal(dim1=1, dim2=2).copy_(loop_value)
    bias = torch.zeros_like(value).masked_fill_(~(off_diag | eye), float("-inf"))  # (B, L, L)
    return value, bias


#: Edges per chunk when :class:`EdgeWeightedSum` computes the gradient of the edge weights.
EDGE_CHUNK = 1 << 18


class EdgeWeightedSum(torch.autograd.Function):
    """``out[i, k] = Σ_{e: target_e = i} alpha[e, k] · h[source_e, k]`` without an ``(E, H, C)`` tensor.

    Forward and the gradient for ``h`` are sparse-matrix products
    (``A_k h_k`` and ``A_kᵀ g_k`` with ``A_k[i, j] = alpha[e, k]``); the gradient
    for ``alpha``, ``<g[target_e, k], h[source_e, k]>``, is computed in chunks of
    :data:`EDGE_CHUNK` edges. Shapes: ``alpha`` ``(E, H)``, ``h`` ``(N, H, C)``,
    ``source``/``target`` ``(E,)``; output ``(N, H, C)``.
    """

    @staticmethod
    def forward(ctx, alpha: Tensor, h: Tensor, source: Tensor, target: Tensor) -> Tensor:
        ctx.save_for_backward(alpha, h, source, target)
        return _sparse_product(alpha, h, target, source)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None, None]:
        alpha, h, source, target = ctx.saved_tensors
        grad_alpha = grad_h = None
        if ctx.needs_input_grad[0]:
            grad_alpha = torch.cat(
                [
                    (grad[target[start : start + EDGE_CHUNK]] * h[source[start : start + EDGE_CHUNK]]).sum(-1)
                    for start in range(0, max(1, source.numel()), EDGE_CHUNK)
                ]
            )  # (E, H)
        if ctx.needs_input_grad[1]:
            grad_h = _sparse_product(alpha, grad, source, target)  # (N, H, C)
        return grad_alpha, grad_h, None, None


def _sparse_product(alpha: Tensor, h: Tensor, rows: Tensor, cols: Tensor) -> Tensor:
    """``out[:, k] = A_k h[:, k]`` with ``A_k[rows_e, cols_e] = alpha[e, k]``; ``(N, H, C)`` in and out."""
    N = h.size(0)
    heads = []
    for k in range(h.size(1)):
        matrix = torch.sparse_coo_tensor(torch.stack([rows, cols]), alpha[:, k], (N, N)).coalesce()
        heads.append(torch.sparse.mm(matrix, h[:, k]))  # (N, C)
    return torch.stack(heads, dim=1)
