"""Reliability: hostile inputs, hostile token states, broken folders, full disks,
interrupted work (real ``kill -9``), concurrent writers, determinism."""

from __future__ import annotations

import errno
import json
import os
import pickle
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import build_model
from datasets import Dataset
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Transformer
from tolerance import (
    assert_within,
    backbone_terms,
    bound,
    clear_of,
    encoder_bound,
    magnitude,
    pooling_bound,
    similarity_bound,
    softmax_bound,
)

from st_glot import GLOTPooling
from st_glot.nn.graph import cosine_similarity_matrix
from st_glot.training.cache import TokenStateCache
from st_glot.training.fit import fit
from st_glot.training.frozen import backbone_states

WORKER = str(Path(__file__).with_name("reliability_worker.py"))
HOSTILE = ["", "   \t\n ", "a", "😀 猫 кот cat ✓", "dog"]


def _pool(pool: GLOTPooling, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    out = pool({"token_embeddings": x, "attention_mask": mask})
    return out["sentence_embedding"].detach(), out["token_weights"].detach()


# ---- hostile texts through model.encode ----


@pytest.fixture(params=["bert", "llama"])
def any_model(request, tiny_bert_dir, tiny_llama_dir) -> SentenceTransformer:
    folder, width = (tiny_bert_dir, 32) if request.param == "bert" else (tiny_llama_dir, 24)
    torch.manual_seed(0)
    return build_model(Transformer(folder), GLOTPooling(width, hidden_dim=8).eval())


def test_hostile_texts_give_finite_vectors_of_the_right_size(any_model):
    width = any_model.get_embedding_dimension()
    long_text = " ".join(["dog"] * 3000)  # far beyond max_seq_length
    emb = any_model.encode([*HOSTILE, long_text], batch_size=3)
    assert emb.shape == (len(HOSTILE) + 1, width) and np.isfinite(emb).all()
    tokens = any_model.preprocess([*HOSTILE, long_text])["attention_mask"].sum(1).numpy()
    # A text with tokens has a unit vector (its norm sums `width` squares); one with none (a decoder's "")
    # pools to 0, never NaN.
    assert_within(np.linalg.norm(emb, axis=1), (tokens > 0).astype(np.float32), bound(1.0, width + 2), "norms")
    # Each vector equals the text encoded alone (a batch of one; a batch with no token at all is below).
    for text, row, count in zip(HOSTILE, emb, tokens):
        if not count:
            continue
        alone = any_model.encode(text)
        assert alone.shape == (width,)
        assert_within(row, alone, encoder_bound(any_model, int(count)), repr(text))


def test_decoder_empty_text_pools_to_zero(tiny_llama_dir):
    """The tiny Llama adds no BOS: "" has no token, and both backends give a zero vector and weights."""
    model = build_model(Transformer(tiny_llama_dir), GLOTPooling(24, hidden_dim=8))
    features = model.preprocess(["", "cat dog"])
    assert features["attention_mask"][0].sum() == 0
    for backend in ("dense", "pyg"):
        model[1].backend = backend
        with torch.no_grad():
            out = model(features)
        assert torch.all(out["sentence_embedding"][0] == 0) and torch.all(out["token_weights"][0] == 0)
        assert torch.isfinite(out["sentence_embedding"]).all()


def test_decoder_batch_of_only_tokenless_texts_fails_in_the_backbone(tiny_llama_dir):
    """A known limit, not st-glot's: transformers' Llama cannot run a (B, 0) batch. Mixed with any
    text that has a token, "" works (above); docs/guarantees.md says so."""
    model = build_model(Transformer(tiny_llama_dir), GLOTPooling(24, hidden_dim=8))
    with pytest.raises(RuntimeError, match="0 elements"):
        model.encode(["", " "])


@pytest.mark.parametrize("backend", ["dense", "pyg"])
def test_batch_without_any_token_position_pools_to_zero(backend):
    z, w = _pool(GLOTPooling(8, hidden_dim=4, backend=backend), torch.zeros(2, 0, 8), torch.zeros(2, 0))
    assert z.shape == (2, 8 + 2 * 4) and torch.all(z == 0) and w.shape == (2, 0)


def test_text_beyond_max_seq_length_is_truncated(tiny_bert_dir):
    model = build_model(Transformer(tiny_bert_dir), GLOTPooling(32, hidden_dim=8).eval())
    model.max_seq_length = 16
    truncated = " ".join(["dog"] * 14)  # [CLS] + 14 + [SEP] = 16 tokens
    long_text = " ".join(["dog"] * 3000)
    assert model.preprocess([long_text])["input_ids"].shape == (1, 16)
    np.testing.assert_array_equal(model.encode(long_text), model.encode(truncated))


@pytest.mark.parametrize("bad", [None, 3, b"bytes"])
def test_non_string_input_is_refused_by_sentence_transformers(tiny_bert_dir, bad):
    """sentence-transformers 6 checks input types itself; its error names the bad type and the valid ones."""
    model = build_model(Transformer(tiny_bert_dir), GLOTPooling(32, hidden_dim=8))
    with pytest.raises(ValueError, match=f"Unsupported input type: {type(bad).__name__}. Expected one of: str"):
        model.encode(["a", bad, "b"])


def test_fit_names_a_missing_text_and_its_position(tiny_bert_dir, tmp_path):
    model = build_model(Transformer(tiny_bert_dir), GLOTPooling(32, hidden_dim=8))
    data = Dataset.from_dict({"text": ["dog", "cat", None, "red"], "label": [0, 1, 0, 1]})
    with pytest.raises(TypeError, match=r"Text 2 is None of type NoneType; the token-state cache takes str only"):
        fit(model, data, loss="classification", epochs=1, cache_dir=tmp_path, show_progress_bar=False)


# ---- hostile token states, straight into GLOTPooling ----


@pytest.mark.parametrize("gnn", ["gat", "gcn"])
def test_identical_tokens_pool_to_the_single_token_vector(gnn):
    """All n tokens equal: a complete graph averaging equal states, uniform weights, the one-token vector."""
    torch.manual_seed(0)
    pool = GLOTPooling(8, hidden_dim=4, gnn=gnn).eval()
    token = torch.randn(1, 1, 8)
    one, _ = _pool(pool, token, torch.ones(1, 1))
    many, weights = _pool(pool, token.expand(1, 6, 8).contiguous(), torch.ones(1, 6))
    limit = pooling_bound(pool, token.expand(1, 6, 8), torch.ones(1, 6), one)
    assert_within(many, one, limit, "sentence embedding")
    assert_within(weights, torch.full((1, 6), 1 / 6), softmax_bound(weights, limit), "token weights")


@pytest.mark.parametrize("gnn", ["gat", "gcn", "gin", "gine"])
def test_orthogonal_tokens_are_pooled_as_isolated_nodes(gnn):
    """No edges (raw cosine, tau=0.3, all cosines 0): each token's GNN output is its output alone."""
    torch.manual_seed(0)
    pool = GLOTPooling.from_preset("paper", 8, hidden_dim=4, gnn=gnn).eval()
    x = (torch.eye(8) * torch.linspace(0.5, 3.0, 8).unsqueeze(1)).unsqueeze(0)  # (1, 8, 8) orthogonal rows
    z, weights = _pool(pool, x, torch.ones(1, 8))
    alone = torch.cat([_pool(pool, x[:, i : i + 1], torch.ones(1, 1))[0] for i in range(8)])  # (8, D)
    assert_within(z[0], weights[0] @ alone, pooling_bound(pool, x, torch.ones(1, 8), z, alone))


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), 7e4])
def test_infinite_states_raise(value):
    """inf, and fp16 overflow (7e4 is inf in fp16), on a valid token: a clear error."""
    x = torch.randn(1, 4, 8).half()
    x[0, 2, 3] = value
    with pytest.raises(ValueError, match="NaN or inf token states.*fp16 overflows"):
        GLOTPooling(8, hidden_dim=4)({"token_embeddings": x, "attention_mask": torch.ones(1, 4)})


