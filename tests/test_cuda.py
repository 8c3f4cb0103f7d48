"""Device tests (``-m cuda``): the pooler, the two paths, training and save/load on an accelerator.

Every result on the device is compared with the same computation on the CPU.
Without CUDA these tests skip; ``ST_GLOT_TEST_DEVICE=cpu`` runs them on the CPU
(both sides then run there), which checks the code paths on a machine without
a GPU. ``benchmarks/gpu_check.sh`` runs them.
"""

from __future__ import annotations

import copy
import os

import numpy as np
import pytest
import torch
from conftest import build_model
from datasets import Dataset
from sentence_transformers import SentenceTransformer
from tolerance import (
    assert_trained_alike,
    assert_within,
    backbone_terms,
    bound,
    encoder_bound,
    glot_terms,
    gradient_bound,
    gradient_terms,
    magnitude,
    pooling_bound,
    softmax_bound,
    statistics_bound,
    training_bound,
)

from st_glot import GLOTPooling
from st_glot.training.fit import fit

DEVICE = torch.device(os.environ.get("ST_GLOT_TEST_DEVICE") or "cuda")

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(
        DEVICE.type == "cuda" and not torch.cuda.is_available(),
        reason="no CUDA device (ST_GLOT_TEST_DEVICE=cpu runs these tests on the CPU)",
    ),
]

#: The recommended configuration, at toy width.
RECOMMENDED = {"hidden_dim": 8, "tau": 0.3, "graph_norm": "center", "input_norm": "running"}
SENTENCES = ["the cat sat on the mat", "a quick brown fox jumps over the lazy dog", "dog", "the box contains files"]
WORDS = "the cat sat on mat dog red blue green quick brown fox jumps over lazy keys files folder box".split()


def _states(B=4, L=12, d=16, seed=0) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B, L, d)`` states sharing a direction (many edges at tau 0.3) and a ``(B, L)`` mask with padding."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(B, L, d, generator=generator) + 0.5
    lengths = torch.tensor([L, L - 5, 1, L - 2][:B])  # (B,)
    valid = torch.arange(L) < lengths.unsqueeze(1)  # (B, L)
    return x, valid


