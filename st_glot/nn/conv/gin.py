"""Graph isomorphism layers (GIN, GINE) over token graphs, dense and sparse.

GIN: Xu et al., "How Powerful are Graph Neural Networks?" (ICLR 2019);
GINE: Hu et al., "Strategies for Pre-training Graph Neural Networks" (ICLR
2020). In the form of torch-geometric's ``GINConv`` / ``GINEConv(edge_dim=1)``
with ``eps = 0``:

.. math::
    \\text{GIN:}\\quad x'_i = \\mathrm{MLP}\\big((1+\\epsilon) x_i + \\sum_{j \\in N(i)} x_j\\big)

    \\text{GINE:}\\quad x'_i = \\mathrm{MLP}\\big((1+\\epsilon) x_i
        + \\sum_{j \\in N(i)} \\mathrm{ReLU}(x_j + w\\, e_{ij} + c)\\big)

with ``MLP = Linear(in, out) → ReLU → Linear(out, out)``. ``N(i)`` is the token
graph as built, diagonal included, so a token with ``S_ii > tau`` is also its
own neighbour. GIN ignores edge values; GINE adds them to each message.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.nn import GINConv, GINEConv

from st_glot.nn.graph import TokenGraph

#: Upper bound on the elements of one ``(B, rows, L, d)`` GINE message block.
GINE_BLOCK_ELEMENTS = 1 << 24


def _mlp(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_channels, out_channels), nn.ReLU(), nn.Linear(out_channels, out_channels))


class TokenGINConv(GINConv):
    """``GINConv`` with a batched dense forward over a ``(B, L, L)`` token graph.

    Args:
        in_channels: width of the input token states.
        out_channels: width of the output token states.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(_mlp(in_channels, out_channels))
        self.in_channels, self.out_channels = in_channels, out_channels

    def forward_sparse(self, x: Tensor, edge_index: Tensor, edge_value: Tensor) -> Tensor:
        """PyG path; ``edge_value`` is unused by GIN."""
        return self(x, edge_index)

    def forward_dense(self, x: Tensor, graph: TokenGraph) -> Tensor:
        """Dense path: ``x`` is ``(B, L, in)`` or, packed, ``(N, in)``; returns ``out`` in the same layout."""
        aggregated = graph.nodes(graph.adjacency.to(x.dtype) @ graph.padded(x))  # (B, L, in) or (N, in)
        return self.nn((1 + self.eps) * x + aggregated)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.in_channels}, {self.out_channels})"


class TokenGINEConv(GINEConv):
    """``GINEConv(edge_dim=1)`` with a batched dense forward over a token graph.

    With binary edges every message from ``j`` is the same, so the dense path is
    one matmul; with cosine edges messages depend on ``(i, j)`` and are summed in
    row blocks of at most :data:`GINE_BLOCK_ELEMENTS` elements.

    Args:
        in_channels: width of the input token states.
        out_channels: width of the output token states.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(_mlp(in_channels, out_channels), edge_dim=1)
        self.in_channels, self.out_channels = in_channels, out_channels

    def forward_sparse(self, x: Tensor, edge_index: Tensor, edge_value: Tensor) -> Tensor:
        """PyG path: ``x`` is ``(N, in)``, ``edge_index`` ``(2, E)``, ``edge_value`` ``(E,)``."""
        return self(x, edge_index, edge_value.unsqueeze(-1))

    def forward_dense(self, x: Tensor, graph: TokenGraph) -> Tensor:
        """Dense path: ``x`` is ``(B, L, in)`` or, packed, ``(N, in)``; returns ``out`` in the same layout."""
        nodes, x = x, graph.padded(x)  # x: (B, L, in)
        B, L, d = x.shape
        slope = self.lin.weight[:, 0]  # (in,)
        adjacency = graph.adjacency.to(x.dtype)  # (B, L, L)
        if graph.binary:
            aggregated = adjacency @ torch.relu(x + slope + self.lin.bias)  # (B, L, in)
        else:
            rows = max(1, GINE_BLOCK_ELEMENTS // max(1, B * L * d))
            blocks = []
            for start in range(0, L, rows):
                value = graph.weight[:, start : start + rows].to(x.dtype)  # (B, r, L)
                message = torch.relu(x.unsqueeze(1) + value.unsqueeze(-1) * slope + self.lin.bias)  # (B, r, L, in)
                mask = adjacency[:, start : start + rows].unsqueeze(-1)  # (B, r, L, 1)
                blocks.append((message * mask).sum(dim=2))  # (B, r, in)
            aggregated = torch.cat(blocks, dim=1)  # (B, L, in)
        return self.nn((1 + self.eps) * nodes + graph.nodes(aggregated))

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.in_channels}, {self.out_channels})"