@pytest.mark.parametrize("backend", ["dense", "pyg"])
def test_fp16_states_near_overflow_stay_finite(backend):
    """States of ±6e4 in fp16: the cosine and softmax run in fp32, so the result is the fp32 one."""
    torch.manual_seed(0)
    x = (torch.randn(2, 6, 8).sign() * 6e4).half()
    x[1, :, ::2] = 6e4  # many identical tokens: a dense graph
    mask = torch.ones(2, 6)
    mask[0, 4:] = 0
    pool = GLOTPooling(8, hidden_dim=4, tau=0.1, backend=backend).eval()
    z16, w16 = _pool(pool, x, mask)
    z32, w32 = _pool(pool, x.float(), mask)
    assert torch.isfinite(z16).all() and torch.isfinite(w16).all()
    assert torch.equal(z16, z32) and torch.equal(w16, w32)  # widened first: one fp32 path on equal values


@st.composite
def _masked_batch(draw):
    """States (B, L, 8), an arbitrary valid-token mask (any pattern, >= 1 token per row) and a pooler config."""
    batch, length = draw(st.integers(1, 4)), draw(st.integers(1, 10))
    rows = [draw(st.lists(st.booleans(), min_size=length, max_size=length).filter(any)) for _ in range(batch)]
    seed = draw(st.integers(0, 2**16))
    gnn = draw(st.sampled_from(["gat", "gcn", "gin", "gine"]))
    backend = draw(st.sampled_from(["dense", "pyg"]))
    tau = draw(st.sampled_from([-0.5, 0.0, 0.3, 0.9]))
    return torch.tensor(rows), seed, gnn, backend, tau


