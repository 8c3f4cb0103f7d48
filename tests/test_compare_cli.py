"""``st-glot compare`` on a tiny backbone and small files the tests write: table, JSON, winner, errors."""

from __future__ import annotations

import json
import re
import statistics
from datetime import datetime, timezone

import pytest
from provenance_checks import check_provenance, record_poolers
from tolerance import approx

from st_glot.cli.main import main
from st_glot.evaluation.user_compare import winner
from st_glot.evaluation.user_data import load_user_task
from st_glot.models import backbones

WORDS = ["red", "blue", "green", "fox", "mat", "box", "keys", "dog"]


def _argv(tiny_bert_dir, tmp_path, train, evaluation, *extra: str) -> list[str]:
    return [
        "compare",
        "--train",
        str(train),
        "--eval",
        str(evaluation),
        "--backbone",
        tiny_bert_dir,
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--hidden-dim",
        "8",
        "--cache-dir",
        str(tmp_path / "cache"),
        "--output",
        str(tmp_path / "out"),
        "--quiet",
        *extra,
    ]


@pytest.fixture()
def no_backbone(monkeypatch):
    """Fail the test if any backbone starts loading."""

    def refuse(*args, **kwargs):
        raise AssertionError("a backbone was loaded before the input was checked")

    monkeypatch.setattr(backbones, "Transformer", refuse)


def _check_results(out, methods: list[str], seeds: list[int], metric: str, stdout: str) -> dict:
    """The JSON against its own records, the table rows against the JSON, the winner line against both."""
    results = json.loads((out / "results.json").read_text())
    assert results["metric"] == metric
    assert results["seeds"] == seeds
    assert set(results["methods"]) == set(methods)
    for method, stats in results["methods"].items():
        scores = [r["score"] for r in results["records"] if r["method"] == method]
        assert stats["scores"] == scores
        assert stats["seeds"] == seeds
        assert stats["mean"] == statistics.fmean(scores)  # the functions the command uses: the same numbers
        assert stats["std"] == (statistics.stdev(scores) if len(scores) > 1 else 0.0)
        assert all(r["metrics"][metric] == r["score"] for r in results["records"] if r["method"] == method)
    means = [stats["mean"] for stats in results["methods"].values()]
    assert means == sorted(means, reverse=True)  # best first
    ranked = list(results["methods"])
    best = results["winner"]
    assert best["method"] == ranked[0] and best["runner_up"] == ranked[1]
    assert best["margin"] == means[0] - means[1]
    table, costs = (out / "results.md").read_text().split("## Cost per method")
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| method")]
    assert [row.split(" | ")[0].removeprefix("| ") for row in rows] == ranked
    cost_rows = [line for line in costs.splitlines() if line.startswith("| ") and not line.startswith("| method")]
    assert sorted(row.split(" | ")[0].removeprefix("| ") for row in cost_rows) == sorted(ranked)
    assert all(
        set(r["cost"]) >= {"trainable_parameters", "total_seconds", "peak_memory_mib"} for r in results["records"]
    )
    for row, stats in zip(rows, results["methods"].values()):
        cells = [c.strip() for c in row.strip("| ").split("|")]
        assert cells[1] == f"{stats['mean']:.2f} ± {stats['std']:.2f}"
        assert cells[-len(seeds) :] == [f"{s:.2f}" for s in stats["scores"]]
    assert best["line"] in stdout and best["line"] in table
    if best["margin"] >= 0.05:
        assert best["line"].startswith(f"{ranked[0]} wins by {best['margin']:.1f} points over {ranked[1]}")
    assert (out / "scores.png").read_bytes()[:4] == b"\x89PNG"
    return results


