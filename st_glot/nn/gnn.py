"""Step 2 of GLOT: the token GNN with jumping knowledge.

``K`` message-passing layers refine the token states, each followed by ReLU
(and dropout in training): ``U_k = ReLU(conv_k(U_{k-1}, G))``, ``U_0 = X``.
Jumping knowledge (Xu et al., ICML 2018) combines the layers per token:

- ``"cat"``: ``[X, U_1, …, U_K]``, width ``d + K·h`` (the paper's default);
- ``"max"`` / ``"mean"``: element-wise max / mean of ``U_1 … U_K``, width ``h``.

With ``K = 0`` the output is ``X`` itself (width ``d``) for every mode.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from st_glot.nn.conv import TokenGATConv, TokenGCNConv, TokenGINConv, TokenGINEConv
from st_glot.nn.graph import SparseTokenGraph, TokenGraph
from st_glot.utils.choices import GNNType, JKMode


def output_width(in_channels: int, hidden_dim: int, num_layers: int, jk: str) -> int:
    """Width of the refined token states for a given configuration."""
    if num_layers == 0:
        return in_channels
    return in_channels + num_layers * hidden_dim if jk == "cat" else hidden_dim


class TokenGNN(nn.Module):
    """A stack of token-graph conv layers followed by jumping knowledge.

    Args:
        in_channels: width ``d`` of the backbone's token states.
        hidden_dim: width ``h`` of each layer's output.
        num_layers: number of layers ``K`` (0 allowed).
        gnn: layer type, one of :data:`~st_glot.utils.choices.GNN_TYPES`.
        jk: jumping-knowledge mode, one of :data:`~st_glot.utils.choices.JK_MODES`.
        heads: attention heads for ``"gat"`` (averaged).
        dropout: dropout probability on each layer's output during training.
    """

    def __init__(
        self,
        in_channels: int,
        hidden_dim: int,
        num_layers: int,
        gnn: GNNType = "gat",
        jk: JKMode = "cat",
        heads: int = 1,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.jk = jk
        self.dropout = dropout
        widths = [in_channels] + [hidden_dim] * num_layers
        self.convs = nn.ModuleList(_make_conv(gnn, widths[k], widths[k + 1], heads) for k in range(num_layers))
        self.out_channels = output_width(in_channels, hidden_dim, num_layers, jk)

    def reset_parameters(self) -> None:
        for conv in self.convs:
            conv.reset_parameters()

    def forward_dense_parts(self, x: Tensor, graph: TokenGraph) -> list[Tensor]:
        """The refined states ``(B, L, D)`` over a dense graph, as column blocks.

        ``x`` is ``(B, L, d)``, or the valid tokens' rows ``(N, d)`` when the graph
        is packed (:attr:`TokenGraph.packing`); the blocks come in the same layout.
        For ``jk="cat"`` the blocks are ``[X (·, d), U_1 (·, h), …]``, so a
        consumer can apply a linear map block by block without copying them into
        one ``(·, d + K h)`` tensor; otherwise a single ``(·, D)`` block.
        """
        states = [x]
        for conv in self.convs:
            states.append(self._activate(conv.forward_dense(states[-1], graph)))
        if self.jk == "cat" or len(states) == 1:
            return states
        return [self._jump(states)]

    def forward_sparse(self, x: Tensor, graph: SparseTokenGraph) -> Tensor:
        """``x``: ``(N, d)`` valid tokens → ``(N, D)``, through PyG's kernels."""
        states = [x]
        for conv in self.convs:
            states.append(self._activate(conv.forward_sparse(states[-1], graph.edge_index, graph.edge_value)))
        return self._jump(states)

    def _activate(self, h: Tensor) -> Tensor:
        return F.dropout(torch.relu(h), p=self.dropout, training=self.training)

    def _jump(self, states: list[Tensor]) -> Tensor:
        if len(states) == 1:
            return states[0]
        if self.jk == "cat":
            return torch.cat(states, dim=-1)
        layers = torch.stack(states[1:], dim=-1)  # (..., h, K)
        return layers.amax(dim=-1) if self.jk == "max" else layers.mean(dim=-1)


def _make_conv(gnn: str, in_channels: int, out_channels: int, heads: int) -> nn.Module:
    if gnn == "gat":
        return TokenGATConv(in_channels, out_channels, heads=heads)
    layer = {"gcn": TokenGCNConv, "gin": TokenGINConv, "gine": TokenGINEConv}[gnn]
    return layer(in_channels, out_channels)
