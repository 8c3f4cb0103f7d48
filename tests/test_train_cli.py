"""``st-glot train`` end to end on a tiny backbone and tiny local data."""

from __future__ import annotations

import json

import numpy as np
from sentence_transformers import SentenceTransformer

from st_glot.cli.main import main
from st_glot.training.heads import load_head


def test_train_cli_classification(tiny_bert_dir, tmp_path):
    (tmp_path / "data" / "sst2").mkdir(parents=True)
    rows = "".join(f"{i % 2}\t{'dog cat' if i % 2 else 'red blue'} sat\r\n" for i in range(40))
    (tmp_path / "data" / "sst2" / "train.tsv").write_text("label\tsentence\r\n" + rows)
    (tmp_path / "data" / "sst2" / "dev.tsv").write_text(
        "label\tsentence\r\n" + "".join(rows.splitlines(keepends=True)[:10])
    )
    out = tmp_path / "out"
    code = main(
        [
            "train",
            "--task",
            "sst2",
            "--data-dir",
            str(tmp_path / "data"),
            "--output",
            str(out),
            "--backbone",
            tiny_bert_dir,
            "--hidden-dim",
            "8",
            "--epochs",
            "2",
            "--batch-size",
            "8",
            "--lr",
            "1e-2",
            "--cache-dir",
            str(tmp_path / "cache"),
        ]
    )
    assert code == 0
    summary = json.loads((out / "st_glot_training.json").read_text())
    assert summary["metrics"]["eval_accuracy"] == 1.0  # the two classes differ in every token
    model = SentenceTransformer(str(out), trust_remote_code=True, device="cpu")
    head = load_head(str(out))
    logits = head([model.encode(["dog cat sat", "red blue sat"], convert_to_tensor=True)])
    assert logits.argmax(-1).tolist() == [1, 0]
    assert not np.allclose(np.linalg.norm(model.encode(["dog"]), axis=1), 1.0)  # no Normalize for classification
