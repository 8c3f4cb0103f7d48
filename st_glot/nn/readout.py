"""Step 3 of GLOT: attention readout of the refined tokens into one vector.

A scorer ``s(u) = w_2^T tanh(W_1 u + b_1) + b_2`` rates every token, the
scores are normalised over the valid tokens of each sequence, and the sentence
vector is the weighted sum:

.. math::
    \\pi_i = \\frac{\\exp s(u_i)}{\\sum_{j \\text{ valid}} \\exp s(u_j)}, \\qquad
    z = \\sum_i \\pi_i u_i.

The weights ``π`` are returned too: they say which tokens made the vector.
Applied to raw token states with a 128-wide scorer this is AdaPool.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch_geometric.utils import scatter, softmax


class AttentionReadout(nn.Module):
    """Learned softmax-weighted sum over tokens.

    Args:
        in_channels: width ``D`` of the token states to pool.
        scorer_hidden: width of the scorer's hidden layer.
    """

    def __init__(self, in_channels: int, scorer_hidden: int) -> None:
        super().__init__()
        self.scorer = nn.Sequential(nn.Linear(in_channels, scorer_hidden), nn.Tanh(), nn.Linear(scorer_hidden, 1))

    def reset_parameters(self) -> None:
        for layer in (self.scorer[0], self.scorer[2]):
            layer.reset_parameters()

    def forward(self, u: Tensor | Sequence[Tensor], valid: Tensor) -> tuple[Tensor, Tensor]:
        """Dense readout.

        Args:
            u: ``(B, L, D)`` token states, or their column blocks ``[(B, L, D_1), …]``
                with ``Σ D_k = D`` (as :meth:`TokenGNN.forward_dense_parts` gives).
                Blocks are scored as ``Σ_k U_k W_{1,k}^T``, the same map as on the
                concatenation, but no ``(B, L, D)`` copy is made and a block that
                needs no gradient (the frozen states ``X``) gets none.
            valid: ``(B, L)`` bool mask of real tokens.

        Returns:
            ``z`` of shape ``(B, D)`` and the fp32 weights ``π`` of shape ``(B, L)``,
            zero on padding.
        """
        parts = [u] if isinstance(u, Tensor) else list(u)
        first, last = self.scorer[0], self.scorer[2]
        bounds = [0]
        for part in parts:
            bounds.append(bounds[-1] + part.size(-1))
        rows = parts[0].shape[:-1]
        hidden = first.bias  # (S,), then (B L, S): each block accumulates in place into the GEMM output
        for k, part in enumerate(parts):
            block = first.weight[:, bounds[k] : bounds[k + 1]]  # (S, D_k)
            hidden = torch.addmm(hidden, part.reshape(-1, part.size(-1)), block.T)  # (B L, S)
        scores = last(torch.tanh(hidden)).view(rows).float()  # (B, L)
        scores = scores.masked_fill(~valid, float("-inf"))
        weights = torch.softmax(scores, dim=-1)  # (B, L)
        weights = torch.where(valid.any(dim=-1, keepdim=True), weights, 0.0)  # a row with no token pools to 0
        pick = weights.unsqueeze(1).to(parts[0].dtype)  # (B, 1, L)
        z = torch.cat([(pick @ part).squeeze(1) for part in parts], dim=-1)  # (B, D)
        return z, weights

    def forward_sparse(self, u: Tensor, batch: Tensor, num_graphs: int) -> tuple[Tensor, Tensor]:
        """Readout over a node list: ``u`` ``(N, D)``, ``batch`` ``(N,)`` → ``(B, D)``, ``(N,)``."""
        scores = self.scorer(u).squeeze(-1).float()  # (N,)
        weights = softmax(scores, batch, num_nodes=u.size(0), dim=0)  # (N,)
        z = scatter(weights.unsqueeze(-1).to(u.dtype) * u, batch, dim=0, dim_size=num_graphs, reduce="sum")
        return z, weights