def test_pairs_score_csv_over_two_seeds(tiny_bert_dir, tmp_path, capsys, monkeypatch):
    rows = [f"the cat sat {WORDS[i % 8]},a dog sat {WORDS[i % 5]},{(i % 6) * 0.8:.1f}\n" for i in range(24)]
    (tmp_path / "train.csv").write_text("sentence1,sentence2,score\n" + "".join(rows))
    (tmp_path / "dev.csv").write_text("sentence1,sentence2,score\n" + "".join(rows[:12]))
    argv = [*_argv(tiny_bert_dir, tmp_path, tmp_path / "train.csv", tmp_path / "dev.csv"), "--pooling", "glot,mean,max"]
    argv += ["--seeds", "0,1"]
    trained, since = record_poolers(monkeypatch), datetime.now(timezone.utc)
    assert main(argv) == 0
    stdout = capsys.readouterr().out
    assert "task type pairs-score (detected); columns sentence1, sentence2 → score; 24 train and 12 eval" in stdout
    results = _check_results(tmp_path / "out", ["glot", "mean", "max"], [0, 1], "spearman", stdout)
    assert results["task_type"] == "pairs-score"
    assert results["glot_config"]["hidden_dim"] == 8
    assert len(results["records"]) == 6
    files = {tmp_path / "train.csv": 24, tmp_path / "dev.csv": 12}
    training = {"loss": "cosent", "epochs": 1, "batch_size": 8, "seeds": [0, 1], "lr_grid": None}
    check_provenance(results["provenance"], argv, tiny_bert_dir, trained, files, training, since)
    assert all(-100 <= r["score"] <= 100 for r in results["records"])


def test_pairs_tsv_with_named_columns(tiny_bert_dir, tmp_path, capsys):
    rows = [
        f"{'yes' if i % 2 else 'no'}\tthe cat sat {WORDS[i % 8]}\tthe cat sat {WORDS[(i * i) % 8]}\n" for i in range(20)
    ]
    (tmp_path / "train.tsv").write_text("Same\tLeft\tRight\n" + "".join(rows))
    (tmp_path / "dev.tsv").write_text("Same\tLeft\tRight\n" + "".join(rows[:10]))
    argv = _argv(tiny_bert_dir, tmp_path, tmp_path / "train.tsv", tmp_path / "dev.tsv")
    extra = ["--text-columns", "left,right", "--label-column", "same", "--pooling", "mean,cls", "--seeds", "3"]
    assert main([*argv, *extra]) == 0
    stdout = capsys.readouterr().out
    results = _check_results(tmp_path / "out", ["mean", "cls"], [3], "f1", stdout)
    assert results["task_type"] == "pairs"
    assert results["data"]["classes"] == ["no", "yes"]  # "yes" is the positive class of F1
    assert results["data"]["text_columns"] == ["left", "right"]
    assert set(results["records"][0]["metrics"]) == {"f1", "accuracy", "mcc"}


def test_classification_jsonl_all_poolers(tiny_bert_dir, tmp_path, capsys):
    def lines(n):
        return "".join(
            json.dumps({"text": f"the {WORDS[i % 8]} fox sat", "label": ["a", "b", "c"][i % 3]}) + "\n"
            for i in range(n)
        )

    (tmp_path / "train.jsonl").write_text(lines(24))
    (tmp_path / "dev.jsonl").write_text(lines(9))
    assert main(_argv(tiny_bert_dir, tmp_path, tmp_path / "train.jsonl", tmp_path / "dev.jsonl", "--seeds", "0")) == 0
    stdout = capsys.readouterr().out
    from st_glot.utils.choices import FROZEN_POOLINGS

    results = _check_results(tmp_path / "out", list(FROZEN_POOLINGS), [0], "accuracy", stdout)  # the default
    assert results["task_type"] == "classification"
    assert results["data"]["classes"] == ["a", "b", "c"]
    assert all(0 <= r["score"] <= 100 for r in results["records"])


def test_winner_line():
    seeds = [0, 1, 2]
    summary = {
        "glot": {"mean": 80.0, "std": 0.5, "seeds": seeds},
        "adapool": {"mean": 76.9, "std": 0.4, "seeds": seeds},
        "mean": {"mean": 70.0, "std": 0.1, "seeds": seeds},
    }
    assert winner(summary) == {
        "method": "glot",
        "runner_up": "adapool",
        "margin": approx(3.1, 80.0, 2),  # 80.0 − 76.9 in float64
        "line": "glot wins by 3.1 points over adapool",
    }
    summary["adapool"] = {"mean": 79.0, "std": 2.0, "seeds": seeds}
    assert winner(summary)["line"] == (
        "glot wins by 1.0 points over adapool, less than the spread over seeds (std up to 2.0): not a clear win"
    )
    summary["adapool"] = {"mean": 79.98, "std": 0.0, "seeds": seeds}
    assert winner(summary)["line"] == "glot and adapool tie (80.0 points each)"
    summary["mean"] = {"mean": 79.96, "std": 0.0, "seeds": seeds}  # every method tied is named
    assert winner(summary)["line"] == "glot, adapool and mean tie (80.0 points each)"


