"""Per-dimension standardisation of token states with statistics over many texts.

An ``input_norm`` option of :class:`st_glot.GLOTPooling`. Decoder LLMs' token
states carry a few dimensions tens of times larger than the rest; the
per-text ``"standardize"`` of :func:`st_glot.graph.sequence_normalize` puts them
on one scale but also removes each text's mean token, which is what sentence
level tasks read. ``"batchnorm"`` rescales every dimension with statistics over
all valid tokens of a batch (running averages at inference), so differences
between texts survive.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class TokenBatchNorm(nn.Module):
    r"""Batch normalisation of the valid tokens of a padded batch, without affine parameters.

    .. math::
        \hat{x}_{b,i} = \frac{x_{b,i} - \mu}{\sqrt{\sigma^2 + \epsilon}}

    per dimension, with :math:`\mu, \sigma^2` the mean and (biased) variance over
    every valid token of the batch in training, and running averages
    :math:`\mu \leftarrow (1 - m)\mu + m\,\mu_{batch}` (unbiased variance, momentum
    :math:`m`) in evaluation, as :class:`torch.nn.BatchNorm1d`. A training batch with
    fewer than two valid tokens uses the running averages and leaves them unchanged.

    Args:
        num_features: width ``d`` of the token states.
        momentum: weight :math:`m` of the newest batch in the running averages.
        eps: added to the variance.
    """

    def __init__(self, num_features: int, momentum: float = 0.1, eps: float = 1e-5) -> None:
        super().__init__()
        self.num_features = num_features
        self.momentum = momentum
        self.eps = eps
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def reset_parameters(self) -> None:
        self.running_mean.zero_()
        self.running_var.fill_(1.0)

    def forward(self, x: Tensor, valid: Tensor) -> Tensor:
        """``(B, L, d)`` states and ``(B, L)`` mask → ``(B, L, d)`` fp32, padding 0."""
        valid = valid.bool()
        tokens = x[valid].float()  # (N, d)
        use_batch = self.training and tokens.size(0) > 1
        out = torch.zeros(x.shape, dtype=torch.float32, device=x.device)  # (B, L, d)
        out[valid] = F.batch_norm(tokens, self.running_mean, self.running_var, None, None, use_batch, self.momentum, self.eps)
        return out

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.num_features}, momentum={self.momentum})"