def _compact(x: torch.Tensor, valid: torch.Tensor, b: int) -> torch.Tensor:
    return x[b][valid[b]].unsqueeze(0)  # (1, n_b, d): the row's valid tokens only


def _assume_no_pair_near_tau(pool: GLOTPooling, x: torch.Tensor, valid: torch.Tensor) -> None:
    """Skip an example with a token pair whose similarity is within rounding of tau: one computation
    may link it and another not, a difference that is no rounding error."""
    pair = valid.unsqueeze(2) & valid.unsqueeze(1)  # (B, L, L)
    similarity = cosine_similarity_matrix(x, valid, pool.graph_norm)[pair]
    assume(bool(clear_of(similarity, pool.tau, similarity_bound(x, valid, pool.graph_norm)[pair]).all()))


@settings(max_examples=30, deadline=None)
@given(_masked_batch())
def test_padding_invariance_for_any_mask(case):
    """Each row pools as if alone and unpadded, whatever the padding pattern and padding values."""
    valid, seed, gnn, backend, tau = case
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    pool = GLOTPooling(8, hidden_dim=4, gnn=gnn, tau=tau, backend=backend).eval()
    x = torch.randn(*valid.shape, 8, generator=generator)
    x[~valid] = 1e4 * torch.randn(int((~valid).sum()), 8, generator=generator)  # loud padding
    _assume_no_pair_near_tau(pool, x, valid)
    z, weights = _pool(pool, x, valid.long())
    assert torch.all(weights[~valid] == 0)
    limit = pooling_bound(pool, x, valid, z)
    for b in range(valid.size(0)):
        alone, alone_weights = _pool(pool, _compact(x, valid, b), torch.ones(1, int(valid[b].sum())))
        assert_within(z[b], alone[0], limit, "sentence embedding")
        assert_within(weights[b][valid[b]], alone_weights[0], softmax_bound(alone_weights[0], limit))


@settings(max_examples=30, deadline=None)
@given(_masked_batch(), st.randoms(use_true_random=False))
def test_token_order_invariance_for_any_mask(case, rng):
    """Shuffling every row's positions (valid tokens and padding together) changes nothing but the weights' order."""
    valid, seed, gnn, backend, tau = case
    torch.manual_seed(seed)
    pool = GLOTPooling(8, hidden_dim=4, gnn=gnn, tau=tau, backend=backend).eval()
    x = torch.randn(*valid.shape, 8)
    perm = torch.stack([torch.tensor(rng.sample(range(valid.size(1)), valid.size(1))) for _ in range(valid.size(0))])
    x_perm, valid_perm = torch.gather(x, 1, perm.unsqueeze(-1).expand_as(x)), torch.gather(valid, 1, perm)
    _assume_no_pair_near_tau(pool, x, valid)
    z, weights = _pool(pool, x, valid.long())
    z_perm, weights_perm = _pool(pool, x_perm, valid_perm.long())
    limit = pooling_bound(pool, x, valid, z)
    assert_within(z_perm, z, limit, "sentence embedding")
    expected = torch.gather(weights, 1, perm)
    assert_within(weights_perm, expected, softmax_bound(expected, limit), "token weights")