def test_winner_line_with_one_seed_has_no_spread_to_judge_by():
    summary = {"glot": {"mean": 80.0, "std": 0.0, "seeds": [0]}, "mean": {"mean": 79.3, "std": 0.0, "seeds": [0]}}
    assert winner(summary)["line"] == (
        "glot wins by 0.7 points over mean; one seed only, so no spread to judge by (e.g. --seeds 0,1,2)"
    )


# --- bad input: one line naming file, line and column, before the backbone -------------------------


@pytest.mark.parametrize(
    ("train", "evaluation", "extra", "message"),
    [
        (
            "sentence1,sentence2,score\na,b,1\nc,d,high\n",
            "sentence1,sentence2,score\na,b,1\nc,d,2\n",
            [],
            r"train\.csv, line 3, column 'score': 'high' is not a number",
        ),
        (
            "sentence1,sentence2,score\na,b,1\nc,d,2\n",
            "sentence1,sentence2\na,b\n",
            [],
            r"dev\.csv: no column 'score' \(as in the training data\); its columns are \['sentence1', 'sentence2'\]",
        ),
        (
            "text,label\nthe cat,x\nthe dog,y\n",
            "text,label\nthe cat,x\n,y\n",
            [],
            r"dev\.csv, line 3, column 'text': expected a non-empty text, got ''",
        ),
        (
            "text,label\nthe cat,x\nthe dog,y\n",
            "text,label\nthe cat,x\nthe dog,z\n",
            [],
            r"dev\.csv, line 3, column 'label': class 'z' does not occur in the training data \(its classes: x, y\)",
        ),
        (
            "text,label\nthe cat,x\nthe dog,x\n",
            "text,label\nthe cat,x\n",
            [],
            r"train\.csv: column 'label' holds one class only \('x'\)",
        ),
        (
            "body,label\nthe cat,x\nthe dog,y\n",
            "body,label\nthe cat,x\n",
            [],
            r"train\.csv: no text column; its columns are \['body', 'label'\]\. Name it with --text-columns",
        ),
        (
            "body,label\nthe cat,x\nthe dog,y\n",
            "body,label\nthe cat,x\n",
            ["--text-columns", "text"],
            r"train\.csv: no column 'text' \(text\); its columns are \['body', 'label'\]",
        ),
        (
            "text,label\nthe cat,x\nthe dog,y\n",
            "text,label\nthe cat,x\n",
            ["--task-type", "pairs"],
            r"train\.csv: no pair of text columns",
        ),
        (
            "sentence1,sentence2,score\na,b,1\nc,d,2\n",
            "sentence1,sentence2,score\na,b,3\nc,d,3\n",
            [],
            r"dev\.csv: every score in column 'score' is the same",
        ),
    ],
)
def test_bad_csv_is_one_line_before_the_backbone(
    tiny_bert_dir, tmp_path, no_backbone, train, evaluation, extra, message
):
    (tmp_path / "train.csv").write_text(train)
    (tmp_path / "dev.csv").write_text(evaluation)
    with pytest.raises(SystemExit, match=r"^st-glot compare: .*" + message):
        main(_argv(tiny_bert_dir, tmp_path, tmp_path / "train.csv", tmp_path / "dev.csv", *extra))
    assert not (tmp_path / "out").exists()


def test_bad_jsonl_and_missing_file(tiny_bert_dir, tmp_path, no_backbone):
    (tmp_path / "train.jsonl").write_text('{"text": "the cat", "label": 0}\n\n{"text": "the dog", "label": 1\n')
    (tmp_path / "dev.jsonl").write_text('{"text": "the cat", "label": 0}\n')
    with pytest.raises(SystemExit, match=r"train\.jsonl, line 3: not valid JSON"):
        main(_argv(tiny_bert_dir, tmp_path, tmp_path / "train.jsonl", tmp_path / "dev.jsonl"))
    (tmp_path / "train.jsonl").write_text('{"text": "the cat", "label": 0}\n{"text": ["the dog"], "label": 1}\n')
    with pytest.raises(SystemExit, match=r"train\.jsonl, line 2, column 'text': expected a non-empty text"):
        main(_argv(tiny_bert_dir, tmp_path, tmp_path / "train.jsonl", tmp_path / "dev.jsonl"))
    with pytest.raises(SystemExit, match=re.escape(f"No such data file: '{tmp_path / 'nope.csv'}'")):
        main(_argv(tiny_bert_dir, tmp_path, tmp_path / "nope.csv", tmp_path / "dev.jsonl"))
    assert not (tmp_path / "out").exists()


