"""``st-glot glue`` on a tiny backbone and tiny local data; the results table."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from provenance_checks import check_provenance, record_poolers

from st_glot.cli.main import main
from st_glot.evaluation.glue import format_table


def test_glue_command(tiny_bert_dir, tmp_path, monkeypatch):
    data = tmp_path / "data"
    (data / "stsb").mkdir(parents=True)
    words = ["red", "blue", "green", "fox", "mat", "box", "keys"]
    lines = [
        f"g\tf\t2012\t{i:04d}\t{i % 6}.000\tthe cat sat {words[i % 7]}\ta dog sat {words[i % 5]}\n" for i in range(24)
    ]
    (data / "stsb" / "sts-train.csv").write_text("".join(lines))
    (data / "stsb" / "sts-dev.csv").write_text("".join(lines[:12]))
    (data / "cola").mkdir()
    (data / "cola" / "train.tsv").write_text(
        "x\ty\n" + "".join(f"{'the cat sat' if i % 2 else 'sat cat the'}\t{i % 2}\n" for i in range(24))
    )
    (data / "cola" / "test_idd.tsv").write_text("x\ty\nthe cat sat\t1\nsat cat the\t0\n")
    (data / "cola" / "test_ood.tsv").write_text("x\ty\nthe dog sat\t1\n")
    out = tmp_path / "out"
    trained, since = record_poolers(monkeypatch), datetime.now(timezone.utc)
    argv = [
        "glue",
        "--task",
        "stsb,cola",
        "--pooling",
        "glot,mean",
        "--backbone",
        tiny_bert_dir,
        "--data-dir",
        str(data),
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--hidden-dim",
        "8",
        "--cache-dir",
        str(tmp_path / "cache"),
        "--output",
        str(out),
        "--paper-backbone",
        "BERT-base",
    ]
    assert main(argv) == 0
    payload = json.loads((out / "results.json").read_text())
    records = payload["records"]
    assert {r["seed"] for r in records if r["method"] != "mean (untrained)"} == {0}
    got = {(r["task"], r["method"]) for r in records}
    assert got == {("stsb", "glot"), ("stsb", "mean"), ("stsb", "mean (untrained)"), ("cola", "glot"), ("cola", "mean")}
    assert all(-100 <= r["score"] <= 100 for r in records)
    assert "| paper BERT-base glot | 83.86 | 47.49 |" in (out / "results.md").read_text()
    files = {data / "stsb" / "sts-train.csv": 24, data / "stsb" / "sts-dev.csv": 12, data / "cola" / "train.tsv": 24}
    files.update({data / "cola" / "test_idd.tsv": 2, data / "cola" / "test_ood.tsv": 1})
    training = {"loss": {"stsb": "cosine", "cola": "classification"}, "epochs": 1, "batch_size": 8, "seeds": [0]}
    check_provenance(payload["provenance"], argv, tiny_bert_dir, trained, files, training, since)
    assert all(("cost" in r) == (r["method"] != "mean (untrained)") for r in records)
    costs = (out / "results.md").read_text().split("## Cost per method")[1]
    assert all(f"| {m} | {t} | 1 |" in costs for m in ("glot", "mean") for t in ("stsb", "cola"))


def test_unknown_task_is_rejected(capsys):
    with pytest.raises(SystemExit):
        main(["glue", "--task", "cola,squad"])
    assert "unknown task(s) ['squad']; valid:" in capsys.readouterr().err


def test_table_layout():
    records = [
        {"task": "cola", "method": "glot", "metric": "mcc", "score": 40.0},
        {"task": "sst2", "method": "glot", "metric": "accuracy", "score": 90.123},
    ]
    table = format_table(records)
    assert table.splitlines()[0] == "| method | cola (mcc) | sst2 (accuracy) |"
    assert "| glot | 40.00 | 90.12 |" in table
