"""fit(): frozen backbone, cache reuse, losses, heads, sampler."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import build_model
from datasets import Dataset
from sentence_transformers import SentenceTransformer
from tolerance import assert_trained_alike, backbone_terms, glot_terms, gradient_terms, training_bound

from st_glot import GLOTPooling
from st_glot.training.fit import fit
from st_glot.training.heads import load_head
from st_glot.training.sampler import LengthBucketBatchSampler

WORDS = "the cat sat on mat dog red blue green quick brown fox jumps over lazy keys files folder box".split()


def _pairs(n, seed=0):
    rng = np.random.default_rng(seed)
    s1 = [" ".join(rng.choice(WORDS, rng.integers(2, 9))) for _ in range(n)]
    s2 = [" ".join(rng.choice(WORDS, rng.integers(2, 9))) for _ in range(n)]
    return Dataset.from_dict({"s1": s1, "s2": s2, "score": rng.random(n).tolist()})


def _labelled(n, seed=0):
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(WORDS, rng.integers(2, 9))) for _ in range(n)]
    return Dataset.from_dict({"text": texts, "label": [int("dog" in t) for t in texts]})


@pytest.fixture()
def model(tiny_backbone):
    return build_model(tiny_backbone, GLOTPooling(32, hidden_dim=8))


def test_backbone_bit_identical_and_pooler_trained(model, tmp_path):
    backbone_before = {k: v.clone() for k, v in model[0].state_dict().items()}
    pooler_before = {k: v.clone() for k, v in model[1].state_dict().items()}
    result = fit(
        model,
        _pairs(64),
        loss="cosent",
        eval_dataset=_pairs(16, 1),
        epochs=2,
        batch_size=16,
        cache_dir=tmp_path,
        show_progress_bar=False,
    )
    assert all(torch.equal(v, model[0].state_dict()[k]) for k, v in backbone_before.items())
    assert any(not torch.equal(v, model[1].state_dict()[k]) for k, v in pooler_before.items())
    assert all(p.requires_grad for p in model[0].parameters())  # restored after fit
    assert "eval_spearman_cosine" in result.metrics


def test_backbone_stays_in_eval_mode_without_cache(model, tmp_path):
    modes = []
    model[0].register_forward_hook(lambda module, args, out: modes.append(module.training))
    model[0].auto_model.config.hidden_dropout_prob = 0.5
    backbone_before = {k: v.clone() for k, v in model[0].state_dict().items()}
    fit(model, _pairs(32), loss="cosine", epochs=1, batch_size=16, use_cache=False, show_progress_bar=False)
    assert modes and not any(modes)
    assert all(torch.equal(v, model[0].state_dict()[k]) for k, v in backbone_before.items())


def test_second_fit_reuses_the_cache(model, tmp_path):
    first = fit(model, _pairs(32), epochs=1, batch_size=16, cache_dir=tmp_path, show_progress_bar=False)
    calls = []
    model[0].register_forward_hook(lambda *a: calls.append(1))
    second = fit(model, _pairs(32), epochs=2, batch_size=16, cache_dir=tmp_path, show_progress_bar=False)
    assert first.texts_computed > 0 and second.texts_computed == 0 and calls == []
    assert first.cache_dir == second.cache_dir


def test_cached_training_equals_uncached_training(tiny_backbone, tmp_path):
    """Same seed, fp32 cache, no dropout: training on cached states = training through the backbone
    (whose states the cache computed in other batches: rounding apart)."""
    data = _pairs(32)
    results = []
    for use_cache in (True, False):
        torch.manual_seed(0)
        model = build_model(tiny_backbone, GLOTPooling(32, hidden_dim=8))
        fit(
            model,
            data,
            loss="cosine",
            epochs=1,
            batch_size=32,
            cache_dir=tmp_path,
            cache_dtype="float32",
            use_cache=use_cache,
            show_progress_bar=False,
        )
        results.append(model[1].state_dict())
    features = model.preprocess(list(data["s1"]) + list(data["s2"]))
    tokens, batch_tokens = int(features["attention_mask"].sum(1).max()), int(features["attention_mask"].sum())
    state_terms = backbone_terms(model[0].auto_model, tokens)
    terms = state_terms + gradient_terms(glot_terms(model[1], batch_tokens), batch_tokens)
    assert_trained_alike(results[0], results[1], training_bound(2e-4, 1, terms), state_terms)  # fit's default rate


def test_classification_head_saved_and_reloaded(model, tmp_path):
    result = fit(
        model,
        _labelled(64),
        loss="classification",
        eval_dataset=_labelled(32, 1),
        epochs=3,
        batch_size=16,
        learning_rate=1e-2,
        cache_dir=tmp_path / "c",
        output_dir=str(tmp_path / "out"),
        show_progress_bar=False,
    )
    assert set(result.metrics) == {"eval_accuracy", "eval_f1", "eval_mcc"}
    head = load_head(str(tmp_path / "out"))
    again = SentenceTransformer(str(tmp_path / "out"), trust_remote_code=True, device="cpu")
    texts = _labelled(8, 2)["text"]
    with torch.no_grad():
        a = result.head([model.encode(texts, convert_to_tensor=True)])
        b = head([again.encode(texts, convert_to_tensor=True)])
    assert torch.equal(a, b)  # the same weights on the same path


def test_pair_classification_uses_both_texts(model, tmp_path):
    data = _pairs(32).map(lambda row: {"label": int(row["score"] > 0.5)}).remove_columns("score")
    result = fit(
        model, data, loss="classification", epochs=1, batch_size=16, cache_dir=tmp_path, show_progress_bar=False
    )
    assert result.head.num_inputs == 2 and result.head.linear.in_features == 2 * model.get_embedding_dimension()


def _infonce(model, anchors, positives, temperature=0.05):
    """Symmetric in-batch InfoNCE over the whole set, from the model's embeddings."""
    with torch.no_grad():
        a = model.encode(anchors, convert_to_tensor=True, normalize_embeddings=True)  # (N, D)
        p = model.encode(positives, convert_to_tensor=True, normalize_embeddings=True)  # (N, D)
    scores = a @ p.T / temperature  # (N, N)
    target = torch.arange(len(anchors))
    return float(
        (torch.nn.functional.cross_entropy(scores, target) + torch.nn.functional.cross_entropy(scores.T, target)) / 2
    )


