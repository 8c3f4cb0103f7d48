"""``graph="random"``: the threshold graph's edge count per sequence, placed at random.

Per sequence, as many unordered pairs ``{i, j}`` as the threshold graph has (both directions
of each) are drawn uniformly among the sequence's ``n (n - 1) / 2`` pairs, and the threshold
graph's self-loops are kept (:func:`rewire_randomly` on a dense graph,
:func:`rewire_edge_list_randomly` on an edge list). The draw is a fixed function of the seed,
the sequence's length and its edge count (:func:`pair_keys`, no RNG state), so a text gets
the same graph in training and inference, in any batch, padding side and backend.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from st_glot.utils.choices import EdgeWeight

_MASK32 = 0xFFFFFFFF
_MIX32 = 0x45D9F3B


def _mix32(x: Any) -> Any:
    """A bijection of 32-bit integers with good avalanche (a two-round multiply–xorshift hash); works on
    Python ints and int64 tensors alike, whose products stay below ``2**59``."""
    for _ in range(2):
        x = (((x >> 16) ^ x) * _MIX32) & _MASK32
    return (x >> 16) ^ x


def pair_keys(seed: int, length: Tensor, i: Tensor, j: Tensor) -> Tensor:
    """Pseudo-random 32-bit keys of the token pairs ``(i, j)`` of sequences of ``length`` tokens.

    ``h = mix(mix(mix(mix(seed) ^ n) ^ i) ^ j)`` with :func:`_mix32`: a fixed function of its
    inputs (no RNG state), the same on every device. Sorting a sequence's pairs by key gives a
    pseudo-random order of them, distinct for every seed and length.

    Args:
        seed: an integer >= 0 (only its low 32 bits are used).
        length, i, j: int64 tensors of one shape, values below ``2**32``.

    Returns:
        int64 keys in ``[0, 2**32)``, of the same shape.
    """
    return _mix32(_mix32(_mix32(_mix32(seed & _MASK32) ^ length) ^ i) ^ j)


def sequence_pairs(lengths: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Every unordered token pair ``i < j`` of each sequence, by sequence, then ``j``, then ``i``.

    Args:
        lengths: ``(S,)`` long, tokens per sequence.

    Returns:
        ``(seq, i, j)``, each ``(M,)`` long with ``M = Σ nₛ (nₛ - 1) / 2``: the sequence and the two
        token indices within it.
    """
    device = lengths.device
    node_sequence = torch.repeat_interleave(torch.arange(lengths.numel(), device=device), lengths)  # (N,)
    first = torch.cumsum(lengths, 0) - lengths  # (S,)
    token = torch.arange(node_sequence.numel(), device=device) - first[node_sequence]  # (N,) index in its sequence
    seq = torch.repeat_interleave(node_sequence, token)  # (M,): token j pairs with the j tokens before it
    j = torch.repeat_interleave(token, token)  # (M,)
    start = torch.cumsum(token, 0) - token  # (N,) first pair of each token j
    i = torch.arange(j.numel(), device=device) - torch.repeat_interleave(start, token)  # (M,)
    return seq, i, j


def random_pairs(lengths: Tensor, counts: Tensor, seed: int) -> tuple[Tensor, Tensor, Tensor]:
    """``counts[s]`` unordered token pairs ``i < j`` of each sequence ``s``, drawn without replacement.

    The pairs of a sequence of ``n`` tokens are ranked by :func:`pair_keys` ``(seed, n, i, j)``
    (ties by position) and the first ``counts[s]`` are taken: a pseudo-random subset, uniform
    over the ``n (n - 1) / 2`` pairs as far as the hash's keys are. Sorting all
    ``M = Σ nₛ (nₛ - 1) / 2`` keys at once (by key, then stably by sequence) does this for the
    whole batch without a loop over sequences.

    Args:
        lengths: ``(S,)`` long, tokens per sequence.
        counts: ``(S,)`` long, pairs to draw per sequence, at most ``n (n - 1) / 2``.
        seed: an integer >= 0.

    Returns:
        ``(seq, i, j)``, each ``(Σ counts,)`` long.
    """
    seq, i, j = sequence_pairs(lengths)  # (M,) each
    keys = pair_keys(seed, lengths[seq], i, j)  # (M,)
    order = keys.argsort(stable=True)  # (M,)
    order = order[seq[order].argsort(stable=True)]  # by sequence, then key
    pairs = lengths * (lengths - 1) // 2  # (S,)
    first = torch.cumsum(pairs, 0) - pairs  # (S,)
    ranked = seq[order]  # (M,)
    rank = torch.arange(order.numel(), device=lengths.device) - first[ranked]  # (M,) rank within its sequence
    chosen = order[rank < counts[ranked]]
    return seq[chosen], i[chosen], j[chosen]


