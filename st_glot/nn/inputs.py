"""Reading token states out of a sentence-transformers ``features`` dict.

The ``Transformer`` module hands poolers either padded states ``(B, L, d)`` with
an ``attention_mask``, or, under flash-attention unpadding, one flat sequence
``(1, total, d)`` with boundaries in ``cu_seq_lens_q``. Poolers here always work
on the padded form; this module produces it and rejects states that would only
yield garbage.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch_geometric.utils import to_dense_batch


def padded_token_states(
    features: dict[str, Tensor | Any], embedding_dimension: int, owner: str
) -> tuple[Tensor, Tensor]:
    """Token states ``(B, L, d)``, zero on padding, and the valid-token mask ``(B, L)`` (bool).

    Args:
        features: the dict passed between sentence-transformers modules.
        embedding_dimension: the width ``d`` the pooler was built for.
        owner: the pooler's name, for error messages.

    Raises:
        ValueError: the states have another width, or NaN/inf on a valid token.
    """
    token_embeddings = features["token_embeddings"]
    if "cu_seq_lens_q" in features:
        bounds = features["cu_seq_lens_q"]  # (B + 1,)
        lengths = bounds[1:] - bounds[:-1]  # (B,)
        batch = torch.repeat_interleave(torch.arange(lengths.numel(), device=bounds.device), lengths)
        token_embeddings, valid = to_dense_batch(token_embeddings.squeeze(0), batch, batch_size=lengths.numel())
    else:
        mask = features.get("attention_mask")
        if mask is not None and mask.shape == token_embeddings.shape[:2]:
            valid = mask.bool()
        else:
            valid = torch.ones(token_embeddings.shape[:2], dtype=torch.bool, device=token_embeddings.device)
    if token_embeddings.size(-1) != embedding_dimension:
        raise ValueError(
            f"{owner} was built for embedding_dimension={embedding_dimension} but received token states of "
            f"width {token_embeddings.size(-1)}. Build it with embedding_dimension=backbone.get_embedding_dimension()."
        )
    # A finite sum proves every element finite in one reduction; only otherwise (NaN/inf
    # somewhere, possibly on padding, or an overflowing sum) are the valid tokens checked one by one.
    if not torch.isfinite(token_embeddings.sum()) and not torch.isfinite(token_embeddings[valid]).all():
        raise ValueError(
            f"{owner} received NaN or inf token states from the backbone. Check the backbone's dtype "
            "(fp16 overflows are common: load it in bf16 or fp32) and its inputs."
        )
    # Padding states never enter the result, but 0 * NaN would: zero them.
    return token_embeddings.masked_fill(~valid.unsqueeze(-1), 0.0), valid
