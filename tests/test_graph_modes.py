"""The graph ablations (``graph="empty"|"complete"|"random"``) against a per-sequence loop, on every backend."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from conftest import build_model
from graph_helpers import pair_values, to_sparse
from sentence_transformers import SentenceTransformer
from tolerance import assert_within, bound, clear_of, fan_in, magnitude, pooling_bound, similarity_bound

from st_glot import GLOTPooling
from st_glot.nn.graph import GRAPHS, build_sparse_token_graph, build_token_graph, cosine_similarity_matrix
from st_glot.nn.inputs import PackedTokens
from st_glot.nn.random_graph import pair_keys, random_pairs, sequence_pairs
from st_glot.nn.row_packing import build_row_packed_token_graph, row_layout

TAU = 0.3
SEED = 7


def _inputs(left: bool = False, L: int = 9, d: int = 8):
    """Sequences of lengths 9, 5, 2, 1, 0 (right or left padded), states with a shared direction."""
    torch.manual_seed(0)
    lengths = [9, 5, 2, 1, 0]
    x = torch.randn(len(lengths), L, d) + 0.4 * torch.randn(d)
    positions = torch.arange(L)
    n = torch.tensor(lengths).unsqueeze(1)
    valid = positions >= L - n if left else positions < n  # (B, L)
    return x, valid, lengths


def _clear_of_tau(x, valid, graph_norm: str = "none") -> torch.Tensor:
    """The bound ``(B, L, L)`` for two computations of the cosines of ``x``'s tokens, after checking that
    no valid pair lies within it of ``TAU``: then every computation draws the same threshold edges."""
    limit = similarity_bound(x, valid, graph_norm)
    pair = valid.unsqueeze(2) & valid.unsqueeze(1)  # (B, L, L)
    assert bool(clear_of(cosine_similarity_matrix(x, valid, graph_norm), TAU, limit)[pair].all())
    return limit


def _naive_adjacency(x, valid, mode: str, tau: float = TAU, seed: int = SEED) -> torch.Tensor:
    """The ``(B, L, L)`` adjacency of ``mode``, built one sequence and one pair at a time."""
    B, L, _ = x.shape
    expected = torch.zeros(B, L, L, dtype=torch.bool)
    for b in range(B):
        where = valid[b].nonzero().squeeze(1).tolist()  # positions of the sequence's tokens, in order
        n = len(where)
        states = x[b, where]
        sim = torch.nn.functional.cosine_similarity(states.unsqueeze(1), states.unsqueeze(0), dim=-1)
        edges = set()
        for i in range(n):
            if sim[i, i] > tau:
                edges.add((i, i))
        later = [(i, j) for j in range(n) for i in range(j) if sim[i, j] > tau]
        if mode == "threshold":
            edges |= {(i, j) for i in range(n) for j in range(n) if i != j and sim[i, j] > tau}
        elif mode == "complete":
            edges |= {(i, j) for i in range(n) for j in range(n) if i != j}
        elif mode == "random":
            pairs = [(i, j) for j in range(n) for i in range(j)]  # the enumeration order breaks ties
            key = {p: int(pair_keys(seed, torch.tensor(n), torch.tensor(p[0]), torch.tensor(p[1]))) for p in pairs}
            ranked = sorted(pairs, key=lambda p: (key[p], pairs.index(p)))
            for i, j in ranked[: len(later)]:
                edges |= {(i, j), (j, i)}
        for i, j in edges:
            expected[b, where[i], where[j]] = True
    return expected


@pytest.mark.parametrize("left", [False, True])
@pytest.mark.parametrize("mode", GRAPHS)
def test_each_mode_matches_a_per_sequence_loop(mode, left):
    x, valid, _ = _inputs(left)
    limit = _clear_of_tau(x, valid)
    graph = build_token_graph(x, valid, TAU, "cosine", graph=mode, graph_seed=SEED)
    expected = _naive_adjacency(x, valid, mode)
    assert torch.equal(graph.adjacency, expected)  # padding never a node, sequences never joined
    similarity = torch.nn.functional.cosine_similarity(x.unsqueeze(2), x.unsqueeze(1), dim=-1)
    assert_within(graph.weight, similarity * expected, limit, "edge weights")


def test_random_graph_has_the_threshold_graphs_edges_per_sequence():
    x, valid, lengths = _inputs()
    threshold = build_token_graph(x, valid, TAU).adjacency
    assert torch.equal(threshold, threshold.transpose(1, 2))
    for seed in range(5):
        random = build_token_graph(x, valid, TAU, graph="random", graph_seed=seed).adjacency
        assert torch.equal(random.sum((1, 2)), threshold.sum((1, 2)))  # the same density, sequence by sequence
        assert torch.equal(random, random.transpose(1, 2))
        assert torch.equal(random.diagonal(dim1=1, dim2=2), threshold.diagonal(dim1=1, dim2=2))
    moved = build_token_graph(x, valid, TAU, graph="random", graph_seed=SEED).adjacency
    assert not torch.equal(moved, threshold)  # the draw does move edges
    assert 0 < int(threshold[0].triu(1).sum()) < lengths[0] * (lengths[0] - 1) // 2  # a partial graph to draw


def test_random_pairs_are_uniform_over_seeds():
    """Each of the 15 pairs of a 6-token sequence is drawn with probability k / 15: within 5 binomial sigmas."""
    n, k, seeds = 6, 4, 3000
    counts = torch.zeros(n, n)
    for seed in range(seeds):
        seq, i, j = random_pairs(torch.tensor([n]), torch.tensor([k]), seed)
        assert seq.tolist() == [0] * k and bool((i < j).all())
        assert len(set(zip(i.tolist(), j.tolist()))) == k  # without replacement
        counts[i, j] += 1
    p = k / (n * (n - 1) / 2)
    sigma = math.sqrt(seeds * p * (1 - p))
    drawn = counts[torch.ones(n, n).triu(1).bool()]  # (15,)
    assert float((drawn - seeds * p).abs().max()) < 5 * sigma


def test_sequence_pairs_enumerate_every_pair_once():
    seq, i, j = sequence_pairs(torch.tensor([3, 0, 1, 4]))
    expected = [(s, a, b) for s, n in enumerate([3, 0, 1, 4]) for b in range(n) for a in range(b)]
    assert list(zip(seq.tolist(), i.tolist(), j.tolist())) == expected


@pytest.mark.parametrize("mode", GRAPHS)
@pytest.mark.parametrize("edge_weight", ["binary", "cosine"])
def test_row_packed_graph_equals_padded_graph(mode, edge_weight):
    x, valid, lengths = _inputs()
    limit = _clear_of_tau(x, valid, "center")
    packing = PackedTokens.from_mask(valid)
    dense = build_token_graph(x, valid, TAU, edge_weight, "center", graph=mode, graph_seed=SEED)
    packed = build_row_packed_token_graph(
        packing.pack(x), packing, TAU, edge_weight, "center", graph=mode, graph_seed=SEED
    )
    assert packed is not None and packed.valid.size(0) < len(lengths)
    rows, starts, _ = row_layout(lengths, x.size(1))
    for b, n in enumerate(lengths):
        block = slice(starts[b], starts[b] + n)
        assert torch.equal(packed.adjacency[rows[b], block, block], dense.adjacency[b, :n, :n])
        assert_within(packed.weight[rows[b], block, block], dense.weight[b, :n, :n], limit[b, :n, :n], "edge weights")
    assert int(packed.adjacency.sum()) == int(dense.adjacency.sum())  # nothing between sequences sharing a row


def _edges(sparse) -> dict[tuple[int, int], float]:
    return {(int(s), int(t)): float(v) for (s, t), v in zip(sparse.edge_index.T, sparse.edge_value)}


@pytest.mark.parametrize("mode", GRAPHS)
@pytest.mark.parametrize("edge_weight", ["binary", "cosine"])
@pytest.mark.parametrize("block_elements", [1, 7, 1 << 20])
def test_sparse_graph_equals_dense_graph(mode, edge_weight, block_elements):
    x, valid, _ = _inputs(left=True)
    limit = pair_values(valid, _clear_of_tau(x, valid, "center"))
    dense = to_sparse(build_token_graph(x, valid, TAU, edge_weight, "center", graph=mode, graph_seed=SEED))
    got = build_sparse_token_graph(
        x, valid, TAU, edge_weight, "center", block_elements=block_elements, graph=mode, graph_seed=SEED
    )
    assert got.edge_index.size(1) == len(_edges(got))  # no edge twice
    assert _edges(got).keys() == _edges(dense).keys()
    for key, value in _edges(dense).items():  # cosines from unit vectors (sparse) and from scaled products (dense)
        assert abs(_edges(got)[key] - value) <= limit[key], (key, _edges(got)[key], value)


def test_random_needs_a_seed_and_modes_are_checked():
    x, valid, _ = _inputs()
    with pytest.raises(ValueError, match="Invalid graph_seed: None"):
        build_token_graph(x, valid, TAU, graph="random")
    with pytest.raises(ValueError, match=r"Invalid graph: 'ring'. Valid values are: \('threshold', 'empty'"):
        build_token_graph(x, valid, TAU, graph="ring")
    with pytest.raises(ValueError, match="Invalid graph: 'ring'"):
        GLOTPooling(8, graph="ring")
    with pytest.raises(ValueError, match="Invalid graph_seed: -1"):
        GLOTPooling(8, graph="random", graph_seed=-1)


def test_empty_graph_is_the_layers_without_message_passing():
    """Over the empty graph each token's GNN state is what it gets as a sequence of its own."""
    torch.manual_seed(0)
    for gnn in ("gat", "gcn", "gin", "gine"):
        pool = GLOTPooling(8, hidden_dim=6, gnn=gnn, graph="empty", graph_norm="none", input_norm="none").eval()
        x = torch.randn(2, 5, 8)
        valid = torch.ones(2, 5, dtype=torch.bool)
        graph = build_token_graph(x, valid, TAU, graph="empty")
        together = torch.cat(pool.token_gnn.forward_dense_parts(x, graph), -1)  # (2, 5, D)
        alone_x = x.reshape(10, 1, 8)
        alone = build_token_graph(alone_x, torch.ones(10, 1, dtype=torch.bool), TAU)
        single = torch.cat(pool.token_gnn.forward_dense_parts(alone_x, alone), -1).reshape(2, 5, -1)
        # batches of other shapes: the layers' products (their fan-ins) and, per layer, the attention
        # softmax and the aggregation over a row of L positions (one of them a neighbour), in other orders
        terms = fan_in([pool.token_gnn]) + 2 * pool.num_layers * x.size(1)
        assert_within(together, single, bound(magnitude(x, together), terms), gnn)


