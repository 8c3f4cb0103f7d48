"""GLOTPooling: dense path = PyG path, invariances, a hand-computed case, bad input."""

from __future__ import annotations

import itertools

import pytest
import torch
from graph_helpers import dense_states, to_sparse
from tolerance import assert_within, bound, fan_in, glot_terms, gradient_bound, magnitude, pooling_bound, softmax_bound
from torch_geometric.nn import GATConv

from st_glot import AdaPool, GLOTPooling
from st_glot.nn.graph import build_token_graph
from st_glot.nn.inputs import PackedTokens

CONFIGS = [
    (gnn, jk, edge_weight)
    for gnn, jk, edge_weight in itertools.product(
        ("gat", "gcn", "gin", "gine"), ("cat", "max", "mean"), ("binary", "cosine")
    )
    if not (gnn == "gin" and edge_weight == "cosine")
]


def _batch(B=4, L=12, d=16, seed=0):
    """Random states; for B=4 rows of 12, 7, 3 and 1 valid tokens (a one-token sequence)."""
    torch.manual_seed(seed)
    x = torch.randn(B, L, d)
    mask = torch.ones(B, L, dtype=torch.long)
    if B == 4:
        mask[1, 7:] = 0
        mask[2, 3:] = 0
        mask[3, 1:] = 0
    return x, mask


def _pool(features, pool):
    out = pool(dict(features))
    return out["sentence_embedding"], out["token_weights"]


@pytest.mark.parametrize("gnn,jk,edge_weight", CONFIGS)
@pytest.mark.parametrize("tau", [0.1, 0.6])
def test_dense_path_equals_pyg_path(gnn, jk, edge_weight, tau):
    x, mask = _batch()
    torch.manual_seed(1)
    pool = GLOTPooling(
        16, hidden_dim=8, num_layers=2, gnn=gnn, jk=jk, tau=tau, edge_weight=edge_weight, heads=2 if gnn == "gat" else 1
    ).eval()
    z_dense, w_dense = _pool({"token_embeddings": x, "attention_mask": mask}, pool)
    pool.backend = "pyg"
    z_pyg, w_pyg = _pool({"token_embeddings": x, "attention_mask": mask}, pool)
    limit = pooling_bound(pool, x, mask, z_dense)
    assert_within(z_pyg, z_dense, limit, "sentence embedding")
    assert_within(w_pyg, w_dense, softmax_bound(w_dense, limit), "token weights")


def test_dense_gradients_equal_pyg_gradients():
    x, mask = _batch()
    grads = {}
    for backend in ("dense", "pyg"):
        torch.manual_seed(1)
        pool = GLOTPooling(16, hidden_dim=8, num_layers=2, edge_weight="cosine", backend=backend)
        z, _ = _pool({"token_embeddings": x, "attention_mask": mask}, pool)
        z.square().sum().backward()
        grads[backend] = {n: p.grad for n, p in pool.named_parameters()}
    limit = gradient_bound(pool, mask, grads["dense"].values())
    for name, grad in grads["dense"].items():
        assert_within(grads["pyg"][name], grad, limit, name)


def test_single_gat_layer_matches_reference_gatconv():
    """One GAT layer, K=1, vs PyG's GATConv(edge_dim=1) on the reference's per-sequence graph."""
    x, mask = _batch()
    torch.manual_seed(2)
    pool = GLOTPooling(16, hidden_dim=8, num_layers=1, tau=0.2).eval()
    reference = GATConv(16, 8, edge_dim=1)
    reference.load_state_dict(pool.token_gnn.convs[0].state_dict())
    graph = build_token_graph(x, mask, tau=0.2)
    sparse = to_sparse(graph)
    u = torch.relu(reference(x[mask.bool()], sparse.edge_index, sparse.edge_value))
    expected = torch.cat([x[mask.bool()], u], dim=-1)
    got = dense_states(pool.token_gnn, x, graph)[mask.bool()]
    tokens = int(mask.sum())  # one layer: its fan-in, then the attention softmax and aggregation over the tokens
    assert_within(got, expected, bound(magnitude(x[mask.bool()], expected), fan_in([reference]) + 2 * tokens))


