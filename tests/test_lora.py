"""The ``lora`` method: adapters on the attention projections only, trained alone, pooled as documented,
saved merged; and the cost every comparison reports (trainable parameters, steps, cache fill, memory)."""

from __future__ import annotations

import json
import math

import pytest
import torch
from datasets import Dataset
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Transformer
from tolerance import assert_within, backbone_terms, bound, fan_in, magnitude, within
from transformers import AutoModel

from st_glot.cli.main import main
from st_glot.evaluation.compare import compare_poolers
from st_glot.evaluation.costs import CacheFills, cost_record, format_cost_table
from st_glot.models.backbones import load_backbone
from st_glot.models.factory import make_model
from st_glot.models.lora import (
    LoraSettings,
    adapted_backbone,
    adapter_layers,
    adapter_parameters,
    attention_projections,
)
from st_glot.models.templated import TemplatedTransformer
from st_glot.training.cost import Cost, PeakMemory
from st_glot.training.fit import FitResult, fit, save_trained
from st_glot.training.lora import adapters_only
from st_glot.utils.templates import PROMPTEOL_TEMPLATE

WORDS = ["red", "blue", "green", "fox", "mat", "box", "keys", "dog"]
#: The attention projections of the tiny fixtures' two layers, by hand.
BERT_PROJECTIONS = [
    f"encoder.layer.{i}.attention.{p}" for i in (0, 1) for p in ("self.query", "self.key", "self.value", "output.dense")
]
LLAMA_PROJECTIONS = [f"layers.{i}.self_attn.{p}_proj" for i in (0, 1) for p in "qkvo"]


def _pairs(n: int = 24) -> Dataset:
    rows = [(f"the cat sat {WORDS[i % 8]}", f"a dog sat {WORDS[i % 5]}", (i % 6) / 5) for i in range(n)]
    return Dataset.from_dict({k: list(v) for k, v in zip(("sentence1", "sentence2", "score"), zip(*rows))})


