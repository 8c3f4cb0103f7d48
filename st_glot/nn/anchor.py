"""Optional last step of GLOT: keep an untrained pooling of the backbone's states beside the readout's vector.

The *anchor* ``a`` is the state of the last valid token (on a decoder reading PromptEOL's
template, the strongest pooling without training; Jiang et al., 2023) or the mean of the
valid tokens, standardised per dimension with the mean and variance of the anchors seen in
training (:class:`~st_glot.nn.norms.TokenRunningNorm`; raw decoder states share one
dominant direction, so their cosines barely vary). The readout's vector ``z`` and the
standardised anchor ``â`` are scaled to unit length and concatenated with weights
``√(1 − w)`` and ``√w``:

.. math::
    z' = \\big[\\sqrt{1 - w}\\; z / \\lVert z \\rVert,\\; \\sqrt{w}\\; \\hat a / \\lVert \\hat a \\rVert\\big],
    \\qquad \\cos(z'_1, z'_2) = (1 - w) \\cos(z_1, z_2) + w \\cos(\\hat a_1, \\hat a_2),

so the cosine of two texts is a fixed convex mix of GLOT's cosine and the anchor's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from st_glot.nn.norms import TokenRunningNorm


def anchor_pool(states: Tensor, valid: Tensor, anchor: str) -> Tensor:
    """The untrained pooling ``anchor`` (``"last"`` or ``"mean"``) of ``(B, L, d)`` states → ``(B, d)`` fp32.

    ``"last"`` takes the last valid position (right or left padding alike), ``"mean"`` the mean
    of the valid tokens; a row without valid tokens gives 0. ``valid`` is the ``(B, L)`` bool mask.
    """
    states = states.float()
    if anchor == "last":
        positions = torch.arange(valid.size(1), device=valid.device).expand_as(valid)  # (B, L)
        last = torch.where(valid, positions, -1).amax(dim=1)  # (B,), -1 for an empty row
        picked = states[torch.arange(states.size(0), device=states.device), last.clamp(min=0)]  # (B, d)
        return picked * (last >= 0).unsqueeze(-1)
    weights = valid.float()  # (B, L)
    return (weights.unsqueeze(-1) * states).sum(1) / weights.sum(1, keepdim=True).clamp(min=1)  # (B, d)


class AnchorMix(nn.Module):
    """``[√(1 − w) z/‖z‖, √w â/‖â‖]``: the readout's vector beside the standardised anchor.

    Args:
        num_features: width ``d`` of the backbone's token states.
        anchor: ``"last"`` or ``"mean"`` (:func:`anchor_pool`).
        weight: the anchor's share ``w`` of the cosine, in ``[0, 1]``.
    """

    def __init__(self, num_features: int, anchor: str, weight: float) -> None:
        super().__init__()
        self.anchor = anchor
        self.weight = float(weight)
        self.norm = TokenRunningNorm(num_features)

    def reset_parameters(self) -> None:
        self.norm.reset_parameters()

    def forward(self, z: Tensor, states: Tensor, valid: Tensor) -> Tensor:
        """``z`` ``(B, D)``, the backbone's states ``(B, L, d)`` and mask ``(B, L)`` → ``(B, D + d)`` in ``z``'s dtype."""
        a = self.norm.normalize_tokens(anchor_pool(states, valid, self.anchor))  # (B, d) fp32
        parts = ((1.0 - self.weight) ** 0.5 * F.normalize(z, dim=-1), self.weight**0.5 * F.normalize(a, dim=-1))
        return torch.cat([parts[0], parts[1].to(z.dtype)], dim=-1)  # (B, D + d)

    def extra_repr(self) -> str:
        return f"anchor={self.anchor}, weight={self.weight}"
