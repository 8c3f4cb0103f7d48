"""Several short sequences in one row of the dense token graph.

The dense path handles a batch's graphs as ``(B, L, L)`` tensors, ``L`` the longest text's
length, so its graph products (similarity, attention, aggregation) cost ``B·L²`` entries
where the valid tokens need ``Σ nᵢ²``; in a random batch of short texts one long text sets
``L`` for all (32 STS-B training sentences: ``B·L² ≈ 43,000`` entries against
``Σ nᵢ² ≈ 6,700``). Here the sequences share rows of width ``L``, as in packed language-model
training: each row holds whole sequences side by side, placed by first-fit decreasing
(:func:`row_layout`), and tokens connect only inside their own sequence (a block-diagonal
mask), so the graphs, and everything computed on them, are those of the padded batch in
``R·L²`` entries, ``R ≤ B`` rows (11–12 instead of 32 in that example).

Token graphs never connect sequences, and inside a sequence the graph layers see tokens, not
positions, so a sequence may sit anywhere in its row; each sequence's tokens keep their order.
"""

from __future__ import annotations

import torch
from torch import Tensor

from st_glot.nn.graph import TokenGraph, connect, cosine_similarity_matrix, sequence_normalize
from st_glot.nn.inputs import PackedTokens
from st_glot.utils.checks import check_choice
from st_glot.utils.choices import EDGE_WEIGHTS, EdgeWeight, GraphMode, GraphNorm

#: Rows are packed only when they would hold at most this share of the batch's ``B·L²`` entries.
ROW_PACKING_MAX_SHARE = 0.75


def row_layout(lengths: list[int], width: int) -> tuple[list[int], list[int], int]:
    """Place sequences of ``lengths`` tokens in rows of ``width`` tokens, first-fit decreasing.

    Sequences are taken longest first; each goes into the first row with room for it, or
    opens a new row. This is scheduling over ``B`` integers (no tensor work); it runs once
    per batch.

    Returns:
        Each sequence's row and its first position in that row, and the number of rows.
    """
    rows, starts, free = [0] * len(lengths), [0] * len(lengths), []
    for b in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        row = next((r for r, room in enumerate(free) if room >= lengths[b]), len(free))
        if row == len(free):
            free.append(width)
        rows[b], starts[b] = row, width - free[row]
        free[row] -= lengths[b]
    return rows, starts, len(free)


def build_row_packed_token_graph(
    states: Tensor,
    packing: PackedTokens,
    tau: float,
    edge_weight: EdgeWeight = "binary",
    graph_norm: GraphNorm = "none",
    max_share: float = ROW_PACKING_MAX_SHARE,
    graph: GraphMode = "threshold",
    graph_seed: int | None = None,
) -> TokenGraph | None:
    """The graphs of :func:`~st_glot.nn.graph.build_token_graph` over rows that hold several sequences.

    Args:
        states: ``(N, d)`` the valid tokens' states, rows of ``packing`` (in its default order).
        packing: the batch's packing over ``(B, L)``.
        tau, edge_weight, graph_norm, graph, graph_seed: as for :func:`~st_glot.nn.graph.build_token_graph`.
        max_share: pack only if the rows' ``R·L²`` entries are at most this share of ``B·L²``.

    Returns:
        A :class:`TokenGraph` over ``(R, L)`` rows whose own
        :attr:`~st_glot.nn.graph.TokenGraph.packing` maps the same ``N`` node rows into them, or
        None when packing the rows would not save enough.
    """
    check_choice("edge_weight", edge_weight, EDGE_WEIGHTS)
    B, L = packing.shape
    lengths = packing.lengths.tolist()
    rows, starts, R = row_layout(lengths, L)
    if R > max_share * B:
        return None
    device = states.device
    first = torch.cumsum(packing.lengths, 0) - packing.lengths  # (B,) first node row of each sequence
    place = torch.tensor([r * L + s for r, s in zip(rows, starts)], device=device)  # (B,) start slot, one copy
    slot = place.index_select(0, packing.batch) + torch.arange(states.size(0), device=device)
    slot = slot - first.index_select(0, packing.batch)  # (N,) position r·L + l of each node
    segment = torch.full((R * L,), -1, dtype=torch.long, device=device)  # (R L,)
    segment[slot] = packing.batch
    segment = segment.view(R, L)  # (R, L): the sequence at each position, -1 on padding
    valid = segment >= 0  # (R, L)
    inverse = torch.full((R * L,), slot.numel(), dtype=torch.long, device=device)
    inverse[slot] = torch.arange(slot.numel(), device=device)
    # the nodes' places in the rows; its batch and lengths count rows, not sequences
    layout = PackedTokens(index=slot, batch=slot // L, lengths=valid.sum(1), slot=inverse, shape=(R, L))
    centred = sequence_normalize(states, None, graph_norm, packing)  # (N, d) fp32, per sequence
    similarity = cosine_similarity_matrix(layout.pad(centred), valid)  # (R, L, L)
    pair = valid.unsqueeze(2) & (segment.unsqueeze(2) == segment.unsqueeze(1))  # (R, L, L) same sequence
    return connect(similarity, pair, valid, tau, edge_weight, layout, graph, graph_seed, segment)