def test_input_norm_standardizes_what_the_readout_sees():
    """K=0 with input_norm='standardize': z is the weighted sum of per-text standardised tokens."""
    x, mask = _batch()
    pool = GLOTPooling(16, num_layers=0, input_norm="standardize").eval()
    z, weights = _pool({"token_embeddings": x, "attention_mask": mask}, pool)
    b, n = 1, 7
    tokens = x[b, :n]
    standardised = (tokens - tokens.mean(0)) / (tokens.std(0, unbiased=False) + 1e-6)
    assert_within(z[b], weights[b, :n] @ standardised, pooling_bound(pool, x, mask, z, standardised))


def test_input_running_norm_by_hand():
    """K=0 with input_norm='running': statistics of every valid token of every training batch, padding ignored."""
    pool = GLOTPooling(16, num_layers=0, input_norm="running").train()
    seen = []
    for seed in (0, 1):
        x, mask = _batch(seed=seed)
        x = x * torch.linspace(0.5, 20.0, 16) + 3.0 * (seed + 1)  # dimensions on very different scales, batches apart
        x[mask == 0] = 1e4  # padding must not reach the statistics
        z, weights = _pool({"token_embeddings": x, "attention_mask": mask}, pool)
        seen.append(x[mask.bool()])  # (N, 16)
        tokens = torch.cat(seen)  # every token so far, the current batch included
        mean, var = tokens.mean(0), tokens.var(0, unbiased=False)
        # The statistics are sums over every token seen: terms their count, scale |x| (mean) and x² (variance).
        statistics = (bound(tokens.abs().mean(0), len(tokens)), bound(tokens.square().mean(0), len(tokens)))
        # Standardising divides the statistics' rounding by σ: the stage's scale is |x| / σ.
        limit = bound(magnitude(x[mask.bool()] / var.sqrt(), z), glot_terms(pool, len(tokens)))
        for b in range(x.size(0)):
            valid = mask[b].bool()
            normalised = (x[b, valid] - mean) / torch.sqrt(var + 1e-5)
            assert_within(z[b], weights[b, valid] @ normalised, limit)
    norm = pool.input_running_norm
    assert norm.num_tokens.item() == len(tokens)
    assert_within(norm.running_mean, mean, statistics[0], "running mean")
    assert_within(norm.running_var, var, statistics[1], "running variance")
    pool.eval()  # inference: the same statistics, left unchanged
    x, mask = _batch(seed=2)
    z_eval, weights_eval = _pool({"token_embeddings": x, "attention_mask": mask}, pool)
    normalised = (x[0] - mean) / torch.sqrt(var + 1e-5)
    assert_within(z_eval[0], weights_eval[0] @ normalised, limit)
    assert norm.num_tokens.item() == len(tokens)
    assert_within(norm.running_mean, mean, statistics[0], "running mean")


def test_readout_by_hand():
    """K=0: z is the softmax(scorer)-weighted sum of the raw valid tokens."""
    x, mask = _batch()
    pool = GLOTPooling(16, num_layers=0).eval()
    z, weights = _pool({"token_embeddings": x, "attention_mask": mask}, pool)
    scorer = pool.readout.scorer
    limit = pooling_bound(pool, x, mask, z)
    for b in range(x.size(0)):
        tokens = x[b, mask[b].bool()]
        pi = torch.softmax(scorer(tokens).squeeze(-1), dim=0)
        assert_within(z[b], pi @ tokens, limit, "sentence embedding")
        assert_within(weights[b, : len(pi)], pi, softmax_bound(pi, limit), "token weights")
    assert torch.all(weights[mask == 0] == 0)
    assert_within(weights.sum(-1), torch.ones(x.size(0)), bound(1.0, x.size(1)))  # L weights of magnitude sum 1


