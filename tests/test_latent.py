"""LatentAttentionPooling: the math against a per-token loop, padding, save/load, registration."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import build_model
from sentence_transformers import SentenceTransformer

from st_glot import LatentAttentionPooling
from st_glot.models.factory import make_pooler
from st_glot.training.fit import pooler_name
from st_glot.utils.choices import POOLINGS

EPS = torch.finfo(torch.float32).eps


def _pool(d=16, **kwargs) -> LatentAttentionPooling:
    torch.manual_seed(0)
    pool = LatentAttentionPooling(d, **{"num_latents": 12, "heads": 4, "mlp_hidden": 40, **kwargs}).eval()
    with torch.no_grad():  # LayerNorms away from their identity initialisation, so the test sees them
        for norm in (pool.query_norm, pool.latent_norm, pool.mlp_norm):
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.normal_(0, 0.1)
    return pool


def _naive(pool: LatentAttentionPooling, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """The module docstring's formulas one sequence, one token and one head at a time, in float64."""
    p = {name: t.detach().double() for name, t in pool.state_dict().items()}
    H, e = pool.heads, pool.head_dim

    def layer_norm(v, name):
        centred = v - v.mean()
        return centred / torch.sqrt((centred**2).mean() + 1e-5) * p[f"{name}.weight"] + p[f"{name}.bias"]

    latents = torch.stack([layer_norm(c, "latent_norm") for c in p["latents"]])  # (r, d)
    w_key, w_value = p["to_key_value.weight"].chunk(2, dim=0)  # (H e, d) each
    out = []
    for b in range(x.size(0)):
        tokens = []
        for t in valid[b].nonzero().squeeze(1).tolist():
            x_t = x[b, t].double()
            q = p["to_query.weight"] @ layer_norm(x_t, "query_norm")  # (H e,)
            heads = []
            for k in range(H):
                rows = slice(k * e, (k + 1) * e)
                scores = torch.stack([q[rows] @ (w_key[rows] @ c) for c in latents]) / e**0.5  # (r,)
                weights = torch.softmax(scores, dim=0)
                heads.append(sum(a * (w_value[rows] @ c) for a, c in zip(weights, latents)))
            y = x_t + p["to_out.weight"] @ torch.cat(heads)
            hidden = torch.nn.functional.gelu(p["mlp.0.weight"] @ layer_norm(y, "mlp_norm") + p["mlp.0.bias"])
            tokens.append(y + p["mlp.2.weight"] @ hidden + p["mlp.2.bias"])
        out.append(torch.stack(tokens).mean(0) if tokens else torch.zeros(x.size(-1), dtype=torch.float64))
    return torch.stack(out)


def _batch():
    torch.manual_seed(1)
    x = torch.randn(4, 7, 16) * 3
    mask = torch.ones(4, 7, dtype=torch.long)
    mask[1, 4:] = 0
    mask[2, :5] = 0  # left padding
    mask[3] = 0  # a text without tokens
    return x, mask


def _tolerance(pool: LatentAttentionPooling, reference: torch.Tensor) -> float:
    """float32 rounding: a dot product of n terms is off by at most n·eps/2 relative to the sum of its terms' sizes
    (the standard bound); the widest contraction sets n, and the pooler's two stacked blocks double it."""
    longest = max(pool.embedding_dimension, pool.num_latents, pool.heads * pool.head_dim, pool.mlp_hidden)
    return 2 * EPS * longest * float(reference.abs().max())


def test_matches_a_per_token_loop():
    pool = _pool()
    x, mask = _batch()
    with torch.no_grad():
        got = pool({"token_embeddings": x, "attention_mask": mask})["sentence_embedding"]
    expected = _naive(pool, x, mask.bool())
    assert got.shape == (4, 16) and got.dtype == torch.float32
    assert float((got.double() - expected).abs().max()) <= _tolerance(pool, expected)
    assert torch.equal(got[3], torch.zeros(16))


