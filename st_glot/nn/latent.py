"""``LatentAttentionPooling``: NV-Embed's latent-attention pooling, a learned baseline beside GLOT.

Lee et al., "NV-Embed: Improved Techniques for Training LLMs as Generalist Embedding
Models" (ICLR 2025, arXiv 2405.17428), §3.2: the token states are the queries
``Q ∈ R^{l×d}`` of a cross-attention whose keys and values are one trainable latent
array ``K = V ∈ R^{r×d}`` (the "dictionary"), ``O = softmax(Q Kᵀ) V``, with ``r = 512``
latents and 8 heads; a regular MLP (two linear maps, GELU between) follows, then
mean pooling over the sequence. Where the paper is silent we follow the model NVIDIA
released (``LatentAttentionModel`` in the NV-Embed checkpoints' modelling code):
layer norms before the attention (on the tokens and on the latents) and before the
MLP, residual connections around both, bias-free query/key/value/output projections
and the usual ``1/√e`` scale. For token ``t`` with state ``x_t`` and latents
``c_1 … c_r``, per head ``k`` of width ``e``:

.. math::
    a_{t,k} = \\mathrm{softmax}_{s = 1..r}\\Big(
        \\frac{(W^q_k \\mathrm{LN}(x_t))^\\top W^k_k \\mathrm{LN}(c_s)}{\\sqrt{e}}\\Big), \\qquad
    o_t = W^o \\big[\\textstyle\\sum_s a_{t,k,s} W^v_k \\mathrm{LN}(c_s)\\big]_{k=1..H},

.. math::
    y_t = x_t + o_t, \\qquad
    u_t = y_t + W_2\\, \\mathrm{GELU}(W_1 \\mathrm{LN}(y_t) + b_1) + b_2, \\qquad
    z = \\frac{1}{n} \\sum_{t \\text{ valid}} u_t.

Every token attends to the same latents, so padding never enters a softmax; it is
left out of the mean, so it contributes nothing. Two choices differ from the
release: each head is ``e = d / H`` wide by default (standard multi-head attention;
the release makes every head ``d`` wide, ``H`` times the parameters), and the MLP is
the paper's GELU MLP (the release uses a gated GELU); both widths are options.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from st_glot.nn.inputs import padded_token_states
from st_glot.nn.serialization import SavableModule
from st_glot.utils.checks import check_int


class LatentAttentionPooling(SavableModule):
    """Latent-attention pooling of token states (NV-Embed), then the mean over the valid tokens.

    Args:
        embedding_dimension: width ``d`` of the backbone's token states (and of the output).
        num_latents: latents ``r`` in the trainable array (512 in the paper).
        heads: attention heads ``H`` (8 in the paper).
        head_dim: width ``e`` of each head; None: ``max(1, d // H)``.
        mlp_hidden: hidden width of the MLP; None: ``4 d``.

    Writes ``features["sentence_embedding"]`` ``(B, d)``.
    """

    config_keys = ["embedding_dimension", "num_latents", "heads", "head_dim", "mlp_hidden"]
    #: The pooling method's name (:data:`~st_glot.utils.choices.POOLINGS`), as in ``make_pooler("latent", ...)``.
    method_name = "latent"

    def __init__(
        self,
        embedding_dimension: int,
        num_latents: int = 512,
        heads: int = 8,
        head_dim: int | None = None,
        mlp_hidden: int | None = None,
    ) -> None:
        super().__init__()
        for name, value in (("embedding_dimension", embedding_dimension), ("num_latents", num_latents)):
            check_int(name, value, minimum=1)
        check_int("heads", heads, minimum=1)
        d = embedding_dimension
        head_dim = max(1, d // heads) if head_dim is None else head_dim
        mlp_hidden = 4 * d if mlp_hidden is None else mlp_hidden
        check_int("head_dim", head_dim, minimum=1)
        check_int("mlp_hidden", mlp_hidden, minimum=1)
        self.embedding_dimension = d
        self.num_latents = num_latents
        self.heads = heads
        self.head_dim = head_dim
        self.mlp_hidden = mlp_hidden
        inner = heads * head_dim
        self.latents = nn.Parameter(torch.empty(num_latents, d))
        self.query_norm = nn.LayerNorm(d)
        self.latent_norm = nn.LayerNorm(d)
        self.to_query = nn.Linear(d, inner, bias=False)
        self.to_key_value = nn.Linear(d, 2 * inner, bias=False)
        self.to_out = nn.Linear(inner, d, bias=False)
        self.mlp_norm = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, mlp_hidden), nn.GELU(), nn.Linear(mlp_hidden, d))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Latents from a standard normal (as in the release), the layers with PyTorch's defaults."""
        nn.init.normal_(self.latents)
        for layer in (self.query_norm, self.latent_norm, self.to_query, self.to_key_value, self.to_out, self.mlp_norm):
            layer.reset_parameters()
        for layer in (self.mlp[0], self.mlp[2]):
            layer.reset_parameters()

    def get_embedding_dimension(self) -> int:
        """Width ``d`` of the sentence embedding."""
        return self.embedding_dimension

    def token_states(self, x: Tensor) -> Tensor:
        """``u_t`` for each token: ``x`` ``(N, d)`` → ``(N, d)`` (tokens are independent of each other)."""
        H, e = self.heads, self.head_dim
        query = self.to_query(self.query_norm(x)).view(-1, H, e).transpose(0, 1)  # (H, N, e)
        key, value = self.to_key_value(self.latent_norm(self.latents)).chunk(2, dim=-1)  # (r, H e) each
        key = key.view(-1, H, e).transpose(0, 1)  # (H, r, e)
        value = value.view(-1, H, e).transpose(0, 1)  # (H, r, e)
        attended = F.scaled_dot_product_attention(query, key, value)  # (H, N, e): softmax over the r latents
        y = x + self.to_out(attended.transpose(0, 1).reshape(-1, H * e))  # (N, d)
        return y + self.mlp(self.mlp_norm(y))  # (N, d)

    def forward(self, features: dict[str, Tensor | Any], **kwargs) -> dict[str, Tensor | Any]:
        token_embeddings, valid = padded_token_states(
            features, self.embedding_dimension, "LatentAttentionPooling"
        )  # (B, L, d), (B, L)
        x = token_embeddings[valid].to(self.latents.dtype)  # (N, d): the valid tokens only
        sequence = valid.nonzero()[:, 0]  # (N,)
        u = self.token_states(x)  # (N, d)
        total = u.new_zeros(valid.size(0), u.size(-1)).index_add_(0, sequence, u)  # (B, d)
        count = valid.sum(dim=1, keepdim=True).clamp_min(1).to(u.dtype)  # (B, 1)
        features["sentence_embedding"] = total / count  # (B, d); a text without tokens gives 0
        return features

    def __repr__(self) -> str:
        return (
            f"LatentAttentionPooling({self.embedding_dimension}, latents={self.num_latents}, heads={self.heads}, "
            f"head_dim={self.head_dim}, mlp_hidden={self.mlp_hidden})"
        )