# ---- broken or hostile model folders ----


class _Payload:
    """Unpickling this writes a marker file: proof that pickled code ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path(self.marker).write_text, ("pwned",))


def test_pickled_weights_are_refused_never_unpickled(tiny_bert_dir, tmp_path):
    model = build_model(Transformer(tiny_bert_dir), GLOTPooling(32, hidden_dim=8))
    model.save(str(tmp_path / "m"))
    pooler = tmp_path / "m" / "1_GLOTPooling"
    marker = tmp_path / "marker"
    os.remove(pooler / "model.safetensors")
    with open(pooler / "pytorch_model.bin", "wb") as f:
        pickle.dump(_Payload(str(marker)), f)
    with pytest.raises(
        FileNotFoundError, match=r"no model.safetensors.*pytorch_model.bin, a pickle, which st-glot never loads"
    ):
        SentenceTransformer(str(tmp_path / "m"), trust_remote_code=True, device="cpu")
    assert not marker.exists()


@pytest.mark.parametrize(
    "module_type,trust,error,message",
    [
        (
            "st_glot.nn.pooling.GLOTPooling",
            False,
            ValueError,
            r"(?s)references the module class 'st_glot.nn.pooling.GLOTPooling'.*trust_remote_code=True",
        ),
        (
            "st_glot.nn.pooling.GLOTPoolingV9",
            True,
            ImportError,
            r'Module "st_glot.nn.pooling" does not define a "GLOTPoolingV9"',
        ),
        ("st_glot_v9.pooling.GLOTPooling", True, ImportError, r"No module named 'st_glot_v9'"),
    ],
)
def test_modules_json_naming_an_absent_class(tiny_bert_dir, tmp_path, module_type, trust, error, message):
    """What sentence-transformers 6 says; docs/guarantees.md ("What errors mean") gives each message's fix."""
    model = build_model(Transformer(tiny_bert_dir), GLOTPooling(32, hidden_dim=8))
    model.save(str(tmp_path))
    modules = json.loads((tmp_path / "modules.json").read_text())
    modules[1]["type"] = module_type
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(error, match=message):
        SentenceTransformer(str(tmp_path), trust_remote_code=trust, device="cpu")


# ---- full disk: a clear error, nothing half-written that counts ----


def _fail_replace(monkeypatch, suffix: str) -> None:
    real = os.replace

    def replace(src, dst, *args, **kwargs):
        if str(dst).endswith(suffix):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


@pytest.mark.parametrize("suffix", [".bin", ".json"])
def test_full_disk_during_precompute(tiny_bert_dir, tmp_path, monkeypatch, suffix):
    model = build_model(Transformer(tiny_bert_dir), GLOTPooling(32, hidden_dim=8))
    texts = ["dog", "the cat sat", "red blue green"]
    cache = TokenStateCache.for_backbone(model[0], tmp_path, dtype="float32")
    with monkeypatch.context() as patch:
        _fail_replace(patch, suffix)
        with pytest.raises(
            OSError, match=r"Could not write .*shard-00000\.\w+ \(No space left on device\).*Free disk space"
        ) as info:
            cache.add(texts, lambda batch: backbone_states(model, batch), show_progress_bar=False)
    assert info.value.errno == errno.ENOSPC
    assert not list(cache.directory.glob("*.tmp-*")) and not list(cache.directory.glob("*.json.tmp*"))
    reopened = TokenStateCache.for_backbone(model[0], tmp_path, dtype="float32")
    assert len(reopened) == 0  # nothing counts as complete
    assert reopened.add(texts, lambda batch: backbone_states(model, batch), show_progress_bar=False) == 3
    assert sorted(p.name for p in reopened.directory.iterdir()) == [
        ".lock",
        "key.json",
        "shard-00000.bin",
        "shard-00000.json",
    ]
    states, mask = reopened.gather(reopened.rows(texts))
    expected, expected_mask = backbone_states(model, sorted(texts, key=len, reverse=True))
    order = [sorted(texts, key=len, reverse=True).index(t) for t in texts]
    expected = expected[order][expected_mask[order].bool()].float()
    tokens = int(expected_mask.sum(1).max())  # the cache computed them in other batches: rounding apart
    assert_within(states[mask], expected, bound(magnitude(expected), backbone_terms(model[0].auto_model, tokens)))


