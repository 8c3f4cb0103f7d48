"""Stress-test data (seeded, balanced lengths, needle intact) and the command on a tiny backbone."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from provenance_checks import check_provenance, record_poolers
from tolerance import approx
from transformers import BertTokenizerFast

from st_glot.cli.main import main
from st_glot.evaluation.stress.data import (
    CONTEXTS,
    MODIFIERS,
    NOISE_WORDS,
    TARGET_NOUNS,
    generate,
    word_token_counter,
)
from st_glot.evaluation.stress.run import format_table, summarise
from st_glot.models.backbones import backbone_label

WORDS = sorted({w for phrase in NOISE_WORDS + TARGET_NOUNS + MODIFIERS + CONTEXTS for w in phrase.split()})


@pytest.fixture(scope="module")
def tokenizer():
    # "excluding" is split into two pieces, so token counts differ from word counts.
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"] + [w for w in WORDS if w != "excluding"] + ["exclud", "##ing"]
    return BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)})


def test_same_seed_same_data_and_labels_balanced(tokenizer):
    counter = word_token_counter(tokenizer)
    a = generate(200, 0.5, seed=7, count_tokens=counter, budget=126)
    assert a == generate(200, 0.5, seed=7, count_tokens=counter, budget=126)
    assert a != generate(200, 0.5, seed=8, count_tokens=counter, budget=126)
    assert 70 < sum(s.label for s in a) < 130


@pytest.mark.parametrize("ratio", [0.2, 0.5, 0.8, 0.9])
def test_balanced_texts_have_one_token_length_and_keep_the_needle(tokenizer, ratio):
    samples = generate(300, ratio, seed=1, count_tokens=word_token_counter(tokenizer), budget=126)
    lengths = {len(tokenizer(s.text)["input_ids"]) for s in samples}
    assert len(lengths) == 1 and lengths.pop() <= 128
    for s in samples:
        words = s.text.split()
        assert any(c in s.text for c in CONTEXTS) and any(n in words for n in TARGET_NOUNS)
        if s.label == 0:
            assert any(m in words for m in MODIFIERS)


def test_reference_generator_leaks_length_and_overflows(tokenizer):
    samples = generate(300, 0.9, seed=1, generator="reference")
    by_label = {label: [len(tokenizer(s.text)["input_ids"]) for s in samples if s.label == label] for label in (0, 1)}
    assert min(by_label[0]) > max(by_label[1])  # length alone separates the classes
    assert min(by_label[0]) > 128  # label-0 texts overflow a 128-token backbone


def test_bad_arguments(tokenizer):
    with pytest.raises(ValueError, match=r"Invalid generator: 'fair'. Valid values are: \('balanced', 'reference'\)"):
        generate(10, 0.5, 0, generator="fair")
    with pytest.raises(ValueError, match=r"Invalid distractor ratio: 1.5"):
        generate(10, 1.5, 0, count_tokens=word_token_counter(tokenizer))


def test_summary_and_table():
    records = [{"seed": s, "ratio": 0.9, "method": "glot", "accuracy": a} for s, a in [(0, 0.9), (1, 1.0)]]
    summary = summarise(records)
    # sample std (n − 1): sqrt((0.05² + 0.05²) / 1) = 0.05·√2
    assert summary["glot"]["0.9"]["mean"] == approx(0.95, 1.0, 2)
    assert summary["glot"]["0.9"]["std"] == approx(0.05 * 2**0.5, 1.0, 4)
    assert "| glot | 0.950 ± 0.071 |" in format_table(summary)
    assert "| glot | 0.900 |" in format_table(summarise(records[:1]))  # one seed: no spread to show
    close = [{"seed": 0, "ratio": r, "method": "glot", "accuracy": a} for r, a in [(0.21, 0.8), (0.24, 0.6)]]
    assert {k: v["mean"] for k, v in summarise(close)["glot"].items()} == {"0.21": 0.8, "0.24": 0.6}  # kept apart


def test_stress_test_command(tiny_bert_dir, tmp_path, capfd, monkeypatch):
    out = tmp_path / "out"
    trained, since = record_poolers(monkeypatch), datetime.now(timezone.utc)
    argv = [
        "stress-test",
        "--backbone",
        tiny_bert_dir,
        "--ratios",
        "0.5",
        "--methods",
        "glot,mean,cls",
        "--train-size",
        "64",
        "--eval-size",
        "32",
        "--epochs",
        "1",
        "--hidden-dim",
        "8",
        "--output",
        str(out),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--explain",
        "2",
    ]
    assert main(argv) == 0
    bars = {line.split(":")[0] for line in capfd.readouterr().err.replace("\r", "\n").splitlines() if "100%|" in line}
    assert {f"Training {m} (ratio 0.5, seed 0)" for m in ("glot", "mean", "cls")} <= bars  # which run each bar is
    results = json.loads((out / "results.json").read_text())
    assert {r["method"] for r in results["records"]} == {"glot", "mean", "cls"}
    assert results["config"]["glot"] == {"preset": "recommended", "hidden_dim": 8}  # as given
    resolved = results["glot_config"]  # as trained
    assert (resolved["graph_norm"], resolved["input_norm"], resolved["tau"], resolved["hidden_dim"]) == (
        "center",
        "running",
        0.3,
        8,
    )
    assert all(0.0 <= r["accuracy"] <= 1.0 for r in results["records"])
    assert all(r["cost"]["cached"] and r["cost"]["trainable_parameters"] > 0 for r in results["records"])
    costs = (out / "results.md").read_text().split("## Cost per method")[1]
    assert all(f"| {m} | " in costs for m in ("glot", "mean", "cls"))
    assert (out / "accuracy.png").stat().st_size > 10_000
    assert len(list((out / "explanations").glob("*.png"))) == 2
    block = results["provenance"]
    training = {"loss": "classification", "learning_rate": 1e-3, "epochs": 1, "batch_size": 32, "seeds": [0]}
    check_provenance(block, argv, tiny_bert_dir, trained, {}, training, since)
    assert block["data"] == [
        {
            "generated": "st_glot.evaluation.stress.data",
            "generator": "balanced",
            "ratios": [0.5],
            "train_size": 64,
            "eval_size": 32,
            "seeds": [0],
        }
    ]
    assert block["configuration"]["methods"]["glot"]["preset"] == "recommended"


def test_backbone_label_names_result_tables():
    assert backbone_label(None) == "all-MiniLM-L6-v2"
    assert backbone_label("smollm2") == "SmolLM2-135M-Instruct.Q4_1"
    assert backbone_label("org/model-x") == "model-x"
    assert backbone_label("/models/llama/") == "llama"
    assert backbone_label("/models/llama", "llama-7b.Q4_0.gguf") == "llama-7b.Q4_0"


def test_stress_test_refuses_a_file_as_output_before_any_work(tmp_path, monkeypatch):
    import st_glot.models.backbones as backbones

    monkeypatch.setattr(backbones, "load_backbone", lambda *a, **k: pytest.fail("the backbone was loaded"))
    target = tmp_path / "results.txt"
    target.write_text("keep me")
    with pytest.raises(
        SystemExit, match=r"st-glot stress-test: Output folder '.*results\.txt': .* is a file, not a folder"
    ):
        main(["stress-test", "--output", str(target)])
    assert target.read_text() == "keep me"