@pytest.mark.parametrize("mode", ["empty", "complete", "random"])
def test_pooler_paths_agree_and_a_text_ignores_its_batch(mode):
    x, valid, _ = _inputs(left=True)
    torch.manual_seed(0)
    pool = GLOTPooling(8, hidden_dim=6, graph=mode).eval()
    features = {"token_embeddings": x, "attention_mask": valid.long()}
    with torch.no_grad():
        together = pool(dict(features))["sentence_embedding"]  # packed rows
        pool.backend = "pyg"
        sparse = pool(dict(features))["sentence_embedding"]
        pool.backend = "dense"
        alone = torch.cat([pool({"token_embeddings": x[b : b + 1, valid[b]]})["sentence_embedding"] for b in range(4)])
    limit = pooling_bound(pool, x, valid, together)  # the paths sum the same terms in other orders
    assert_within(sparse, together, limit, "edge list")
    assert_within(alone, together[:4], limit, "one text at a time")


def test_random_seed_follows_torch_and_leaves_the_weights_alone():
    torch.manual_seed(3)
    random = GLOTPooling(8, hidden_dim=6, graph="random")
    torch.manual_seed(3)
    again = GLOTPooling(8, hidden_dim=6, graph="random")
    torch.manual_seed(3)
    threshold = GLOTPooling(8, hidden_dim=6)
    assert random.graph_seed == again.graph_seed and threshold.graph_seed is None
    for name, tensor in threshold.state_dict().items():
        assert torch.equal(random.state_dict()[name], tensor), name