def test_adapool_is_glot_without_layers():
    x, mask = _batch()
    ada = AdaPool(16).eval()
    glot = GLOTPooling.from_preset("paper", 16, num_layers=0, scorer_hidden=128).eval()  # raw states, as AdaPool
    glot.readout.load_state_dict(ada.readout.state_dict())
    z_ada, w_ada = _pool({"token_embeddings": x, "attention_mask": mask}, ada)
    z_glot, w_glot = _pool({"token_embeddings": x, "attention_mask": mask}, glot)
    limit = pooling_bound(glot, x, mask, z_ada)
    assert_within(z_glot, z_ada, limit, "sentence embedding")
    assert_within(w_glot, w_ada, softmax_bound(w_ada, limit), "token weights")


@pytest.mark.parametrize(
    "graph_norm,input_norm",
    [
        ("none", "none"),
        ("center", "none"),
        ("standardize", "none"),
        ("center", "standardize"),
        ("none", "center"),
        ("center", "running"),
    ],
)
def test_graph_norm_dense_equals_pyg(graph_norm, input_norm):
    x, mask = _batch()
    x = x + 3 * torch.randn(16)  # a shared direction, as in decoder states
    pool = GLOTPooling(16, hidden_dim=8, tau=0.2, graph_norm=graph_norm, input_norm=input_norm, backend="dense").eval()
    z_dense, w_dense = _pool({"token_embeddings": x, "attention_mask": mask}, pool)
    pool.backend = "pyg"
    z_pyg, w_pyg = _pool({"token_embeddings": x, "attention_mask": mask}, pool)
    limit = pooling_bound(pool, x, mask, z_dense)
    assert_within(z_pyg, z_dense, limit, "sentence embedding")
    assert_within(w_pyg, w_dense, softmax_bound(w_dense, limit), "token weights")


@pytest.mark.parametrize(
    "gnn,graph_norm",
    [("gat", "none"), ("gcn", "none"), ("gin", "none"), ("gine", "none"), ("gat", "center"), ("gat", "standardize")],
)
def test_padding_invariance(gnn, graph_norm):
    x, _ = _batch(B=1, L=5)
    pool = GLOTPooling(16, hidden_dim=8, gnn=gnn, tau=0.1, graph_norm=graph_norm, input_norm=graph_norm).eval()
    alone, _ = _pool({"token_embeddings": x, "attention_mask": torch.ones(1, 5)}, pool)
    padded = torch.cat([x, torch.randn(1, 40, 16) * 100], dim=1)
    batch = torch.cat([padded, torch.randn(1, 45, 16)])
    mask = torch.zeros(2, 45)
    mask[0, :5] = 1
    mask[1] = 1
    together, _ = _pool({"token_embeddings": batch, "attention_mask": mask}, pool)
    assert_within(together[0], alone[0], pooling_bound(pool, batch, mask, alone))