def rewire_randomly(adjacency: Tensor, segment: Tensor, seed: int) -> Tensor:
    """``graph="random"`` on a dense graph: the same self-loops, and per sequence as many random pairs
    (both directions) as ``adjacency`` has pairs ``i < j`` (:func:`random_pairs`).

    Args:
        adjacency: ``(R, L, L)`` bool, the threshold graph (symmetric, never across sequences).
        segment: ``(R, L)`` long, the sequence at each position, numbered from 0, -1 on padding;
            a sequence's tokens lie in one row, in order (several sequences may share a row).
        seed: an integer >= 0.

    Returns:
        ``(R, L, L)`` bool.
    """
    R, L = segment.shape
    index = (segment >= 0).flatten().nonzero().squeeze(1)  # (N,) flat positions r·L + l
    sequence = segment.flatten()[index]  # (N,)
    order = sequence.argsort(stable=True)  # tokens grouped by sequence, in order
    index, sequence = index[order], sequence[order]
    S = int(sequence.max()) + 1 if sequence.numel() else 0
    later = adjacency.triu(1).sum(-1).flatten()[index]  # (N,) each token's edges to later tokens
    counts = torch.zeros(S, dtype=torch.long, device=segment.device).index_add_(0, sequence, later)  # (S,)
    lengths = torch.bincount(sequence, minlength=S)  # (S,)
    seq, i, j = random_pairs(lengths, counts, seed)  # (E,) each
    first = torch.cumsum(lengths, 0) - lengths  # (S,)
    a, b = index[first[seq] + i], index[first[seq] + j]  # (E,) flat positions of the two tokens
    rewired = adjacency & torch.eye(L, dtype=torch.bool, device=adjacency.device)  # (R, L, L) self-loops
    rewired[a // L, a % L, b % L] = True
    rewired[a // L, b % L, a % L] = True
    return rewired


def rewire_edge_list_randomly(
    edge_index: Tensor,
    edge_value: Tensor,
    batch: Tensor,
    num_graphs: int,
    unit: Tensor,
    edge_weight: EdgeWeight,
    seed: int,
    block_elements: int,
) -> tuple[Tensor, Tensor]:
    """:func:`rewire_randomly` on an edge list over nodes numbered by sequence, in token order.

    ``unit`` is ``(N, d)``, the nodes' unit states; a drawn pair's cosine is their dot product,
    computed ``max(1, block_elements // d)`` pairs at a time.
    """
    source, target = edge_index  # (E,) each
    lengths = torch.bincount(batch, minlength=num_graphs)  # (B,)
    later = (source < target).long()  # (E,)
    counts = torch.zeros(num_graphs, dtype=torch.long, device=batch.device).index_add_(0, batch[target], later)
    seq, i, j = random_pairs(lengths, counts, seed)  # (P,) each
    first = torch.cumsum(lengths, 0) - lengths  # (B,)
    a, b = first[seq] + i, first[seq] + j  # (P,) node numbers
    loop = source == target  # (E,)
    if edge_weight == "cosine":
        step = max(1, block_elements // max(1, unit.size(-1)))
        drawn = torch.cat(
            [(unit[a[k : k + step]] * unit[b[k : k + step]]).sum(-1) for k in range(0, a.numel(), step)]
            or [unit.new_zeros(0)]
        )  # (P,)
    else:
        drawn = edge_value.new_ones(a.numel())
    edge_index = torch.cat([edge_index[:, loop], torch.stack([a, b]), torch.stack([b, a])], dim=1)  # (2, E')
    return edge_index, torch.cat([edge_value[loop], drawn, drawn])