def test_mnrl_trains_the_pooler_and_lowers_the_loss(model, tmp_path):
    """(text, the same words reversed) pairs: training moves the pooler and ranks each text's pair higher."""
    anchors = _pairs(32)["s1"]
    positives = [" ".join(reversed(t.split())) for t in anchors]
    data = Dataset.from_dict({"anchor": anchors, "positive": positives})
    pooler_before = {k: v.clone() for k, v in model[1].state_dict().items()}
    loss_before = _infonce(model, anchors, positives)
    result = fit(
        model,
        data,
        loss="mnrl",
        epochs=5,
        batch_size=8,
        learning_rate=1e-2,
        cache_dir=tmp_path,
        show_progress_bar=False,
    )
    assert result.head is None and result.train_seconds > 0
    assert any(not torch.equal(v, model[1].state_dict()[k]) for k, v in pooler_before.items())
    assert _infonce(model, anchors, positives) < 0.5 * loss_before


@pytest.mark.parametrize(
    "loss,columns,message",
    [
        (
            "cosent",
            {"text": ["a"], "score": [0.1]},
            r"loss='cosent' needs two text columns and a score column; got columns \['text', 'score'\]",
        ),
        (
            "nce",
            {"a": ["x"]},
            r"Invalid loss: 'nce'\. Valid values are: \('cosent', 'cosine', 'mnrl', 'classification'\)",
        ),
        (
            "classification",
            {"sentence1": ["a", "b"], "sentence2": ["c", "d"], "score": [1.0, 0.4]},
            r"loss='classification' needs whole-number class labels; column 'score' holds 0\.4 \(a similarity score\?",
        ),
        (
            "classification",
            {"text": ["a", "b"], "label": [1, None]},
            r"loss='classification' needs whole-number class labels; column 'label' holds None",
        ),
    ],
)
def test_bad_loss_setups_are_clear(model, tmp_path, loss, columns, message):
    with pytest.raises(ValueError, match=message):
        fit(model, Dataset.from_dict(columns), loss=loss, cache_dir=tmp_path, show_progress_bar=False)


def test_length_buckets_partition_and_group():
    lengths = np.random.default_rng(0).integers(1, 200, size=203).tolist()
    sampler = LengthBucketBatchSampler(
        range(203), batch_size=8, drop_last=False, lengths=lengths, bucket_batches=4, seed=3
    )
    batches = list(sampler)
    assert sorted(i for b in batches for i in b) == list(range(203))
    assert len(batches) == len(sampler) == 26
    spread = np.mean([max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches])
    shuffled = np.random.default_rng(1).permutation(203)
    random_spread = np.mean([np.ptp([lengths[i] for i in shuffled[k : k + 8]]) for k in range(0, 203, 8)])
    assert spread < random_spread / 2
    assert batches == list(sampler)  # deterministic for a seed and epoch
    sampler.set_epoch(1)
    assert batches != list(sampler)