def _pool_and_grads(pool, features):
    pool.zero_grad(set_to_none=True)
    z, w = _pool(features, pool)
    (z * torch.linspace(-1.0, 1.0, z.size(-1))).square().sum().backward()
    return z.detach(), w.detach(), {n: p.grad.clone() for n, p in pool.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("gnn,jk,edge_weight", CONFIGS)
@pytest.mark.parametrize("graph_norm,input_norm", [("none", "none"), ("center", "running"), ("standardize", "center")])
def test_packed_path_equals_padded_path(monkeypatch, gnn, jk, edge_weight, graph_norm, input_norm):
    """Per-token work on the valid tokens only (packed) gives the padded computation's outputs and gradients."""
    x, mask = _batch()
    x = x + 2 * torch.randn(16)
    kwargs = dict(gnn=gnn, jk=jk, edge_weight=edge_weight, graph_norm=graph_norm, input_norm=input_norm)
    results = {}
    for packed in (True, False):
        if not packed:
            monkeypatch.setattr(PackedTokens, "from_mask", classmethod(lambda cls, valid, max_fill=0.9: None))
        torch.manual_seed(1)
        pool = GLOTPooling(16, hidden_dim=8, tau=0.2, heads=2 if gnn == "gat" else 1, backend="dense", **kwargs)
        results[packed] = _pool_and_grads(pool, {"token_embeddings": x, "attention_mask": mask})
        if input_norm == "running":
            results[packed][2]["running_mean"] = pool.input_running_norm.running_mean.clone()
    (z_p, w_p, g_p), (z_d, w_d, g_d) = results[True], results[False]
    limit = pooling_bound(pool, x, mask, z_d)
    assert_within(z_p, z_d, limit, "sentence embedding")
    assert_within(w_p, w_d, softmax_bound(w_d, limit), "token weights")
    assert g_p.keys() == g_d.keys()
    gradients = gradient_bound(pool, mask, g_d.values())
    for name, grad in g_d.items():  # the readout's last bias has gradient 0 in exact arithmetic: one scale for all
        assert_within(g_p[name], grad, gradients, name)


def test_packing_is_used_on_padded_batches_only():
    x, mask = _batch()
    assert PackedTokens.from_mask(mask.bool()).index.tolist() == mask.flatten().nonzero().squeeze(1).tolist()
    assert PackedTokens.from_mask(torch.ones(4, 12, dtype=torch.bool)) is None  # nothing to save: padded form


def test_training_on_states_made_in_inference_mode():
    """Backbone states computed under torch.inference_mode() can still train the pooler (no padding: nothing copied)."""
    with torch.inference_mode():
        x = torch.randn(2, 5, 16)
    pool = GLOTPooling.from_preset("paper", 16, hidden_dim=8)  # no input norm: the states reach the GNN as given
    z, _ = _pool({"token_embeddings": x, "attention_mask": torch.ones(2, 5)}, pool)
    z.square().sum().backward()
    assert pool.readout.scorer[0].weight.grad.abs().sum() > 0


def test_left_padding_and_batch_order_give_the_same_vectors():
    """Rows padded on the left, and the batch in another order, pool to the same vectors (packed path)."""
    x, mask = _batch()
    pool = GLOTPooling(16, hidden_dim=8, tau=0.2).eval()
    z, w = _pool({"token_embeddings": x, "attention_mask": mask}, pool)
    lengths = mask.sum(1)
    shift = (12 - lengths).tolist()
    left_x = torch.stack([torch.roll(x[b], shift[b], dims=0) for b in range(4)])
    left_mask = torch.stack([torch.roll(mask[b], shift[b]) for b in range(4)])
    order = torch.tensor([2, 0, 3, 1])
    z_left, w_left = _pool({"token_embeddings": left_x[order], "attention_mask": left_mask[order]}, pool)
    limit = pooling_bound(pool, x, mask, z)
    assert_within(z_left, z[order], limit, "sentence embedding")
    expected = w[order][mask[order].bool()]
    assert_within(w_left[left_mask[order].bool()], expected, softmax_bound(expected, limit), "token weights")


@pytest.mark.parametrize("gnn", ["gat", "gcn", "gin", "gine"])
def test_token_order_invariance(gnn):
    x, _ = _batch(B=1, L=9)
    pool = GLOTPooling(16, hidden_dim=8, gnn=gnn, tau=0.1, edge_weight="binary").eval()
    mask = torch.ones(1, 9)
    z, w = _pool({"token_embeddings": x, "attention_mask": mask}, pool)
    perm = torch.randperm(9)
    z_perm, w_perm = _pool({"token_embeddings": x[:, perm], "attention_mask": mask}, pool)
    limit = pooling_bound(pool, x, mask, z)
    assert_within(z_perm, z, limit, "sentence embedding")
    assert_within(w_perm, w[:, perm], softmax_bound(w[:, perm], limit), "token weights")


def test_no_edges_and_all_edges_give_finite_output():
    orthogonal = torch.eye(8).unsqueeze(0)  # no pair passes any tau >= 0
    identical = torch.ones(1, 8, 8)  # every pair has S = 1
    for x in (orthogonal, identical):
        for gnn in ("gat", "gcn", "gin", "gine"):
            z, _ = _pool({"token_embeddings": x, "attention_mask": torch.ones(1, 8)}, GLOTPooling(8, gnn=gnn))
            assert torch.isfinite(z).all()


def test_flash_attention_flattened_input_matches_padded():
    x, mask = _batch()
    pool = GLOTPooling(16, hidden_dim=8).eval()
    z, w = _pool({"token_embeddings": x, "attention_mask": mask}, pool)
    lengths = mask.sum(1)
    flat = x[mask.bool()].unsqueeze(0)  # (1, total, d)
    bounds = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)])
    z_flat, w_flat = _pool({"token_embeddings": flat, "cu_seq_lens_q": bounds}, pool)
    limit = pooling_bound(pool, x, mask, z)
    assert_within(z_flat, z, limit, "sentence embedding")
    assert_within(w_flat, w[:, : w_flat.size(1)], softmax_bound(w[:, : w_flat.size(1)], limit), "token weights")