def _pairs(n: int, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    s1 = [" ".join(rng.choice(WORDS, rng.integers(2, 9))) for _ in range(n)]
    s2 = [" ".join(rng.choice(WORDS, rng.integers(2, 9))) for _ in range(n)]
    return Dataset.from_dict({"s1": s1, "s2": s2, "score": rng.random(n).tolist()})


def _forward_backward(pool: GLOTPooling, x: torch.Tensor, valid: torch.Tensor, probe: torch.Tensor) -> dict:
    """One training forward and backward of ``pool`` on its device: outputs, gradients and buffers, on the CPU."""
    device = next(pool.parameters()).device
    pool.zero_grad(set_to_none=True)
    out = pool({"token_embeddings": x.to(device), "attention_mask": valid.long().to(device)})
    (out["sentence_embedding"] * probe.to(device)).sum().backward()
    return {
        "sentence_embedding": out["sentence_embedding"].detach().cpu(),
        "token_weights": out["token_weights"].detach().cpu(),
        **{f"grad {name}": p.grad.cpu() for name, p in pool.named_parameters()},
        **{f"buffer {name}": b.cpu() for name, b in pool.named_buffers()},
    }


def _assert_same(got: dict, expected: dict, pool: GLOTPooling, x: torch.Tensor, valid: torch.Tensor) -> None:
    """Outputs, gradients and running statistics of two paths, each within its rounding bound."""
    assert got.keys() == expected.keys()
    outputs = pooling_bound(pool, x, valid, expected["sentence_embedding"])
    gradients = gradient_bound(pool, valid, [v for k, v in expected.items() if k.startswith("grad ")])
    buffers = {k.removeprefix("buffer "): v for k, v in expected.items() if k.startswith("buffer ")}
    for name, value in expected.items():
        if name.startswith("grad "):
            assert_within(got[name], value, gradients, name)
        elif name == "token_weights":
            assert_within(got[name], value, softmax_bound(value, outputs), name)
        elif not value.is_floating_point():
            assert torch.equal(got[name], value), name
        elif name.startswith("buffer "):
            assert_within(got[name], value, statistics_bound(buffers, name.removeprefix("buffer ")), name)
        else:
            assert_within(got[name], value, outputs, name)


@pytest.mark.parametrize("backend", ["dense", "pyg"])
def test_pooler_forward_backward_on_device_equals_cpu(backend):
    x, valid = _states()
    torch.manual_seed(0)
    pool = GLOTPooling(16, backend=backend, **RECOMMENDED).train()
    probe = torch.randn(4, pool.get_embedding_dimension())
    on_device = copy.deepcopy(pool).to(DEVICE)
    got = _forward_backward(on_device, x, valid, probe)
    expected = _forward_backward(pool, x, valid, probe)
    assert all(p.device.type == DEVICE.type for p in on_device.parameters())
    assert on_device.last_backend == backend
    _assert_same(got, expected, pool, x, valid)
    assert torch.all(got["token_weights"][~valid] == 0)
    assert_within(got["token_weights"].sum(1), torch.ones(4), bound(1.0, valid.size(1)))  # L weights summing to 1


def test_dense_equals_pyg_on_device():
    x, valid = _states(seed=1)
    torch.manual_seed(1)
    dense = GLOTPooling(16, backend="dense", **RECOMMENDED).train().to(DEVICE)
    pyg = copy.deepcopy(dense)
    pyg.backend = "pyg"
    probe = torch.randn(4, dense.get_embedding_dimension())
    _assert_same(_forward_backward(pyg, x, valid, probe), _forward_backward(dense, x, valid, probe), dense, x, valid)
    assert (dense.last_backend, pyg.last_backend) == ("dense", "pyg")


def test_bf16_autocast_on_device_stays_close_to_fp32():
    x, valid = _states(seed=2)
    torch.manual_seed(2)
    pool = GLOTPooling(16, backend="dense", **RECOMMENDED).eval().to(DEVICE)
    features = {"token_embeddings": x.to(DEVICE), "attention_mask": valid.long().to(DEVICE)}
    fp32 = pool(dict(features))
    with torch.autocast(DEVICE.type, dtype=torch.bfloat16):
        bf16 = pool({**features, "token_embeddings": features["token_embeddings"].bfloat16()})
    assert bf16["token_weights"].dtype == torch.float32  # the readout softmax stays fp32
    assert_within(bf16["token_weights"].sum(1), torch.ones(4, device=DEVICE), bound(1.0, valid.size(1)))
    # Autocast rounds the inputs of every product to bfloat16: ε_bf16 of the scale per stage, whatever its length
    # (each weight matrix, and per layer the attention and the aggregation), beside the fp32 sums' own rounding.
    stages = sum(1 for p in pool.parameters() if p.dim() > 1) + 2 * pool.num_layers + 1
    z = fp32["sentence_embedding"].cpu()
    limit = bound(magnitude(x[valid], z), stages, torch.finfo(torch.bfloat16).eps) + pooling_bound(pool, x, valid, z)
    weights = fp32["token_weights"].cpu()
    assert_within(bf16["token_weights"].cpu(), weights, softmax_bound(weights, limit), "token weights")
    assert_within(bf16["sentence_embedding"].float().cpu(), z, limit, "sentence embedding")


def test_fit_on_cached_states_trains_on_device(tiny_backbone, tmp_path):
    """The cache lives on disk and is gathered on the CPU; training runs on the device and matches a CPU run."""
    data = _pairs(32)
    encodings, models = [], []
    for run, device in enumerate((DEVICE, torch.device("cpu"))):
        torch.manual_seed(0)
        model = build_model(copy.deepcopy(tiny_backbone), GLOTPooling(32, **RECOMMENDED)).to(device)
        backbone_before = {k: v.clone() for k, v in model[0].state_dict().items()}
        result = fit(
            model,
            data,
            loss="cosine",
            epochs=1,
            batch_size=16,
            cache_dir=tmp_path / f"run{run}",  # a fresh cache each: both runs fill theirs
            cache_dtype="float32",
            show_progress_bar=False,
        )
        assert result.texts_computed == len(set(data["s1"]) | set(data["s2"]))
        assert all(torch.equal(v, model[0].state_dict()[k]) for k, v in backbone_before.items())
        assert model[1].input_running_norm.num_tokens.item() > 0
        encodings.append(model.encode(SENTENCES, convert_to_numpy=True))
        models.append(model)
    assert all(p.device.type == DEVICE.type for p in models[0][1].parameters())
    # 2 steps (32 pairs in batches of 16) at fit's default rate; the states and the gradients rounding apart.
    features = models[1].preprocess(list(data["s1"]) + list(data["s2"]))
    tokens, batch_tokens = int(features["attention_mask"].sum(1).max()), int(features["attention_mask"].sum()) // 2
    state_terms = backbone_terms(models[1][0].auto_model, tokens)
    terms = state_terms + gradient_terms(glot_terms(models[1][1], batch_tokens), batch_tokens)
    on_device = {k: v.cpu() for k, v in models[0][1].state_dict().items()}
    assert_trained_alike(on_device, models[1][1].state_dict(), training_bound(2e-4, 2, terms), state_terms)
    assert encodings[0].shape == encodings[1].shape and np.isfinite(encodings[0]).all()


@pytest.mark.parametrize("save_on, load_on", [("device", "cpu"), ("cpu", "device")])
def test_save_and_load_across_devices(tiny_backbone, tmp_path, save_on, load_on):
    devices = {"device": DEVICE, "cpu": torch.device("cpu")}
    torch.manual_seed(0)
    pool = GLOTPooling(32, **RECOMMENDED)
    model = build_model(tiny_backbone, pool).to(devices[save_on])
    model.train()
    features = model.preprocess(SENTENCES + ["another sentence"])
    model.forward(
        {k: v.to(model.device) if torch.is_tensor(v) else v for k, v in features.items()}
    )  # running statistics to carry across
    model.eval()
    before = model.encode(SENTENCES, convert_to_numpy=True)
    model.save(str(tmp_path / "m"))
    again = SentenceTransformer(str(tmp_path / "m"), trust_remote_code=True, device=str(devices[load_on]))
    assert again.device.type == devices[load_on].type
    assert torch.equal(again[1].input_running_norm.running_mean.cpu(), pool.input_running_norm.running_mean.cpu())
    tokens = int(model.preprocess(SENTENCES)["attention_mask"].sum(1).max())
    assert_within(again.encode(SENTENCES, convert_to_numpy=True), before, encoder_bound(model, tokens))