def test_full_disk_during_model_save(tmp_path, monkeypatch):
    pool = GLOTPooling(16, hidden_dim=8)
    _fail_replace(monkeypatch, "model.safetensors")
    with pytest.raises(OSError, match="No space left on device"):
        pool.save(str(tmp_path))
    assert os.listdir(tmp_path) == []


# ---- determinism ----


def _labelled(n: int) -> Dataset:
    rng = np.random.default_rng(0)
    words = "the cat sat on mat dog red blue green quick brown fox".split()
    texts = [" ".join(rng.choice(words, rng.integers(2, 8))) for _ in range(n)]
    return Dataset.from_dict({"text": texts, "label": [int("dog" in t) for t in texts]})


def _fit_classifier(bert_dir, tmp_path, epochs, checkpoint_dir=None):
    """Pooler and head state dicts after ``fit``, and the number of training steps it ran."""
    torch.manual_seed(0)
    model = build_model(Transformer(bert_dir), GLOTPooling(32, hidden_dim=8))
    steps = []
    model[1].register_forward_hook(lambda module, args, out: steps.append(1) if module.training else None)
    result = fit(
        model,
        _labelled(24),
        loss="classification",
        epochs=epochs,
        batch_size=8,
        cache_dir=tmp_path / "cache",
        checkpoint_dir=checkpoint_dir,
        show_progress_bar=False,
    )
    return model[1].state_dict(), result.head.state_dict(), len(steps)


def _assert_state_equal(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]


def test_same_seed_same_data_bit_identical_pooler_and_head(tiny_bert_dir, tmp_path):
    first, second = _fit_classifier(tiny_bert_dir, tmp_path, 2), _fit_classifier(tiny_bert_dir, tmp_path, 2)
    _assert_state_equal(first[0], second[0])
    _assert_state_equal(first[1], second[1])


def test_resume_from_checkpoint_equals_uninterrupted_run(tiny_bert_dir, tmp_path):
    """A run stopped after epoch 1 and resumed for 3 epochs ends bit-identical to a 3-epoch run, head included."""
    checkpoints = tmp_path / "checkpoints"
    _fit_classifier(tiny_bert_dir, tmp_path, 1, str(checkpoints))
    assert (checkpoints / "checkpoint-3" / "head" / "model.safetensors").exists()
    resumed = _fit_classifier(tiny_bert_dir, tmp_path, 3, str(checkpoints))
    straight = _fit_classifier(tiny_bert_dir, tmp_path, 3)
    assert (resumed[2], straight[2]) == (6, 9)  # the resumed run skipped epoch 1
    _assert_state_equal(resumed[0], straight[0])
    _assert_state_equal(resumed[1], straight[1])


def test_encodings_independent_of_batch_size_and_order(any_model):
    texts = [*HOSTILE[2:], "the quick brown fox jumps over the lazy dog", "cat", "red blue green dog sat"] * 2
    reference = any_model.encode(texts, batch_size=1)
    perm = np.random.default_rng(0).permutation(len(texts))
    tokens = int(any_model.preprocess(texts)["attention_mask"].sum(1).max())
    for batch_size in (2, 5, len(texts)):
        shuffled = any_model.encode([texts[i] for i in perm], batch_size=batch_size)
        assert_within(shuffled, reference[perm], encoder_bound(any_model, tokens), f"batch size {batch_size}")


# ---- interrupted and concurrent work in real processes ----


def _worker(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, WORKER, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"},
    )


def _finish(process: subprocess.Popen, timeout: float = 300) -> str:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err[-3000:]
    return out


