"""Row packing: several sequences in one row of the dense graph give each sequence its own graph."""

from __future__ import annotations

import random

import pytest
import torch
from tolerance import assert_within, clear_of, similarity_bound

from st_glot.nn.graph import build_token_graph, cosine_similarity_matrix
from st_glot.nn.inputs import PackedTokens
from st_glot.nn.row_packing import build_row_packed_token_graph, row_layout


def test_row_layout_first_fit_decreasing_by_hand():
    # longest first: 8 → row 0; 6 → row 1; 5 → row 2 (rows 0 and 1 are too full);
    # 3 → row 2 after the 5; 2 → row 1 after the 6.
    rows, starts, count = row_layout([5, 3, 8, 2, 6], width=8)
    assert (rows, starts, count) == ([2, 2, 0, 1, 1], [0, 5, 0, 6, 0], 3)


def test_row_layout_never_overlaps_or_overflows():
    rng = random.Random(0)
    for _ in range(50):
        width = rng.randint(1, 40)
        lengths = [rng.randint(0, width) for _ in range(rng.randint(1, 40))]
        rows, starts, count = row_layout(lengths, width)
        used = [[False] * width for _ in range(count)]
        for length, row, start in zip(lengths, rows, starts):
            assert 0 <= start and start + length <= width
            for position in range(start, start + length):
                assert not used[row][position]
                used[row][position] = True
        assert count <= len(lengths)


def _right_padded(lengths, L=10, d=8, seed=0):
    torch.manual_seed(seed)
    x = torch.randn(len(lengths), L, d) + 3 * torch.randn(d)  # a shared direction, as in decoder states
    valid = torch.arange(L) < torch.tensor(lengths).unsqueeze(1)  # (B, L)
    return x, valid


@pytest.mark.parametrize("edge_weight", ["binary", "cosine"])
@pytest.mark.parametrize("graph_norm", ["none", "center", "standardize"])
def test_each_sequence_gets_the_graph_of_the_padded_batch(edge_weight, graph_norm):
    lengths = [10, 4, 3, 2, 1, 6, 0]
    x, valid = _right_padded(lengths)
    packing = PackedTokens.from_mask(valid)
    tau = 0.9 if graph_norm == "none" else 0.2  # the shared direction makes raw cosines high
    dense = build_token_graph(x, valid, tau, edge_weight, graph_norm)
    pairs = sum(n * n for n in lengths)
    assert 0 < int(dense.adjacency.sum()) < pairs  # some token pairs connect, others do not
    packed = build_row_packed_token_graph(packing.pack(x), packing, tau, edge_weight, graph_norm)
    assert packed is not None and packed.valid.size(0) < len(lengths)
    rows, starts, _ = row_layout(lengths, 10)
    limit = similarity_bound(x, valid, graph_norm)
    clear = clear_of(cosine_similarity_matrix(x, valid, graph_norm), tau, limit)  # (B, L, L): no pair near tau
    for b, n in enumerate(lengths):
        block = slice(starts[b], starts[b] + n)
        decided = clear[b, :n, :n]
        assert torch.equal(packed.adjacency[rows[b], block, block][decided], dense.adjacency[b, :n, :n][decided])
        weight = packed.weight[rows[b], block, block]
        both = packed.adjacency[rows[b], block, block] & dense.adjacency[b, :n, :n]
        assert_within(weight[both], dense.weight[b, :n, :n][both], limit[b, :n, :n][both])
    if bool(clear.all()):  # no edge between sequences sharing a row
        assert int(packed.adjacency.sum()) == int(dense.adjacency.sum())
    assert int(packed.valid.sum()) == sum(lengths)
    # node k of sequence b (packed rows in sequence order) sits at position starts[b] + k of row rows[b]
    node = torch.arange(packing.index.numel(), dtype=torch.float).unsqueeze(1)  # (N, 1)
    placed = packed.padded(node).squeeze(-1)  # (R, L)
    first = 0
    for b, n in enumerate(lengths):
        expected = torch.arange(first, first + n, dtype=torch.float)
        assert torch.equal(placed[rows[b], starts[b] : starts[b] + n], expected)
        first += n


def test_no_row_packing_when_it_saves_little():
    x, valid = _right_padded([9, 8, 9, 7])  # no two sequences fit in one row of 10
    packing = PackedTokens.from_mask(valid)
    assert build_row_packed_token_graph(packing.pack(x), packing, 0.2) is None
