"""Reading token states out of a sentence-transformers ``features`` dict.

The ``Transformer`` module hands poolers either padded states ``(B, L, d)`` with
an ``attention_mask``, or, under flash-attention unpadding, one flat sequence
``(1, total, d)`` with boundaries in ``cu_seq_lens_q``. Poolers here always work
on the padded form; this module produces it and rejects states that would only
yield garbage. :class:`PackedTokens` lists the valid tokens of a padded batch
one after another, so per-token work (linear layers, the readout's scorer)
costs ``Σ nᵢ`` rows instead of ``B·L``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch_geometric.utils import to_dense_batch


def padded_token_states(
    features: dict[str, Tensor | Any], embedding_dimension: int, owner: str, zero_padding: bool = True
) -> tuple[Tensor, Tensor]:
    """Token states ``(B, L, d)``, zero on padding, and the valid-token mask ``(B, L)`` (bool).

    Args:
        features: the dict passed between sentence-transformers modules.
        embedding_dimension: the width ``d`` the pooler was built for.
        owner: the pooler's name, for error messages.
        zero_padding: False skips zeroing the padding (a full copy of the states)
            when every state is finite; padding is then finite but arbitrary, for
            callers that never read it. Non-finite padding is always zeroed, and so
            is all padding under ``torch.compile``, where finiteness is not known
            on the host (there the zeroing fuses with the check).

    Raises:
        ValueError: the states have another width, or NaN/inf on a valid token.
        RuntimeError: NaN/inf on a valid token under ``torch.compile`` on CPU (on CUDA a
            device-side assert), raised by the compiled kernel with the same message.
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
    if torch.compiler.is_compiling():
        return _checked_in_graph(token_embeddings, valid, owner), valid
    # A finite sum proves every element finite in one reduction; only otherwise (NaN/inf
    # somewhere, possibly on padding, or an overflowing sum) are the valid tokens checked one by one.
    finite = bool(torch.isfinite(token_embeddings.sum()))
    if not finite and not torch.isfinite(token_embeddings[valid]).all():
        raise ValueError(_non_finite_message(owner))
    if finite and not zero_padding:
        return token_embeddings, valid
    # Padding states never enter the result, but 0 * NaN would: zero them.
    return token_embeddings.masked_fill(~valid.unsqueeze(-1), 0.0), valid


def _non_finite_message(owner: str) -> str:
    """The error for NaN or inf token states on a valid token."""
    return (
        f"{owner} received NaN or inf token states from the backbone. Check the backbone's dtype "
        "(fp16 overflows are common: load it in bf16 or fp32) and its inputs."
    )


def _checked_in_graph(token_embeddings: Tensor, valid: Tensor, owner: str) -> Tensor:
    """The states with padding zeroed, checked for NaN/inf on valid tokens without a host sync.

    Under ``torch.compile`` a Python ``bool`` of a tensor ends the graph (the host waits for
    the device, then a second graph starts). :func:`torch._assert_async` stays in the graph
    instead: the compiled kernel raises ``RuntimeError`` with :func:`_non_finite_message` on
    CPU, and on CUDA triggers a device-side assert, as PyTorch's own in-kernel checks do.
    """
    padding = ~valid.unsqueeze(-1)  # (B, L, 1)
    torch._assert_async((torch.isfinite(token_embeddings) | padding).all(), _non_finite_message(owner))
    return token_embeddings.masked_fill(padding, 0.0)


#: :meth:`PackedTokens.from_mask` packs only when the valid tokens fill at most this share of ``B·L``.
PACKING_MAX_FILL = 0.9


@dataclass
class PackedTokens:
    """The valid tokens of a padded ``(B, L)`` batch as one list of ``N = Σ nᵢ`` rows.

    Built by :meth:`from_mask`, the rows are in row-major ``(b, l)`` order, the order of
    ``x[valid]``, and each padded row ``b`` is one sequence. A row-packed graph's layout
    (:mod:`st_glot.nn.row_packing`) maps the same token rows into padded rows that hold
    several sequences each; there ``batch`` and ``lengths`` count padded rows, not sequences.

    Attributes:
        index: ``(N,)`` long, the flat position ``b·L + l`` of each valid token.
        batch: ``(N,)`` long, the padded row ``b`` of each valid token.
        lengths: ``(B,)`` long, valid tokens per padded row.
        slot: ``(B L,)`` long, the row of each position ``b·L + l`` in the packed
            list, ``N`` on padding (the fill row :meth:`pad` appends).
        shape: ``(B, L)``.
    """

    index: Tensor
    batch: Tensor
    lengths: Tensor
    slot: Tensor
    shape: tuple[int, int]

    @classmethod
    def from_mask(cls, valid: Tensor, max_fill: float = PACKING_MAX_FILL) -> PackedTokens | None:
        """The packing of ``valid`` ``(B, L)`` bool, or None when the valid tokens fill more than
        ``max_fill`` of the batch (then the padded form costs little more and needs no gathers)."""
        index = valid.flatten().nonzero().squeeze(1)  # (N,)
        if valid.numel() == 0 or index.numel() > max_fill * valid.numel():
            return None
        B, L = valid.shape
        slot = torch.full((B * L,), index.numel(), dtype=torch.long, device=valid.device)  # (B L,)
        slot[index] = torch.arange(index.numel(), device=valid.device)
        return cls(index=index, batch=index // L, lengths=valid.sum(dim=1), slot=slot, shape=(B, L))

    def pack(self, t: Tensor) -> Tensor:
        """``(B, L, *rest)`` → ``(N, *rest)``: the rows of the valid tokens."""
        return t.reshape(-1, *t.shape[2:]).index_select(0, self.index)

    def pad(self, t: Tensor, fill: float = 0.0) -> Tensor:
        """``(N, *rest)`` → ``(B, L, *rest)``, ``fill`` on padding (the inverse of :meth:`pack`).

        One gather from the rows and an appended fill row, so every output element is written once.
        """
        rows = torch.cat([t, t.new_full((1, *t.shape[1:]), fill)])  # (N + 1, *rest)
        return rows.index_select(0, self.slot).view(*self.shape, *t.shape[1:])