def _kill_when(process: subprocess.Popen, ready, timeout: float = 300) -> bool:
    """SIGKILL ``process`` once ``ready()`` holds; False if it ended first."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        if ready():
            os.kill(process.pid, signal.SIGKILL)
            process.communicate()
            return True
        time.sleep(0.02)
    process.communicate()
    return False


def _cache_contents(root: Path, texts: list[str]):
    (folder,) = [p for p in root.iterdir() if p.is_dir()]
    indexes = [json.loads(p.read_text()) for p in sorted(folder.glob("shard-*.json"))]
    hashes = [h for index in indexes for h in index["hashes"]]
    cache = TokenStateCache(folder, dim=32, dtype="float32")
    return hashes, cache.gather(cache.rows(texts)), folder


@pytest.fixture()
def texts_file(tmp_path) -> tuple[list[str], str]:
    words = "the cat sat on mat dog red blue green quick brown fox jumps over lazy".split()
    rng = random.Random(0)
    texts = [" ".join(rng.choices(words, k=rng.randint(1, 12))) for _ in range(24)]
    texts = list(dict.fromkeys(texts))
    path = tmp_path / "texts.json"
    path.write_text(json.dumps(texts))
    return texts, str(path)


@pytest.mark.slow
def test_precompute_killed_at_random_points_resumes_to_the_same_cache(tiny_bert_dir, tmp_path, texts_file):
    texts, path = texts_file
    root = tmp_path / "killed"
    rng = random.Random(1)
    kills = 0
    for _ in range(3):
        done = len(list(root.glob("*/shard-*.json")))
        target = done + rng.randint(1, 3)  # kill this many new shards in, plus a random delay into the next one
        delay = rng.uniform(0.0, 0.1)

        def ready(target=target, delay=delay):
            if len(list(root.glob("*/shard-*.json"))) >= target:
                time.sleep(delay)
                return True
            return False

        kills += _kill_when(_worker("precompute", tiny_bert_dir, str(root), path, "0.03"), ready)
    assert kills >= 1
    kept = 2 * len(list(root.glob("*/shard-*.json")))  # 2 texts a shard
    computed = int(_finish(_worker("precompute", tiny_bert_dir, str(root), path, "0")).split()[-1])
    assert kept > 0 and computed == len(texts) - kept  # resumed: only the missing texts ran
    _finish(_worker("precompute", tiny_bert_dir, str(tmp_path / "straight"), path, "0"))
    hashes, (states, mask), folder = _cache_contents(root, texts)
    straight_hashes, (straight_states, straight_mask), _ = _cache_contents(tmp_path / "straight", texts)
    assert len(hashes) == len(set(hashes)) == len(texts) == len(straight_hashes)  # each text once
    assert not list(folder.glob("*.tmp-*"))
    assert torch.equal(mask, straight_mask) and torch.equal(states, straight_states)


@pytest.mark.slow
def test_two_processes_filling_one_cache(tiny_bert_dir, tmp_path, texts_file):
    texts, path = texts_file
    first, second = (_worker("precompute", tiny_bert_dir, str(tmp_path / "shared"), path, "0.02") for _ in range(2))
    computed = sorted(int(_finish(p).split()[-1]) for p in (first, second))
    assert computed == [0, len(texts)]  # the lock makes one wait; it then finds every text done
    _finish(_worker("precompute", tiny_bert_dir, str(tmp_path / "alone"), path, "0"))
    hashes, (states, mask), _ = _cache_contents(tmp_path / "shared", texts)
    _, (alone_states, alone_mask), _ = _cache_contents(tmp_path / "alone", texts)
    assert len(hashes) == len(set(hashes)) == len(texts)
    assert torch.equal(mask, alone_mask) and torch.equal(states, alone_states)


@pytest.mark.slow
def test_training_killed_after_a_checkpoint_resumes_to_the_same_weights(tiny_bert_dir, tmp_path):
    cache, checkpoints = str(tmp_path / "cache"), tmp_path / "checkpoints"
    assert (
        _finish(
            _worker("fit", tiny_bert_dir, cache, str(tmp_path / "unused"), str(tmp_path / "straight.safetensors"), "0")
        ).split()[-1]
        == "9"
    )  # training steps: 3 epochs of 24 rows in batches of 8
    process = _worker("fit", tiny_bert_dir, cache, str(checkpoints), str(tmp_path / "resumed.safetensors"), "0.05")
    assert _kill_when(process, lambda: (checkpoints / "checkpoint-3" / "head" / "config.json").exists())
    assert not (checkpoints / "checkpoint-9").exists()
    steps = _finish(_worker("fit", tiny_bert_dir, cache, str(checkpoints), str(tmp_path / "resumed.safetensors"), "0"))
    assert steps.split()[-1] == "6"  # resumed after epoch 1's checkpoint
    resumed, straight = load_file(tmp_path / "resumed.safetensors"), load_file(tmp_path / "straight.safetensors")
    _assert_state_equal(resumed, straight)