def test_hub_dataset_name(monkeypatch):
    from datasets import Dataset

    calls = []

    def fake_load(name, config=None, split=None):
        calls.append((name, config, split))
        labels = [0, 1, 1, 0] if split == "train" else [1, 0]
        return Dataset.from_dict(
            {"sentence": [f"text {i}" for i in range(len(labels))], "label": labels, "idx": labels}
        )

    monkeypatch.setattr("datasets.load_dataset", fake_load)
    task = load_user_task("nyu-mll/glue:sst2", "nyu-mll/glue:sst2@test")
    assert calls == [("nyu-mll/glue", "sst2", "train"), ("nyu-mll/glue", "sst2", "test")]
    assert task.task_type == "classification"
    assert task.columns.texts == ("sentence",) and task.columns.target == "label"
    assert task.train["label"] == [0, 1, 1, 0] and task.evaluation["label"] == [1, 0]
    assert task.sources == ("nyu-mll/glue:sst2@train", "nyu-mll/glue:sst2@test")

    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach the Hub\nmore detail")

    monkeypatch.setattr("datasets.load_dataset", offline)
    with pytest.raises(OSError, match=r"^Data 'someone/data': no such file, and loading it .* Couldn't reach the Hub$"):
        load_user_task("someone/data", "someone/data")


# --- reading the user's data ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "targets", "task_type", "target"),
    [
        ("sentence1,sentence2,label", ["0", "1", "1", "0"], "pairs", "label"),
        ("sentence1,sentence2,label", ["0.5", "1", "4.2", "0"], "pairs-score", "label"),
        ("question1,question2,similarity", ["0", "1", "1", "0"], "pairs-score", "similarity"),
        ("Text,Category", ["x", "y", "x", "y"], "classification", "category"),
    ],
)
def test_task_type_and_columns_are_detected(tmp_path, header, targets, task_type, target):
    texts = "the cat,the dog" if header.count(",") == 2 else "the cat"
    (tmp_path / "data.csv").write_text(header + "\n" + "".join(f"{texts},{t}\n" for t in targets))
    task = load_user_task(str(tmp_path / "data.csv"), str(tmp_path / "data.csv"))
    assert (task.task_type, task.columns.target, task.detected) == (task_type, target, True)
    if task_type == "pairs-score":
        assert task.train["score"] == [float(t) for t in targets]
    else:
        classes = sorted(set(targets))
        assert task.classes == classes and task.train["label"] == [classes.index(t) for t in targets]


def test_integer_classes_sort_numerically_and_limit_keeps_each_class(tmp_path):
    labels = [10, 2, 2, 10, 2, 10, 2, 10, 2, 2]
    (tmp_path / "data.jsonl").write_text("".join(json.dumps({"sentence": "a cat", "y": y}) + "\n" for y in labels))
    task = load_user_task(str(tmp_path / "data.jsonl"), str(tmp_path / "data.jsonl"), limit=5, seed=1)
    assert task.classes == ["2", "10"]  # not "10" < "2"
    assert len(task.train) == 5 and sorted(task.train["label"]) == [0, 0, 0, 1, 1]  # 6:4 → 3:2


def test_learning_rate_grid_is_chosen_on_train_and_reported(tiny_bert_dir, tmp_path, capsys):
    rows = [f"the {WORDS[i % 8]} fox sat,{'ab'[i % 2]}\n" for i in range(30)]
    (tmp_path / "train.csv").write_text("text,label\n" + "".join(rows))
    (tmp_path / "dev.csv").write_text("text,label\n" + "".join(rows[:10]))
    argv = _argv(tiny_bert_dir, tmp_path, tmp_path / "train.csv", tmp_path / "dev.csv", "--seeds", "0")
    argv += ["--pooling", "glot,latent,mean", "--lr-grid", "1e-3,1e-2", "--epochs", "2", "--validation-fraction", "0.2"]
    assert main(argv) == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert set(results["tuning"]) == {"glot", "latent", "mean"}  # every method tuned on the same grid
    for record in results["records"]:
        chosen = results["tuning"][record["method"]]
        assert (record["learning_rate"], record["epochs"]) == (chosen["learning_rate"], chosen["epochs"])
        curve = chosen["curves"][f"{chosen['learning_rate']:g}"]
        assert chosen["score"] == max(max(c) for c in chosen["curves"].values()) == curve[chosen["epochs"] - 1]
    text = (tmp_path / "out" / "results.md").read_text()
    assert "| classification | glot |" in text and "chosen" in text
