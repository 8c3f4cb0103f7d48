"""Fair tuning: the validation split carved from train, per-epoch learning curves, the choice of learning rate
and epochs, and ``st-glot glue`` over seeds with a learning-rate grid."""

from __future__ import annotations

import json
import statistics

import pytest
from datasets import Dataset

from st_glot.cli.main import main
from st_glot.evaluation.glue import format_table
from st_glot.evaluation.tuning import Tuning, carve_validation, format_tuning, tune
from st_glot.models.factory import make_model, make_pooler
from st_glot.training.fit import fit

WORDS = ["red", "blue", "green", "fox", "mat", "box", "keys"]


def _pairs(n: int) -> Dataset:
    return Dataset.from_dict(
        {
            "sentence1": [f"the cat sat {WORDS[i % 7]}" for i in range(n)],
            "sentence2": [f"a dog sat {WORDS[i % 5]}" for i in range(n)],
            "score": [(i % 6) / 5 for i in range(n)],
        }
    )


def test_validation_split_is_stratified_and_disjoint():
    labels = [0] * 30 + [1] * 70
    train = Dataset.from_dict({"text": [f"t{i}" for i in range(100)], "label": labels})
    rest, held = carve_validation(train, 0.1, seed=3, stratify=True)
    assert len(held) == 10 and len(rest) == 90
    assert sorted(held["label"]) == [0] * 3 + [1] * 7  # the class shares of train, 30 % / 70 %
    assert set(rest["text"]) | set(held["text"]) == set(train["text"])
    assert not set(rest["text"]) & set(held["text"])
    assert carve_validation(train, 0.1, seed=3, stratify=True)[1]["text"] == held["text"]  # seeded
    assert carve_validation(train, 0.1, seed=4, stratify=True)[1]["text"] != held["text"]


def test_validation_split_errors():
    train = Dataset.from_dict({"text": ["a", "b"], "label": [0, 1]})
    with pytest.raises(ValueError, match=r"validation fraction must be in \(0, 0.5\]; got 0.7"):
        carve_validation(train, 0.7, seed=0, stratify=False)
    with pytest.raises(ValueError, match="A training set of 1 rows is too small"):
        carve_validation(train.select([0]), 0.5, seed=0, stratify=False)


def test_fit_history_has_one_entry_per_epoch(tiny_backbone, tmp_path):
    model = make_model(tiny_backbone, make_pooler("mean", tiny_backbone), project=True)
    data = _pairs(24)
    result = fit(
        model,
        data,
        loss="cosine",
        eval_dataset=data,
        epochs=3,
        batch_size=8,
        cache_dir=tmp_path,
        show_progress_bar=False,
    )
    assert [entry["epoch"] for entry in result.history] == [1, 2, 3]
    assert all("loss" in entry and "eval_spearman_cosine" in entry for entry in result.history)
    # the last epoch's evaluation is the final one: the same model, the same data
    assert result.history[-1]["eval_spearman_cosine"] == result.metrics["eval_spearman_cosine"]


def test_tune_picks_the_best_validation_point(tiny_backbone, tmp_path):
    grid = [1e-2, 1e-4]
    tuning = tune(
        tiny_backbone,
        _pairs(40),
        "glot",
        "cosine",
        "eval_spearman_cosine",
        grid,
        fraction=0.25,
        seed=0,
        glot_kwargs={"hidden_dim": 8},
        epochs=3,
        learning_rate=5.0,  # replaced by the grid's rates
        batch_size=8,
        cache_dir=tmp_path,
        show_progress_bar=False,
    )
    assert set(tuning.curves) == {"0.01", "0.0001"}
    assert all(len(curve) == 3 for curve in tuning.curves.values())
    points = [(score, -float(lr), -epoch) for lr, curve in tuning.curves.items() for epoch, score in enumerate(curve)]
    score, lr, epoch = max(points)  # best score; ties: the smaller rate, then the earlier epoch
    assert (tuning.score, tuning.learning_rate, tuning.epochs) == (score, -lr, -epoch + 1)
    assert tuning.fit_kwargs() == {"learning_rate": -lr, "epochs": -epoch + 1}


def test_tune_refuses_what_it_cannot_rank(tiny_backbone):
    with pytest.raises(ValueError, match="learning-rate grid is empty"):
        tune(tiny_backbone, _pairs(8), "mean", "cosine", "eval_spearman_cosine", [])
    with pytest.raises(ValueError, match="loss='mnrl' has no validation metric"):
        tune(tiny_backbone, _pairs(8), "mean", "mnrl", "eval_spearman_cosine", [1e-3])


def test_glue_over_seeds_with_a_grid(tiny_bert_dir, tmp_path):
    data = tmp_path / "data"
    (data / "stsb").mkdir(parents=True)
    lines = [
        f"g\tf\t2012\t{i:04d}\t{i % 6}.000\tthe cat sat {WORDS[i % 7]}\ta dog sat {WORDS[i % 5]}\n" for i in range(30)
    ]
    (data / "stsb" / "sts-train.csv").write_text("".join(lines))
    (data / "stsb" / "sts-dev.csv").write_text("".join(lines[:12]))
    out = tmp_path / "out"
    argv = ["glue", "--task", "stsb", "--pooling", "glot,mean", "--backbone", tiny_bert_dir, "--data-dir", str(data)]
    argv += ["--epochs", "2", "--batch-size", "8", "--hidden-dim", "8", "--seeds", "0,1", "--lr-grid", "1e-3,1e-2"]
    argv += ["--cache-dir", str(tmp_path / "cache"), "--output", str(out), "--quiet"]
    assert main(argv) == 0
    payload = json.loads((out / "results.json").read_text())
    trained = [r for r in payload["records"] if r["method"] != "mean (untrained)"]
    assert sorted((r["method"], r["seed"]) for r in trained) == [("glot", 0), ("glot", 1), ("mean", 0), ("mean", 1)]
    for r in trained:
        chosen = payload["tuning"]["stsb"][r["method"]]
        assert (r["learning_rate"], r["epochs"]) == (chosen["learning_rate"], chosen["epochs"])
        assert r["learning_rate"] in (1e-3, 1e-2) and 1 <= r["epochs"] <= 2
        assert len(r["losses"]) == r["epochs"]
    glot = [r["score"] for r in trained if r["method"] == "glot"]
    text = (out / "results.md").read_text()
    assert f"| glot | {statistics.fmean(glot):.2f} ± {statistics.stdev(glot):.2f} |" in text
    assert "| stsb | glot |" in text and "chosen" in text


def test_tables_by_hand():
    records = [
        {"task": "cola", "method": "glot", "metric": "mcc", "score": 40.0},
        {"task": "cola", "method": "glot", "metric": "mcc", "score": 44.0},
        {"task": "sst2", "method": "glot", "metric": "accuracy", "score": 90.123},
    ]
    assert "| glot | 42.00 ± 2.83 | 90.12 |" in format_table(records)
    tunings = {"cola": {"glot": Tuning(1e-3, 2, 30.0, {"0.0001": [10.0, 20.0], "0.001": [25.0, 30.0, 5.0]})}}
    table = format_tuning(tunings).splitlines()
    assert table[0] == "| task | method | lr 0.0001 | lr 0.001 | chosen |"
    assert table[2] == "| cola | glot | 20.00 (ep 2) | 30.00 (ep 2) | lr 0.001, 2 ep |"