def test_padding_contributes_nothing():
    pool = _pool()
    x, mask = _batch()
    garbage = x.clone()
    garbage[mask == 0] = torch.randn(int((mask == 0).sum()), 16) * 1e4
    garbage[1, 5] = float("nan")  # NaN on padding is ignored, as for the other poolers
    with torch.no_grad():
        z = pool({"token_embeddings": x, "attention_mask": mask})["sentence_embedding"]
        z_garbage = pool({"token_embeddings": garbage, "attention_mask": mask})["sentence_embedding"]
        alone = torch.cat(
            [pool({"token_embeddings": x[b : b + 1, mask[b].bool()]})["sentence_embedding"] for b in range(3)]
        )
    tolerance = _tolerance(pool, z)
    assert float((z - z_garbage).abs().max()) <= tolerance
    assert float((z[:3] - alone).abs().max()) <= tolerance


def test_flash_attention_flattened_input_matches_padded():
    pool = _pool()
    x, mask = _batch()
    lengths = mask.sum(1)
    flat = x[mask.bool()].unsqueeze(0)  # (1, N, d)
    bounds = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)])
    with torch.no_grad():
        padded = pool({"token_embeddings": x, "attention_mask": mask})["sentence_embedding"]
        flattened = pool({"token_embeddings": flat, "cu_seq_lens_q": bounds})["sentence_embedding"]
    assert float((padded - flattened).abs().max()) <= _tolerance(pool, padded)


def test_defaults_are_the_papers_and_widths_are_configurable():
    pool = LatentAttentionPooling(64)
    assert (pool.num_latents, pool.heads, pool.head_dim, pool.mlp_hidden) == (512, 8, 8, 256)
    assert pool.latents.shape == (512, 64) and pool.get_embedding_dimension() == 64
    d, r, inner, m = 64, 512, 64, 256
    expected = r * d + 3 * 2 * d + d * inner + d * 2 * inner + inner * d + (d * m + m) + (m * d + d)
    assert sum(p.numel() for p in pool.parameters()) == expected
    wide = LatentAttentionPooling(64, num_latents=32, heads=2, head_dim=64, mlp_hidden=100)
    assert wide.to_query.weight.shape == (128, 64) and wide.mlp[0].weight.shape == (100, 64)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_latents": 0}, "Invalid num_latents: 0"),
        ({"heads": 0}, "Invalid heads: 0"),
        ({"head_dim": 0}, "Invalid head_dim: 0"),
        ({"mlp_hidden": 2.5}, "Invalid mlp_hidden: 2.5"),
    ],
)
def test_bad_arguments_name_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LatentAttentionPooling(16, **kwargs)


def test_gradients_reach_every_parameter():
    pool = _pool().train()
    x, mask = _batch()
    z = pool({"token_embeddings": x, "attention_mask": mask})["sentence_embedding"]
    z.square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in pool.parameters())


SENTENCES = ["the cat sat on the mat", "a quick brown fox", "dog", "the folder includes files and reports"]


def test_save_load_gives_identical_encodings(tiny_backbone, tmp_path):
    pool = LatentAttentionPooling(tiny_backbone.get_embedding_dimension(), num_latents=16, heads=2, mlp_hidden=20)
    model = build_model(tiny_backbone, pool)
    model.save(str(tmp_path))
    again = SentenceTransformer(str(tmp_path), trust_remote_code=True, device="cpu")
    assert isinstance(again[1], LatentAttentionPooling)
    assert again[1].get_config_dict() == pool.get_config_dict()
    np.testing.assert_array_equal(model.encode(SENTENCES), again.encode(SENTENCES))
    loaded = LatentAttentionPooling.load(str(tmp_path / "1_LatentAttentionPooling"))
    for name, tensor in pool.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name


def test_registered_as_a_pooling_method(tiny_backbone):
    assert "latent" in POOLINGS
    pool = make_pooler("latent", tiny_backbone)
    assert isinstance(pool, LatentAttentionPooling) and pool.get_embedding_dimension() == 32
    assert (pool.num_latents, pool.heads) == (512, 8)
    assert pooler_name(pool) == "latent"