def test_half_precision_states_use_fp32_graph_and_softmax():
    """fp16 states are widened first: the result is the fp32 one on the same (fp16-representable) values."""
    x, mask = _batch()
    pool = GLOTPooling(16, hidden_dim=8).eval()
    z32, w32 = _pool({"token_embeddings": x.half().float(), "attention_mask": mask}, pool)
    z16, w16 = _pool({"token_embeddings": x.half(), "attention_mask": mask}, pool)
    assert w16.dtype == torch.float32 and z16.dtype == torch.float32
    assert torch.equal(z16, z32) and torch.equal(w16, w32)  # one fp32 path on equal inputs


def test_nan_states_raise():
    x, mask = _batch()
    x[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="GLOTPooling received NaN or inf token states from the backbone"):
        GLOTPooling(16)({"token_embeddings": x, "attention_mask": mask})


def test_nan_on_padding_is_ignored():
    x, mask = _batch()
    x[2, 5] = float("nan")  # a padding position
    z = GLOTPooling(16)({"token_embeddings": x, "attention_mask": mask})["sentence_embedding"]
    assert torch.isfinite(z).all()


def test_wrong_width_raises():
    with pytest.raises(ValueError, match="embedding_dimension=32.*width 16"):
        GLOTPooling(32)({"token_embeddings": torch.randn(1, 3, 16), "attention_mask": torch.ones(1, 3)})


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"gnn": "sage"}, r"Invalid gnn: 'sage'. Valid values are: \('gat', 'gcn', 'gin', 'gine'\)"),
        ({"jk": "lstm"}, r"Invalid jk: 'lstm'. Valid values are: \('cat', 'max', 'mean'\)"),
        ({"edge_weight": "soft"}, r"Invalid edge_weight: 'soft'. Valid values are: \('binary', 'cosine'\)"),
        ({"backend": "cuda"}, r"Invalid backend: 'cuda'"),
        ({"tau": 1.5}, r"Invalid tau: 1.5.*\[-1, 1\]"),
        ({"hidden_dim": -4}, r"Invalid hidden_dim: -4"),
        ({"num_layers": -1}, r"Invalid num_layers: -1"),
        ({"heads": 0}, r"Invalid heads: 0"),
        ({"dropout": 1.0}, r"Invalid dropout: 1.0"),
        ({"gnn": "gin", "edge_weight": "cosine"}, r"no effect with gnn='gin'"),
    ],
)
def test_bad_arguments_name_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GLOTPooling(16, **kwargs)


