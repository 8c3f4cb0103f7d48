"""The generalisation protocol: genre splits, positive pairs, ROC-AUC, the summary, and ``st-glot generalisation``
end to end on a tiny backbone and tiny local data."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timezone

import numpy as np
import pytest
from provenance_checks import check_provenance, record_poolers

from st_glot.cli.main import main
from st_glot.evaluation.generalisation import GENRES, format_table, load_protocol_data, roc_auc, summarise

WORDS = ["red", "blue", "green", "fox", "mat", "box", "keys"]


def _data(root):
    (root / "stsb").mkdir(parents=True)
    for file, n in (("sts-train.csv", 36), ("sts-dev.csv", 18)):
        genres = GENRES if file == "sts-train.csv" else ("main-captions", "main-news", "main-forums")  # as STS-B
        rows = [
            f"{genres[i % 3]}\tf\t2012\t{i:04d}\t{i % 6}.000\tthe cat sat {WORDS[i % 7]} {i}\ta dog sat {WORDS[i % 5]}\n"
            for i in range(n)
        ]
        (root / "stsb" / file).write_text("".join(rows))
    (root / "mrpc").mkdir()
    header = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n"
    for file, n in (("msr-para-train.tsv", 12), ("msr-para-val.tsv", 4), ("msr-para-test.tsv", 10)):
        rows = [f"{i % 2}\t{i}\t{i + 1}\tthe {WORDS[i % 7]} box\tthe {WORDS[(i * 3) % 7]} mat\n" for i in range(n)]
        (root / "mrpc" / file).write_text(header + "".join(rows))
    (root / "banking77").mkdir()
    (root / "banking77" / "categories.json").write_text(json.dumps(["lost_card", "top_up"]))
    for file, n in (("train.csv", 16), ("test.csv", 8)):
        rows = [f"my {WORDS[i % 7]} card,{['lost_card', 'top_up'][i % 2]}\n" for i in range(n)]
        (root / "banking77" / file).write_text("text,category\n" + "".join(rows))
    return root


def test_roc_auc_against_all_pairs():
    rng = np.random.default_rng(0)
    scores = np.round(rng.normal(size=40), 1)  # rounded: ties too
    labels = rng.integers(0, 2, size=40)
    pos, neg = scores[labels == 1], scores[labels == 0]
    by_pairs = np.mean([1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg)])
    assert roc_auc(scores, labels) == by_pairs  # both divide the same exact sum of halves once
    with pytest.raises(ValueError, match="needs both classes; got 3 positive and 0 negative"):
        roc_auc([0.1, 0.2, 0.3], [1, 1, 1])


def test_genres_and_positive_pairs(tmp_path):
    data = load_protocol_data(str(_data(tmp_path)))
    assert [len(data.genre("dev", g)) for g in GENRES] == [6, 6, 6]
    held = data.without_genre("main-news")
    assert len(held) == 24 and set(held["sentence1"]).isdisjoint(set(data.genre("train", "main-news")["sentence1"]))
    pairs = data.positive_pairs()
    # MRPC train + val paraphrases (label 1: 6 + 2), STS-B train pairs scored 4 or 5 of 5 (i % 6 in {4, 5}: 12)
    assert pairs.column_names == ["anchor", "positive"] and len(pairs) == 8 + 12


def test_missing_genre_is_named(tmp_path):
    root = _data(tmp_path)
    dev = root / "stsb" / "sts-dev.csv"
    dev.write_text("".join(line for line in dev.read_text().splitlines(True) if not line.startswith("main-forum")))
    with pytest.raises(
        ValueError, match=r"sts-dev.csv: no rows of genre \['main-forum'\]; found \['main-captions', 'main-news'\]"
    ):
        load_protocol_data(str(root))


def test_summary_averages_genres_per_seed_first():
    records = [
        {"measurement": f"logo:{g}", "method": "glot", "seed": s, "score": 10.0 * i + s}
        for i, g in enumerate(GENRES)
        for s in (0, 1)
    ]
    summary = summarise(records)["glot"]
    # Small integers and their halves are exact; the one square root is correctly rounded either way.
    assert summary["logo:avg"] == (10.5, np.std([10.0, 11.0], ddof=1))
    assert summary["logo:main-news"] == (10.5, np.std([10.0, 11.0], ddof=1))
    others = [{"measurement": "stsb", "method": m, "seed": None, "score": v} for m, v in (("a", 50.0), ("b", 61.0))]
    table = format_table([*records, {"measurement": "stsb", "method": "glot", "seed": 0, "score": 64.0}, *others])
    assert table.splitlines()[-1] == "| glot − best other |  |  |  |  | +3.00 |"  # only stsb has other methods


def test_generalisation_command(tiny_bert_dir, tmp_path, monkeypatch):
    data = _data(tmp_path / "data")
    out = tmp_path / "out"
    trained, since = record_poolers(monkeypatch), datetime.now(timezone.utc)
    argv = ["generalisation", "--data-dir", str(data), "--backbone", tiny_bert_dir, "--pooling", "glot,mean"]
    argv += ["--seeds", "0,1", "--epochs", "1", "--batch-size", "8", "--hidden-dim", "8", "--quiet"]
    argv += ["--banking77-limit", "6"]  # a sample: every seed is scored on the same one
    argv += ["--cache-dir", str(tmp_path / "cache"), "--output", str(out)]
    assert main(argv) == 0
    payload = json.loads((out / "results.json").read_text())
    got = {(r["measurement"], r["method"]) for r in payload["records"]}
    measurements = [f"logo:{g}" for g in GENRES] + ["stsb", "mrpc-zero-shot", "mnrl:stsb", "mnrl:banking77"]
    assert got == {(m, method) for m in measurements for method in ("glot", "mean", "mean (untrained)")}
    for r in payload["records"]:
        low = 0 if r["measurement"] in ("mrpc-zero-shot", "mnrl:banking77") else -100
        assert low <= r["score"] <= 100
    untrained = {r["measurement"]: r["score"] for r in payload["records"] if r["method"] == "mean (untrained)"}
    assert untrained["stsb"] == untrained["mnrl:stsb"]  # the same model scored twice, on the same path
    assert "| glot |" in (out / "results.md").read_text()
    files = {data / "stsb" / "sts-train.csv": 36, data / "stsb" / "sts-dev.csv": 18}
    files.update({data / "mrpc" / f: n for f, n in (("msr-para-train.tsv", 12), ("msr-para-val.tsv", 4))})
    files.update({data / "mrpc" / "msr-para-test.tsv": 10, data / "banking77" / "train.csv": 16})
    files.update({data / "banking77" / "test.csv": 8, data / "banking77" / "categories.json": 2})
    losses = {m: "mnrl" if m.startswith("mnrl:") else "cosent" for m in measurements}
    training = {"loss": losses, "epochs": 1, "batch_size": 8, "seeds": [0, 1], "learning_rate": 2e-4}
    check_provenance(payload["provenance"], argv, tiny_bert_dir, trained, files, training, since)
    trained_records = [r for r in payload["records"] if r["seed"] is not None]
    assert all(r["cost"]["steps"] > 0 and r["measurement"] in r["training"].split(", ") for r in trained_records)
    costs = (out / "results.md").read_text().split("## Cost per method and training run")[1]
    assert "| glot | stsb, mrpc-zero-shot | 2 |" in costs  # one row per run, its two seeds (not its two measurements)