def _randomise_adapters(backbone: Transformer, seed: int = 0) -> None:
    """Give every ``B`` random values (peft starts it at zero, where the adapters change nothing)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in adapter_layers(backbone).values():
            weight = layer.lora_B["default"].weight
            weight.copy_(torch.randn(weight.shape, generator=generator) * 0.5)


def _merged_by_hand(folder: str, backbone: Transformer, settings: LoraSettings) -> torch.nn.Module:
    """The plain transformers model of ``folder`` with each adapted weight replaced by W + (alpha / r) B A."""
    plain = AutoModel.from_pretrained(folder).eval()
    with torch.no_grad():
        for name, layer in adapter_layers(backbone.auto_model).items():
            a, b = layer.lora_A["default"].weight, layer.lora_B["default"].weight  # (r, d_in), (d_out, r)
            plain.get_submodule(name).weight += settings.alpha / settings.r * b @ a
    return plain


@pytest.mark.parametrize(
    ("folder", "expected"), [("tiny_bert_dir", BERT_PROJECTIONS), ("tiny_llama_dir", LLAMA_PROJECTIONS)]
)
def test_adapters_sit_on_the_attention_projections_only(folder, expected, request):
    backbone = Transformer(request.getfixturevalue(folder))
    assert attention_projections(backbone.auto_model) == expected
    adapted = adapted_backbone(backbone)
    assert sorted(adapter_layers(adapted.auto_model)) == sorted(expected)
    names = [n for n in dict(adapted.auto_model.named_parameters()) if "lora_" in n]
    assert sorted(adapter_parameters(adapted.auto_model)) == sorted(names) and len(names) == 2 * len(expected)
    assert not adapter_layers(backbone)  # the backbone itself keeps no adapter


def test_a_model_without_attention_blocks_is_refused():
    with pytest.raises(ValueError, match=r"Sequential has no linear layer inside an attention block"):
        attention_projections(torch.nn.Sequential(torch.nn.Linear(2, 2)))


def test_settings_are_checked():
    assert LoraSettings() == LoraSettings(r=8, alpha=16.0, dropout=0.0)
    for bad, message in (({"r": 0}, "rank r: 0"), ({"alpha": 0}, "alpha: 0"), ({"dropout": 1.0}, "dropout: 1.0")):
        with pytest.raises(ValueError, match=message):
            LoraSettings(**bad)


def test_the_copy_shares_the_backbones_weights(tiny_backbone):
    adapted = adapted_backbone(tiny_backbone)
    base = dict(tiny_backbone.named_parameters())
    shared = {n.replace(".base_layer", ""): p for n, p in adapted.named_parameters() if "lora_" not in n}
    assert shared.keys() == base.keys() and all(p is base[n] for n, p in shared.items())
    assert all(p.requires_grad for p in tiny_backbone.parameters())  # the flags are the backbone's, as they were


def test_training_moves_the_adapters_and_nothing_else_of_the_backbone(tiny_backbone, tmp_path):
    torch.manual_seed(0)
    model = make_model(tiny_backbone, "lora", project=True)
    before = {n: p.detach().clone() for n, p in model[0].named_parameters()}
    data = _pairs()
    result = fit(model, data, epochs=2, batch_size=8, learning_rate=1e-2, cache_dir=tmp_path, show_progress_bar=False)
    adapters = adapter_parameters(model[0])
    adapter_ids = {id(p) for p in adapters.values()}
    for name, p in model[0].named_parameters():
        if id(p) in adapter_ids:
            assert not torch.equal(p, before[name]), name
        else:
            assert torch.equal(p, before[name]), name
    assert not (tmp_path.exists() and any(tmp_path.iterdir()))  # no token-state cache was written
    cost = result.cost
    # every trained parameter: each adapter's A (r × d_in) and B (d_out × r), and the projection (D × D + D)
    d, r, layers = 32, 8, len(BERT_PROJECTIONS)
    assert cost.trainable_parameters == layers * r * (d + d) + d * d + d
    assert cost.trainable_parameters == sum(p.numel() for p in adapters.values()) + sum(
        p.numel() for p in model[2].parameters()
    )
    assert cost.steps == 2 * math.ceil(len(data) / 8)
    assert not cost.cached and cost.cache_fill_seconds == 0 and cost.seconds >= result.train_seconds
    assert cost.step_seconds * cost.steps <= result.train_seconds
    assert all(p.requires_grad for p in model[0].parameters())  # the flags are restored after training


def test_lora_refuses_checkpoints(tiny_backbone, tmp_path):
    model = make_model(tiny_backbone, "lora")
    with pytest.raises(ValueError, match="checkpoint_dir is not supported for a backbone with LoRA adapters"):
        fit(model, _pairs(), checkpoint_dir=str(tmp_path / "ckpt"), show_progress_bar=False)
    assert not (tmp_path / "ckpt").exists()


def test_a_cached_methods_trainable_parameters_are_its_pooler_and_head(tiny_backbone, tmp_path):
    model = make_model(tiny_backbone, "glot", normalize=False, hidden_dim=8)
    data = Dataset.from_dict({"text": [f"the {w} fox sat" for w in WORDS] * 3, "label": [i % 3 for i in range(24)]})
    result = fit(
        model, data, loss="classification", epochs=3, batch_size=5, cache_dir=tmp_path, show_progress_bar=False
    )
    head = sum(p.numel() for p in result.head.parameters())
    assert head == model.get_embedding_dimension() * 3 + 3  # a linear classifier on the pooled vector
    assert result.cost.trainable_parameters == sum(p.numel() for p in model[1].parameters()) + head
    assert result.cost.steps == 3 * math.ceil(24 / 5)
    assert result.cost.cached and result.cost.cache_fill_texts == len(set(data["text"]))
    assert result.cost.cache_fill_seconds == result.precompute_seconds


def test_only_the_adapters_dropout_follows_the_training_mode(tiny_backbone):
    adapted = adapted_backbone(tiny_backbone, LoraSettings(dropout=0.1))
    dropouts = {n: m for n, m in adapted.named_modules() if isinstance(m, torch.nn.Dropout)}
    own = {n for n in dropouts if ".lora_dropout." not in n}
    assert own and len(dropouts) - len(own) == len(BERT_PROJECTIONS)
    with adapters_only(adapted):
        adapted.train()
        assert [n for n, m in dropouts.items() if m.training] == [n for n in dropouts if n not in own]
        assert {n for n, p in adapted.named_parameters() if p.requires_grad} == set(adapter_parameters(adapted))
        adapted.eval()
        assert not any(m.training for m in dropouts.values())
    assert "train" not in vars(adapted) and all(p.requires_grad for p in adapted.parameters())


def test_encoder_lora_is_the_mean_of_the_adapted_backbone(tiny_bert_dir):
    backbone = Transformer(tiny_bert_dir)
    model = make_model(backbone, "lora", normalize=False)
    _randomise_adapters(model[0])
    texts = ["the cat sat on the mat", "a quick brown fox jumps over the lazy dog", "red"]
    plain = _merged_by_hand(tiny_bert_dir, model[0], LoraSettings())
    features = backbone.tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        states = plain(**features).last_hidden_state  # (B, L, d)
    mask = features["attention_mask"].unsqueeze(-1).float()  # (B, L, 1)
    expected = (states * mask).sum(1) / mask.sum(1)  # (B, d)
    got = model.encode(texts, convert_to_tensor=True)
    # W x + s B (A x) against (W + s B A) x: the adapted chain (its fan-ins count A's and B's), then the mean
    tokens = int(features["attention_mask"].sum(1).max())
    limit = bound(magnitude(states, expected), backbone_terms(model[0].auto_model, tokens) + tokens)
    assert_within(got, expected, limit)
    unadapted = make_model(backbone, "mean", normalize=False).encode(texts, convert_to_tensor=True)
    assert not within(got, unadapted, limit)  # the adapters change the vectors


def test_decoder_lora_is_the_last_token_of_the_templated_text(tiny_llama_dir):
    backbone = load_backbone(tiny_llama_dir)  # plain text
    model = make_model(backbone, "lora", normalize=False)
    assert isinstance(model[0], TemplatedTransformer) and model[0].template == PROMPTEOL_TEMPLATE
    assert not isinstance(backbone, TemplatedTransformer)
    _randomise_adapters(model[0])
    texts = ["the cat sat on the mat", "red fox"]
    plain = _merged_by_hand(tiny_llama_dir, model[0], LoraSettings())
    templated = [PROMPTEOL_TEMPLATE.replace("{text}", t) for t in texts]
    expected = []
    for text in templated:  # one at a time: no padding, the last token is the last position
        ids = backbone.tokenizer(text, return_tensors="pt")
        with torch.no_grad():
            expected.append(plain(**ids).last_hidden_state[0, -1])  # (d,)
    got, expected = model.encode(texts, convert_to_tensor=True), torch.stack(expected)
    tokens = max(len(backbone.tokenizer(text)["input_ids"]) for text in templated)  # padded in a batch of two
    assert_within(got, expected, bound(magnitude(expected), backbone_terms(model[0].auto_model, tokens)))


def test_a_saved_lora_model_loads_as_a_plain_model_with_the_same_vectors(tiny_backbone, tmp_path):
    model = make_model(tiny_backbone, "lora", project=True)
    _randomise_adapters(model[0])
    save_trained(model, str(tmp_path / "saved"))
    assert adapter_layers(model[0])  # the model itself keeps its adapters
    again = SentenceTransformer(str(tmp_path / "saved"), device="cpu")
    assert not adapter_layers(again[0])
    texts = ["the cat sat on the mat", "a quick brown fox"]
    # merged weights against adapters: the adapted chain, the mean and the projection; unit vectors (scale 1)
    tokens = int(model.preprocess(texts)["attention_mask"].sum(1).max())
    terms = backbone_terms(model[0].auto_model, tokens) + tokens + fan_in([model[2]])
    expected = model.encode(texts, convert_to_tensor=True)
    assert_within(again.encode(texts, convert_to_tensor=True), expected, bound(1.0, terms))


def test_a_comparison_with_lora_leaves_the_shared_backbone_as_it_was(tiny_backbone, tmp_path):
    state = {k: v.clone() for k, v in tiny_backbone.state_dict().items()}
    runs = {
        method: result
        for method, result, _ in compare_poolers(
            tiny_backbone,
            _pairs(),
            _pairs(8),
            ["lora", "glot", "mean"],
            loss="cosent",
            epochs=1,
            batch_size=8,
            cache_dir=tmp_path,
            show_progress_bar=False,
            glot_kwargs={"hidden_dim": 8},
        )
    }
    assert tiny_backbone.state_dict().keys() == state.keys()
    assert all(torch.equal(v, state[k]) for k, v in tiny_backbone.state_dict().items())
    glot, mean = runs["glot"].cost, runs["mean"].cost
    assert not runs["lora"].cost.cached and glot.cached and mean.cached
    # glot filled the cache; mean read it and is charged the same fill
    assert runs["glot"].texts_computed > 0 and runs["mean"].texts_computed == 0
    assert mean.cache_fill_seconds == glot.cache_fill_seconds == runs["glot"].precompute_seconds
    assert mean.seconds >= mean.cache_fill_seconds
    with pytest.raises(ValueError, match="group_by_length=True needs the token-state cache"):
        next(compare_poolers(tiny_backbone, _pairs(), None, ["glot", "lora"], loss="cosent", group_by_length=True))


def _result(cache_dir: str | None, seconds: float, fill: float, texts: int, peak: float = 1.0) -> FitResult:
    cost = Cost(seconds=seconds, cached=cache_dir is not None, cache_fill_seconds=fill, cache_fill_texts=texts)
    cost.peak_memory_mib, cost.fill_peak_memory_mib = peak, 5.0 if texts else 0.0
    return FitResult(head=None, cache_dir=cache_dir, precompute_seconds=fill, texts_computed=texts, cost=cost)


def test_cache_fills_are_charged_to_every_cached_method():
    fills = CacheFills()
    first, second, lora = _result("a", 10.0, 4.0, 100), _result("a", 3.0, 0.1, 0), _result(None, 50.0, 0.0, 0)
    other = _result("b", 2.0, 0.0, 0)  # a cache filled before the comparison
    for result in (first, second, lora, other):
        fills.charge(result)
    assert (first.cost.seconds, first.cost.cache_fill_seconds) == (10.0, 4.0)
    assert second.cost.seconds == 3.0 + (4.0 - 0.1)  # its own lookup replaced by the fill, in charge's order
    assert (second.cost.cache_fill_seconds, second.cost.cache_fill_texts) == (4.0, 100)
    assert second.cost.fill_peak_memory_mib == 5.0 and cost_record(second.cost)["peak_memory_mib"] == 5.0
    assert (lora.cost.seconds, lora.cost.cache_fill_seconds) == (50.0, 0.0)
    assert (other.cost.seconds, other.cost.cache_fill_texts) == (2.0, 0)
    records = [
        {"method": m, "cost": cost_record(r.cost)}
        for m, r in zip(("glot", "mean", "lora", "max"), (first, second, lora, other))
    ]
    table = format_cost_table(records)
    assert "| mean | 1 | 0 | 0 | 0.0000 | 6.9 | 4.0 | 5 |" in table
    assert "| lora | 1 | 0 | 0 | 0.0000 | 50.0 | no cache | 1 |" in table
    assert "The cache held every text before the run for max" in table


def test_cpu_peak_memory_sees_a_tensor_held_in_the_block():
    with PeakMemory("cpu") as memory:
        held = torch.ones(2**24)  # 64 MiB, written, so every page is resident
    assert memory.measure == "cpu" and memory.mib >= 64 * (1 - 1 / 64)  # one MiB for what else was freed meanwhile
    del held


def test_compare_runs_glot_and_lora_side_by_side_with_their_costs(tiny_bert_dir, tmp_path, capsys):
    rows = [f"the cat sat {WORDS[i % 8]},a dog sat {WORDS[i % 5]},{(i % 6) * 0.8:.1f}\n" for i in range(24)]
    (tmp_path / "train.csv").write_text("sentence1,sentence2,score\n" + "".join(rows))
    (tmp_path / "dev.csv").write_text("sentence1,sentence2,score\n" + "".join(rows[:12]))
    argv = ["compare", "--train", str(tmp_path / "train.csv"), "--eval", str(tmp_path / "dev.csv")]
    argv += ["--backbone", tiny_bert_dir, "--epochs", "2", "--batch-size", "8", "--hidden-dim", "8", "--seeds", "0,1"]
    argv += ["--cache-dir", str(tmp_path / "cache"), "--output", str(tmp_path / "out"), "--quiet"]
    assert main([*argv, "--pooling", "glot,lora"]) == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    costs = {(r["method"], r["seed"]): r["cost"] for r in results["records"]}
    assert sorted(costs) == [("glot", 0), ("glot", 1), ("lora", 0), ("lora", 1)]
    texts = len({t for i in range(24) for t in (f"the cat sat {WORDS[i % 8]}", f"a dog sat {WORDS[i % 5]}")})
    for (method, _), cost in costs.items():
        assert cost["steps"] == 2 * math.ceil(24 / 8)
        assert cost["cached"] == (method == "glot")
        assert cost["trainable_parameters"] > 0 and cost["total_seconds"] > 0 and cost["memory_measure"] == "cpu"
    # seed 1 reads the cache seed 0 filled, and is charged that fill
    assert costs[("glot", 0)]["cache_fill_texts"] == costs[("glot", 1)]["cache_fill_texts"] == texts
    assert costs[("glot", 0)]["cache_fill_seconds"] == costs[("glot", 1)]["cache_fill_seconds"] > 0
    assert costs[("lora", 0)]["trainable_parameters"] == len(BERT_PROJECTIONS) * 8 * 64 + 32 * 32 + 32
    text = (tmp_path / "out" / "results.md").read_text()
    costs_table = text.split("## Cost per method")[1]
    assert "| glot | 2 |" in costs_table and "| lora | 2 | 5,152 | 6 |" in costs_table
    assert "no cache" in costs_table


def test_a_bfloat16_backbone_trains_float32_adapters(tiny_llama_dir, tmp_path):
    backbone = load_backbone(tiny_llama_dir, dtype="bfloat16")
    model = make_model(backbone, "lora", project=True)
    adapters = adapter_parameters(model[0])
    assert {p.dtype for p in adapters.values()} == {torch.float32} and model[2].linear.weight.dtype == torch.float32
    before = {n: p.detach().clone() for n, p in adapters.items()}
    fit(model, _pairs(8), epochs=1, batch_size=4, learning_rate=1e-2, cache_dir=tmp_path, show_progress_bar=False)
    assert {p.dtype for p in adapters.values()} == {torch.float32} and model[2].linear.weight.dtype == torch.float32
    assert any(not torch.equal(p, before[n]) for n, p in adapters.items())
    vectors = model.encode(["the cat sat"], convert_to_tensor=True)
    assert vectors.dtype == torch.float32 and torch.isfinite(vectors).all()
