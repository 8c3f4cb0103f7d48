"""The token graph against a per-sequence loop and torch-geometric's dense_to_sparse."""

from __future__ import annotations

import pytest
import torch
from graph_helpers import assert_same_edges, edges, pair_values, to_sparse
from tolerance import assert_within, normalisation_bound, similarity_bound
from torch_geometric.utils import dense_to_sparse

from st_glot.nn.graph import build_token_graph, cosine_similarity_matrix, sequence_normalize, unit_states
from st_glot.nn.inputs import PackedTokens


def _inputs():
    torch.manual_seed(0)
    x = torch.randn(3, 6, 8)
    valid = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0]], dtype=torch.bool)
    return x, valid


def test_similarity_matches_pairwise_cosine():
    x, _ = _inputs()
    expected = torch.nn.functional.cosine_similarity(x.unsqueeze(2), x.unsqueeze(1), dim=-1)
    assert_within(cosine_similarity_matrix(x), expected, similarity_bound(x))


def test_edges_match_a_per_sequence_loop():
    x, valid = _inputs()
    graph = build_token_graph(x, valid, tau=0.1, edge_weight="cosine")
    sparse = to_sparse(graph)
    offset, expected = 0, {}
    for b in range(x.size(0)):  # the research code's way: one graph per sequence
        xb = x[b, valid[b]]
        sim = torch.nn.functional.cosine_similarity(xb.unsqueeze(1), xb.unsqueeze(0), dim=-1)
        edge_index, _ = dense_to_sparse((sim > 0.1).float())
        # dense_to_sparse gives (row i, col j); ours is (source j, target i): S is symmetric so sets agree.
        expected |= {(int(i) + offset, int(j) + offset): float(sim[i, j]) for i, j in edge_index.T}
        offset += xb.size(0)
    similarity = pair_values(valid, cosine_similarity_matrix(x, valid))
    assert_same_edges(edges(sparse), expected, similarity, 0.1, pair_values(valid, similarity_bound(x, valid)))
    assert sparse.batch.tolist() == [0] * 6 + [1] * 3 + [2]


def test_padding_is_never_a_node_and_diagonal_is_kept():
    x, valid = _inputs()
    graph = build_token_graph(x, valid, tau=-1.0)  # every valid pair passes
    pair = valid.unsqueeze(2) & valid.unsqueeze(1)
    assert torch.equal(graph.adjacency, pair)
    assert torch.equal(graph.weight, pair.float())


def test_threshold_is_strict():
    x = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])  # orthogonal: S_01 = 0
    graph = build_token_graph(x, torch.ones(1, 2, dtype=torch.bool), tau=0.0)
    assert graph.adjacency[0].tolist() == [[True, False], [False, True]]


def test_centering_removes_a_shared_direction():
    torch.manual_seed(0)
    shared = torch.randn(16) * 10
    x = shared + torch.randn(2, 12, 16)  # anisotropic: every pair has cosine near 1
    valid = torch.ones(2, 12, dtype=torch.bool)
    valid[1, 8:] = False
    raw = build_token_graph(x, valid, tau=0.6)
    centred = build_token_graph(x, valid, tau=0.6, graph_norm="center")
    assert raw.adjacency.float().mean() > 0.6
    assert centred.adjacency.float().mean() < 0.2
    # By hand: subtract each sequence's mean over its valid tokens, then cosine.
    centre, standardise = similarity_bound(x, valid, "center"), similarity_bound(x, valid, "standardize")
    for b, n in ((0, 12), (1, 8)):
        y = x[b, :n] - x[b, :n].mean(0)
        expected = torch.nn.functional.cosine_similarity(y.unsqueeze(1), y.unsqueeze(0), dim=-1)
        assert_within(cosine_similarity_matrix(x, valid, "center")[b, :n, :n], expected, centre[b, :n, :n])
        z = y / (y.std(0, unbiased=False) + 1e-6)
        expected = torch.nn.functional.cosine_similarity(z.unsqueeze(1), z.unsqueeze(0), dim=-1)
        assert_within(cosine_similarity_matrix(x, valid, "standardize")[b, :n, :n], expected, standardise[b, :n, :n])


def test_bad_graph_norm():
    import pytest

    with pytest.raises(
        ValueError, match=r"Invalid graph_norm: 'pca'. Valid values are: \('none', 'center', 'standardize'\)"
    ):
        build_token_graph(torch.randn(1, 3, 4), torch.ones(1, 3), tau=0.3, graph_norm="pca")


@pytest.mark.parametrize("mode", ["none", "center", "standardize"])
def test_similarity_ignores_padding_values_and_matches_unit_states(mode):
    """Any finite padding gives the same similarities between valid tokens as zero padding, and they equal
    the dot products of unit_states; packed sequence_normalize equals the padded one on the valid rows."""
    x, valid = _inputs()
    zeroed = x.masked_fill(~valid.unsqueeze(-1), 0.0)
    garbage = torch.where(valid.unsqueeze(-1), x, 1e3 * torch.randn_like(x))
    pair = valid.unsqueeze(2) & valid.unsqueeze(1)
    unit = unit_states(zeroed, valid, mode)
    expected = (unit @ unit.transpose(1, 2))[pair]
    for states in (zeroed, garbage):
        assert_within(
            cosine_similarity_matrix(states, valid, mode)[pair], expected, similarity_bound(x, valid, mode)[pair]
        )
    packing = PackedTokens.from_mask(valid)
    packed = sequence_normalize(packing.pack(garbage), valid, mode, packing)
    assert_within(packed, sequence_normalize(zeroed, valid, mode)[valid], normalisation_bound(x, valid, mode))
    assert torch.equal(packing.pad(packed)[valid], packed)
    assert not packing.pad(packed)[~valid].any()
