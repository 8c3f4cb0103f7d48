"""Per-dimension standardisation of token states with statistics over every training token.

The ``input_norm="running"`` option of :class:`st_glot.GLOTPooling`. Decoder LLMs' token
states carry a few dimensions tens of times larger than the rest; the
per-text ``"standardize"`` of :func:`st_glot.nn.graph.sequence_normalize` puts them
on one scale but also removes each text's mean token, which is what sentence
level tasks read. ``"running"`` rescales every dimension with the mean and
variance of all valid tokens seen in training, so differences between texts
survive.

The statistics are those of all training tokens, not of each batch as in batch
normalisation: batches grouped by length (``fit(group_by_length=True)``) hold
mostly one class where length follows the label, and per-batch statistics would
then differ by label in training but not at inference. With a frozen backbone the
token distribution does not drift, so one set of statistics, accumulated exactly,
serves training and inference alike.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class TokenRunningNorm(nn.Module):
    r"""Standardisation of the valid tokens of a padded batch, without affine parameters.

    .. math::
        \hat{x}_{b,i} = \frac{x_{b,i} - \mu}{\sqrt{\sigma^2 + \epsilon}}

    per dimension, with :math:`\mu, \sigma^2` the mean and population variance of
    every valid token of every training batch so far, the current one included.
    A training batch of :math:`m` tokens with mean :math:`\mu_b` and variance
    :math:`\sigma_b^2` is merged into the :math:`n` tokens seen before exactly
    (Chan, Golub and LeVeque, 1979):

    .. math::
        \mu \leftarrow \mu + \tfrac{m}{n+m}\,\delta, \quad
        \sigma^2 \leftarrow \tfrac{n\,\sigma^2 + m\,\sigma_b^2}{n+m} + \tfrac{n\,m}{(n+m)^2}\,\delta^2, \quad
        \delta = \mu_b - \mu.

    Evaluation uses the statistics unchanged; before any training they are
    :math:`\mu = 0, \sigma^2 = 1`. The statistics are constants to autograd.

    Args:
        num_features: width ``d`` of the token states.
        eps: added to the variance.
    """

    def __init__(self, num_features: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("num_tokens", torch.zeros((), dtype=torch.long))

    def reset_parameters(self) -> None:
        self.running_mean.zero_()
        self.running_var.fill_(1.0)
        self.num_tokens.zero_()

    @torch.no_grad()
    def update(self, tokens: Tensor) -> None:
        """Merge ``(N, d)`` fp32 tokens into the statistics (no host sync: the count stays a tensor)."""
        count = tokens.size(0)
        weight = count / (self.num_tokens + count)  # () m / (n + m)
        batch_mean = tokens.mean(dim=0)  # (d,)
        batch_var = (tokens - batch_mean).square().mean(dim=0)  # (d,); two passes: faster than torch.var_mean on CPU
        delta = batch_mean - self.running_mean  # (d,)
        self.running_var.mul_(1 - weight).add_(batch_var * weight + delta.square() * (weight * (1 - weight)))
        self.running_mean.add_(delta * weight)
        self.num_tokens.add_(count)

    def forward(self, x: Tensor, valid: Tensor) -> Tensor:
        """``(B, L, d)`` states and ``(B, L)`` mask → ``(B, L, d)`` fp32, padding 0."""
        valid = valid.bool()
        out = torch.zeros(x.shape, dtype=torch.float32, device=x.device)  # (B, L, d)
        out[valid] = self.normalize_tokens(x[valid])
        return out

    def normalize_tokens(self, tokens: Tensor) -> Tensor:
        """``(N, d)`` valid tokens → ``(N, d)`` fp32 standardised; in training they are merged into the statistics first."""
        tokens = tokens.float()
        if self.training and tokens.size(0):
            self.update(tokens)
        return (tokens - self.running_mean) * torch.rsqrt(self.running_var + self.eps)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.num_features}, tokens_seen={self.num_tokens.item()})"
