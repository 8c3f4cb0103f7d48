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
    def update(self, tokens: Tensor, valid: Tensor | None = None) -> None:
        """Merge fp32 tokens ``(..., d)`` into the statistics: those where ``valid`` ``(...)`` is True, or all.

        No host sync and no shape that depends on the mask's values (so it compiles into one
        graph): the count stays a tensor, and without any token the merge weight
        ``m / max(n + m, 1)`` is 0, which leaves the statistics unchanged.
        """
        tokens = tokens.reshape(-1, tokens.size(-1))  # (M, d)
        keep = valid.reshape(-1, 1) if valid is not None else tokens.new_ones((tokens.size(0), 1), dtype=torch.bool)
        count = keep.sum()  # () m
        weight = count / (self.num_tokens + count).clamp_min(1)  # () m / (n + m)
        # two masked passes, faster than var_mean on CPU; padding adds nothing, whatever it holds
        batch_mean = tokens.masked_fill(~keep, 0.0).sum(dim=0) / count.clamp_min(1)  # (d,)
        batch_var = (tokens - batch_mean).masked_fill(~keep, 0.0).square().sum(dim=0) / count.clamp_min(1)  # (d,)
        delta = batch_mean - self.running_mean  # (d,)
        self.running_var.mul_(1 - weight).add_(batch_var * weight + delta.square() * (weight * (1 - weight)))
        self.running_mean.add_(delta * weight)
        self.num_tokens.add_(count)

    def forward(self, x: Tensor, valid: Tensor) -> Tensor:
        """``(B, L, d)`` states and ``(B, L)`` mask → ``(B, L, d)`` fp32, padding 0."""
        valid = valid.bool()
        if self.training:
            self.update(x.float(), valid)
        return self._standardize(x).masked_fill(~valid.unsqueeze(-1), 0.0)  # (B, L, d)

    def normalize_tokens(self, tokens: Tensor) -> Tensor:
        """``(N, d)`` valid tokens → ``(N, d)`` fp32 standardised; in training they are merged into the statistics first."""
        if self.training:
            self.update(tokens.float())
        return self._standardize(tokens)

    def _standardize(self, x: Tensor) -> Tensor:
        """``(..., d)`` → ``(..., d)`` fp32, ``(x − μ) / √(σ² + ε)``."""
        return (x.float() - self.running_mean) * torch.rsqrt(self.running_var + self.eps)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.num_features}, tokens_seen={self.num_tokens.item()})"
