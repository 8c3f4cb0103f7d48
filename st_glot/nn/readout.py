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

from st_glot.nn.inputs import PackedTokens


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

    def forward(
        self, u: Tensor | Sequence[Tensor], valid: Tensor, packing: PackedTokens | None = None
    ) -> tuple[Tensor, Tensor]:
        """Dense readout.

        Args:
            u: ``(B, L, D)`` token states, or their column blocks ``[(B, L, D_1), …]``
                with ``Σ D_k = D`` (as :meth:`TokenGNN.forward_dense_parts` gives);
                with ``packing``, the valid tokens' rows ``(N, D)`` or ``[(N, D_k), …]``,
                so the scorer costs ``Σ nᵢ`` rows. Blocks are scored as
                ``Σ_k U_k W_{1,k}^T``, the same map as on the concatenation, but no
                ``(·, D)`` copy is made and a block that needs no gradient (the
                frozen states ``X``) gets none.
            valid: ``(B, L)`` bool mask of real tokens.
            packing: the packing of ``u``'s rows, or None for padded blocks.

        Returns:
            ``z`` of shape ``(B, D)`` and the fp32 weights ``π`` of shape ``(B, L)``,
            zero on padding.
        """
        parts = [u] if isinstance(u, Tensor) else list(u)
        first, last = self.scorer[0], self.scorer[2]
        rows = parts[0].shape[:-1]
        # One split (its backward is one concatenation) rather than a slice per block (a zero-filled copy each).
        blocks = torch.split(first.weight, [part.size(-1) for part in parts], dim=1)  # [(S, D_k)]
        hidden = first.bias  # (S,), then (B L, S): each block accumulates in place into the GEMM output
        for part, block in zip(parts, blocks):
            hidden = torch.addmm(hidden, part.reshape(-1, part.size(-1)), block.T)  # (B L, S)
        scores = last(torch.tanh(hidden)).view(rows).float()  # (B, L) or (N,)
        if packing is None:
            scores = scores.masked_fill(~valid, float("-inf"))
        else:
            scores = packing.pad(scores, float("-inf"))  # (B, L)
        weights = torch.softmax(scores, dim=-1)  # (B, L)
        weights = torch.where(valid.any(dim=-1, keepdim=True), weights, 0.0)  # a row with no token pools to 0
        if packing is None:
            pick = weights.unsqueeze(1).to(parts[0].dtype)  # (B, 1, L)
            z = torch.cat([(pick @ part).squeeze(1) for part in parts], dim=-1)  # (B, D)
        else:
            pick = packing.pack(weights).unsqueeze(1).to(parts[0].dtype)  # (N, 1)
            z = torch.cat(
                [
                    part.new_zeros(valid.size(0), part.size(-1)).index_add(0, packing.batch, pick * part)
                    for part in parts
                ],
                dim=-1,
            )  # (B, D)
        return z, weights

    def forward_sparse(self, u: Tensor, batch: Tensor, num_graphs: int) -> tuple[Tensor, Tensor]:
        """Readout over a node list: ``u`` ``(N, D)``, ``batch`` ``(N,)`` → ``(B, D)``, ``(N,)``."""
        scores = self.scorer(u).squeeze(-1).float()  # (N,)
        weights = softmax(scores, batch, num_nodes=u.size(0), dim=0)  # (N,)
        z = scatter(weights.unsqueeze(-1).to(u.dtype) * u, batch, dim=0, dim_size=num_graphs, reduce="sum")
        return z, weights