def test_group_by_length_chooses_the_batches(tiny_backbone, tmp_path):
    """Random batches by default; with group_by_length=True, batches of similar length."""
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(WORDS, n)) for n in rng.integers(1, 40, size=128)]
    data = Dataset.from_dict({"text": texts, "label": [int(len(t.split()) > 20) for t in texts]})
    spreads = {}
    for grouped in (True, False):
        model = build_model(tiny_backbone, GLOTPooling(32, hidden_dim=8))
        lengths = []  # valid tokens of each text of each training batch
        model[1].register_forward_hook(
            lambda m, args, out, seen=lengths: seen.append(out["attention_mask"].sum(1)) if m.training else None
        )
        fit(
            model,
            data,
            loss="classification",
            epochs=1,
            batch_size=16,
            cache_dir=tmp_path,
            group_by_length=grouped,
            show_progress_bar=False,
        )
        assert sum(len(batch) for batch in lengths) == len(texts)
        spreads[grouped] = np.mean([float(batch.max() - batch.min()) for batch in lengths])
    assert spreads[True] < spreads[False] / 4


def test_group_by_length_needs_the_cache(model):
    with pytest.raises(ValueError, match=r"group_by_length=True needs the token-state cache .* got use_cache=False\."):
        fit(model, _pairs(8), use_cache=False, group_by_length=True, show_progress_bar=False)


@pytest.mark.parametrize("use_cache", [True, False])
def test_low_precision_backbone_trains_a_float32_pooler(tiny_llama_dir, tmp_path, use_cache):
    from st_glot.models.backbones import load_backbone
    from st_glot.models.factory import make_model, make_pooler

    backbone = load_backbone(tiny_llama_dir, dtype="bfloat16")
    torch.manual_seed(0)
    model = make_model(backbone, make_pooler("glot", backbone, hidden_dim=8), project=True)
    assert next(backbone.parameters()).dtype == torch.bfloat16
    assert {p.dtype for p in list(model.parameters())[len(list(backbone.parameters())) :]} == {torch.float32}
    before = [p.detach().clone() for p in model[1].parameters()]
    pairs = Dataset.from_dict(
        {
            "sentence1": ["the cat sat", "a dog sat"] * 4,
            "sentence2": ["a dog sat", "the red fox"] * 4,
            "score": [1.0, 0.2] * 4,
        }
    )
    fit(
        model,
        pairs,
        loss="cosine",
        epochs=1,
        batch_size=4,
        cache_dir=tmp_path,
        use_cache=use_cache,
        show_progress_bar=False,
    )
    assert {p.dtype for p in list(model.parameters())[len(list(backbone.parameters())) :]} == {torch.float32}
    assert any(not torch.equal(a, b) for a, b in zip(before, model[1].parameters()))  # trained, in float32
    vectors = model.encode(["the cat sat", "a dog sat"], convert_to_tensor=True)
    assert vectors.dtype == torch.float32 and torch.isfinite(vectors).all()
    # the bf16 backbone's token states reach the float32 pooler as float32
    features = model[0].preprocess(["the cat sat"])
    states = model[0](features)["token_embeddings"]
    assert states.dtype == torch.float32


def test_weight_decay_shrinks_the_trained_weights(tiny_backbone, tmp_path):
    from st_glot.models.factory import make_model, make_pooler

    pairs = Dataset.from_dict(
        {
            "sentence1": ["the cat sat", "a dog sat"] * 8,
            "sentence2": ["a dog sat", "the red fox"] * 8,
            "score": [1.0, 0.2] * 8,
        }
    )
    norms = {}
    for decay in (0.0, 5.0):
        torch.manual_seed(0)
        model = make_model(tiny_backbone, make_pooler("mean", tiny_backbone), project=True)
        fit(
            model,
            pairs,
            loss="cosine",
            epochs=2,
            batch_size=4,
            learning_rate=1e-2,
            weight_decay=decay,
            cache_dir=tmp_path,
            show_progress_bar=False,
        )
        norms[decay] = model[2].linear.weight.norm().item()
    # AdamW multiplies each weight by (1 - lr * decay) = 0.95 per step: 8 steps shrink it well below the undecayed run
    assert norms[5.0] < 0.8 * norms[0.0]