@pytest.mark.parametrize("num_layers,jk,width", [(0, "cat", 16), (2, "cat", 16 + 2 * 8), (3, "max", 8), (1, "mean", 8)])
def test_embedding_dimension(num_layers, jk, width):
    pool = GLOTPooling(16, hidden_dim=8, num_layers=num_layers, jk=jk)
    assert pool.get_embedding_dimension() == width
    z, _ = _pool({"token_embeddings": torch.randn(2, 4, 16), "attention_mask": torch.ones(2, 4)}, pool)
    assert z.shape == (2, width)
    assert pool.scorer_hidden == max(128, width // 2)


def test_reset_parameters_changes_weights():
    pool = GLOTPooling(16, hidden_dim=8)
    before = {k: v.clone() for k, v in pool.state_dict().items()}
    torch.manual_seed(123)
    pool.reset_parameters()
    assert any(not torch.equal(before[k], v) for k, v in pool.state_dict().items() if v.is_floating_point())


def test_repr_tells_presets_apart():
    assert repr(GLOTPooling(384)) == "GLOTPooling(384)"
    assert repr(GLOTPooling.from_preset("recommended", 384)) == "GLOTPooling(384)"
    assert repr(GLOTPooling.from_preset("paper", 384)) == "GLOTPooling(384, graph_norm='none', input_norm='none')"
    assert repr(GLOTPooling.from_preset("paper", 384, tau=0.6)) == (
        "GLOTPooling(384, tau=0.6, graph_norm='none', input_norm='none')"
    )
    # scorer_hidden=None resolves to max(128, D // 2): shown only when it is set to something else
    assert repr(GLOTPooling(384, scorer_hidden=max(128, (384 + 2 * 128) // 2))) == "GLOTPooling(384)"
    assert repr(GLOTPooling(384, scorer_hidden=64)) == "GLOTPooling(384, scorer_hidden=64)"
    assert repr(AdaPool(384)) == "AdaPool(384)" and repr(AdaPool(8, 16)) == "AdaPool(8, scorer_hidden=16)"


@pytest.mark.parametrize("seed", range(6))
def test_repr_names_every_option_that_differs_and_rebuilds_the_module(seed):
    """Random configurations: the repr lists exactly the options set to a non-default value, and evaluates
    to a module of the same configuration."""
    choices = {
        "hidden_dim": [128, 8],
        "num_layers": [2, 0, 3],
        "gnn": ["gat", "gcn", "gine"],
        "jk": ["cat", "max"],
        "tau": [0.3, -0.25],
        "edge_weight": ["binary", "cosine"],
        "heads": [1, 2],
        "dropout": [0.0, 0.1],
        "graph_norm": ["center", "none", "standardize"],
        "input_norm": ["running", "center"],
        "anchor": ["none", "mean"],
        "anchor_weight": [0.5, 0.75],
        "backend": ["auto", "pyg"],
    }
    generator = torch.Generator().manual_seed(seed)
    picked = {
        name: values[int(torch.randint(len(values), (1,), generator=generator))] for name, values in choices.items()
    }
    pool = GLOTPooling(16, **picked)
    text = repr(pool)
    assert text.count("\n") == 0
    differing = {name for name, value in picked.items() if value != choices[name][0]}  # first = the default
    assert {name for name in choices if f" {name}=" in text} == differing
    rebuilt = eval(text, {"GLOTPooling": GLOTPooling})
    assert rebuilt.get_config_dict() == pool.get_config_dict()


@pytest.mark.parametrize("heads", [1, 3])
def test_gat_edge_list_path_equals_pyg_gatconv(heads):
    """TokenGATConv.forward_sparse against torch-geometric's own GATConv.forward, same parameters."""
    x, mask = _batch()
    graph = build_token_graph(x, mask, tau=0.1, edge_weight="cosine")
    sparse = to_sparse(graph)
    torch.manual_seed(3)
    conv = GLOTPooling(16, hidden_dim=8, num_layers=1, heads=heads).token_gnn.convs[0].eval()
    nodes = x[mask.bool()]
    expected = GATConv.forward(conv, nodes, sparse.edge_index, sparse.edge_value)
    # One layer: its fan-in, then the attention softmax and aggregation over at most every node.
    limit = bound(magnitude(nodes, expected), fan_in([conv]) + 2 * len(nodes))
    assert_within(conv.forward_sparse(nodes, sparse.edge_index, sparse.edge_value), expected, limit)