SENTENCES = ["the cat sat on the mat", "a quick brown fox jumps over the lazy dog", "dog"]


@pytest.mark.parametrize("mode", ["empty", "complete", "random"])
def test_graph_mode_survives_save_and_load(tiny_backbone, tmp_path, mode):
    pool = GLOTPooling(tiny_backbone.get_embedding_dimension(), hidden_dim=8, graph=mode, tau=0.2)
    model = build_model(tiny_backbone, pool)
    model.save(str(tmp_path))
    again = SentenceTransformer(str(tmp_path), trust_remote_code=True, device="cpu")
    assert (again[1].graph, again[1].graph_seed) == (mode, pool.graph_seed)
    np.testing.assert_array_equal(model.encode(SENTENCES), again.encode(SENTENCES))


def test_config_without_graph_loads_as_threshold(tmp_path):
    GLOTPooling(16, hidden_dim=8).save(str(tmp_path))
    config = json.loads((tmp_path / "config.json").read_text())
    assert (config.pop("graph"), config.pop("graph_seed")) == ("threshold", None)
    (tmp_path / "config.json").write_text(json.dumps(config))
    loaded = GLOTPooling.load(str(tmp_path))
    assert (loaded.graph, loaded.graph_seed) == ("threshold", None)


def test_cli_graph_option_reaches_the_pooler():
    import argparse

    from st_glot.cli.args import add_glot_arguments, glot_kwargs

    parser = argparse.ArgumentParser()
    add_glot_arguments(parser)
    assert glot_kwargs(parser.parse_args(["--graph", "random"]))["graph"] == "random"
    assert "graph" not in glot_kwargs(parser.parse_args([]))
    with pytest.raises(SystemExit):
        parser.parse_args(["--graph", "ring"])
