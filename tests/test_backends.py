"""The sparse graph built block by block, and ``backend="auto"``."""

from __future__ import annotations

import pytest
import torch
from graph_helpers import assert_same_edges, edges, pair_values, to_sparse
from tolerance import assert_within, pooling_bound, similarity_bound, softmax_bound

from st_glot import GLOTPooling
from st_glot.nn.graph import build_sparse_token_graph, build_token_graph, cosine_similarity_matrix
from st_glot.nn.pooling import dense_bytes


def _inputs(B=3, L=10, d=8, seed=0):
    torch.manual_seed(seed)
    x = torch.randn(B, L, d) + 0.5  # a shared direction gives many edges
    valid = torch.ones(B, L, dtype=torch.bool)
    valid[1, 6:] = False
    valid[2, 1:] = False
    return x, valid


@pytest.mark.parametrize("edge_weight", ["binary", "cosine"])
@pytest.mark.parametrize("block_elements", [1, 7, 1 << 20])
def test_blocked_sparse_graph_equals_dense_graph(edge_weight, block_elements):
    x, valid = _inputs()
    expected = to_sparse(build_token_graph(x, valid, tau=0.2, edge_weight=edge_weight))
    got = build_sparse_token_graph(x, valid, tau=0.2, edge_weight=edge_weight, block_elements=block_elements)
    similarity, limit = (
        pair_values(valid, cosine_similarity_matrix(x, valid)),
        pair_values(valid, similarity_bound(x, valid)),
    )
    assert_same_edges(edges(got), edges(expected), similarity, 0.2, limit)
    assert torch.equal(got.batch, expected.batch)


def test_negative_tau_never_links_padding():
    x, valid = _inputs()
    sparse = build_sparse_token_graph(x, valid, tau=-1.0, block_elements=5)
    lengths = valid.sum(1)
    assert sparse.edge_index.size(1) == int((lengths**2).sum())


def test_bad_block_size_raises():
    x, valid = _inputs()
    with pytest.raises(ValueError, match="Invalid block_elements: 0"):
        build_sparse_token_graph(x, valid, tau=0.2, block_elements=0)


@pytest.mark.parametrize(
    "B, training, budget_sequences, expected",
    [
        (3, False, None, ("dense", 3)),  # within the default budget
        (5, False, 2, ("dense", 2)),  # inference over budget: dense groups of the 2 sequences that fit
        (3, False, 0, ("pyg", 1)),  # one sequence is already over budget
        (3, True, 2, ("pyg", 3)),  # training over budget: the whole batch on the edge list
    ],
)
def test_auto_path_and_group_agree_with_dense(B, training, budget_sequences, expected):
    x, valid = _inputs(B=B, L=12, d=16)
    pool = GLOTPooling(16, hidden_dim=8).train(training)
    assert pool.backend == "auto"
    if budget_sequences is not None:
        pool.dense_budget_bytes = max(dense_bytes(budget_sequences, 12, 2, 1, training=training), 1)
    features = {"token_embeddings": x, "attention_mask": valid.long()}
    auto = pool(dict(features))
    assert (pool.last_backend, pool.last_group_size) == expected
    pool.backend = "dense"
    dense = pool(dict(features))
    limit = pooling_bound(pool, x, valid, dense["sentence_embedding"])
    assert_within(auto["sentence_embedding"], dense["sentence_embedding"], limit, "sentence embedding")
    assert_within(auto["token_weights"], dense["token_weights"], softmax_bound(dense["token_weights"], limit))


def test_auto_handles_an_empty_batch():
    pool = GLOTPooling(16, hidden_dim=8).eval()
    out = pool({"token_embeddings": torch.zeros(0, 4, 16), "attention_mask": torch.zeros(0, 4, dtype=torch.long)})
    assert out["sentence_embedding"].shape == (0, pool.get_embedding_dimension())
    assert out["token_weights"].shape == (0, 4)


def test_dense_bytes_grows_with_training_and_layers():
    assert dense_bytes(2, 8, 2, 1, training=False) == 4 * 2 * 64 * (4 + 3)
    assert dense_bytes(2, 8, 2, 1, training=True) == 4 * 2 * 64 * (4 + 12)
    assert dense_bytes(2, 8, 0, 1, training=True) == 4 * 2 * 64 * 4


def test_auto_round_trips_through_save(tmp_path):
    pool = GLOTPooling(16, hidden_dim=8).eval()
    pool.save(str(tmp_path))
    again = GLOTPooling.load(str(tmp_path)).eval()
    assert again.backend == "auto"
    x, valid = _inputs(d=16)
    features = {"token_embeddings": x, "attention_mask": valid.long()}
    assert torch.equal(again(dict(features))["sentence_embedding"], pool(dict(features))["sentence_embedding"])
