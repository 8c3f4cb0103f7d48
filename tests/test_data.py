"""Local task readers on small files written in the offline formats."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from st_glot.evaluation.mteb_tasks import sts_task_from_file
from st_glot.evaluation.tasks import load_task, read_categories, read_sts_pairs, sample_rows


@pytest.fixture()
def data_dir(tmp_path):
    (tmp_path / "stsb").mkdir()
    sts = (
        "main-captions\tMSRvid\t2012test\t0001\t5.000\tA plane is taking off.\tAn air plane is taking off.\n"
        'main-news\theadlines\t2015\t0002\t1.250\tA "quoted" one\tanother\textra\tfields\n'
    )
    (tmp_path / "stsb" / "sts-train.csv").write_text(sts)
    (tmp_path / "stsb" / "sts-dev.csv").write_text(sts)
    (tmp_path / "sst2").mkdir()
    (tmp_path / "sst2" / "train.tsv").write_text("label\tsentence\r\n0\tbad film\r\n1\tgood film\r\n")
    (tmp_path / "sst2" / "dev.tsv").write_text("label\tsentence\r\n1\tfine\r\n0\tdull\r\n")
    (tmp_path / "cola").mkdir()
    (tmp_path / "cola" / "train.tsv").write_text("x\ty\nthe cat sat\t1\ncat the sat\t0\n")
    (tmp_path / "cola" / "test_idd.tsv").write_text("x\ty\na b\t1\n")
    (tmp_path / "cola" / "test_ood.tsv").write_text("x\ty\nc d\t0\n")
    (tmp_path / "mrpc").mkdir()
    header = "\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\r\n"
    (tmp_path / "mrpc" / "msr-para-train.tsv").write_text(header + '1\t1\t2\tHe said "yes".\tHe agreed.\r\n')
    (tmp_path / "mrpc" / "msr-para-val.tsv").write_text(header + "0\t3\t4\tA.\tB.\r\n")
    (tmp_path / "mrpc" / "msr-para-test.tsv").write_text(header + "1\t5\t6\tC.\tD.\r\n0\t7\t8\tE.\tF.\r\n")
    (tmp_path / "banking77").mkdir()
    (tmp_path / "banking77" / "categories.json").write_text(json.dumps(["card_arrival", "lost_card"]))
    (tmp_path / "banking77" / "train.csv").write_text(
        'text,category\r\n"Where is my card, please?",card_arrival\r\nlost it,lost_card\r\n'
    )
    (tmp_path / "banking77" / "test.csv").write_text("text,category\r\nlost again,lost_card\r\nwhen?,card_arrival\r\n")
    return str(tmp_path)


def test_stsb(data_dir):
    train, dev = load_task("stsb", data_dir)
    assert train.column_names == ["sentence1", "sentence2", "score"]
    assert train["score"] == [1.0, 0.25]
    assert train["sentence1"][1] == 'A "quoted" one' and train["sentence2"][1] == "another"


def test_single_sentence_tasks(data_dir):
    train, dev = load_task("sst2", data_dir)
    assert train["text"] == ["bad film", "good film"] and train["label"] == [0, 1] and len(dev) == 2
    train, dev = load_task("cola", data_dir)
    assert dev["text"] == ["a b", "c d"] and dev["label"] == [1, 0]


def test_mrpc_train_is_train_plus_val(data_dir):
    train, dev = load_task("mrpc", data_dir)
    assert train["sentence1"] == ['He said "yes".', "A."] and train["label"] == [1, 0] and dev["label"] == [1, 0]


def test_banking77_quoted_csv(data_dir):
    train, dev = load_task("banking77", data_dir)
    assert train["text"][0] == "Where is my card, please?" and train["label"] == [0, 1] and dev["label"] == [1, 0]


def test_limit_and_errors(data_dir, tmp_path):
    with pytest.raises(ValueError, match=r"The train split of 'sst2' holds one class only \(label [01], in a sample"):
        load_task("sst2", data_dir, limit=1)
    with pytest.raises(ValueError, match=r"Invalid task: 'qqq'. Valid values are"):
        load_task("qqq", data_dir)
    with pytest.raises(FileNotFoundError, match="should hold stsb/"):
        load_task("stsb", str(tmp_path / "empty"))


def _sorted_banking(tmp_path, classes: int = 5, per_class: int = 40) -> str:
    """A banking77 folder whose train file is sorted by class, as the real one is."""
    folder = tmp_path / "sorted" / "banking77"
    folder.mkdir(parents=True)
    names = [f"intent_{c}" for c in range(classes)]
    (folder / "categories.json").write_text(json.dumps(names))
    rows = "".join(f"text {c} {i},{names[c]}\n" for c in range(classes) for i in range(per_class))
    (folder / "train.csv").write_text("text,category\n" + rows)
    (folder / "test.csv").write_text("text,category\n" + rows)
    return str(tmp_path / "sorted")


def test_limit_is_a_seeded_stratified_sample(tmp_path):
    data = _sorted_banking(tmp_path)
    train, dev = load_task("banking77", data, limit=20, seed=1)
    assert len(train) == len(dev) == 20
    assert np.bincount(train["label"]).tolist() == [4, 4, 4, 4, 4]  # 20 rows x 1/5 of each class
    assert train["text"] != [f"text 0 {i}" for i in range(20)]  # not the first rows
    assert load_task("banking77", data, limit=20, seed=1)[0]["text"] == train["text"]
    assert load_task("banking77", data, limit=20, seed=2)[0]["text"] != train["text"]
    # file order is kept inside the sample
    assert train["label"] == sorted(train["label"])


def test_sample_rows_shares_and_uniform_sample():
    labels = [0] * 90 + [1] * 10
    keep = sample_rows(100, 10, labels, seed=0)
    assert len(keep) == 10 and sum(labels[i] for i in keep) == 1 and keep == sorted(keep)
    assert sample_rows(5, 10, labels[:5]) == [0, 1, 2, 3, 4]
    uniform = sample_rows(100, 30, seed=3)
    assert len(set(uniform)) == 30 and uniform != list(range(30)) and uniform == sorted(uniform)


@pytest.mark.parametrize(
    "row, message",
    [
        ("g\tf\t2012\t0001\t4.0\tonly one sentence\n", r"sts-train\.csv, line 2: no column 7 \(sentence2\)"),
        ("g\tf\t2012\t0001\tabc\tA.\tB.\n", r"sts-train\.csv, line 2, column 5 \(score\): 'abc' is not a number"),
        (
            "g\tf\t2012\t0001\t42\tA.\tB.\n",
            r"sts-train\.csv, line 2, column 5 \(score\): 42 is outside the task's range 0 to 5",
        ),
    ],
)
def test_malformed_sts_rows_name_file_line_and_column(data_dir, row, message):
    path = Path(data_dir) / "stsb" / "sts-train.csv"
    path.write_text("g\tf\t2012\t0000\t1.0\tA.\tB.\n" + row)
    with pytest.raises(ValueError, match=message):
        load_task("stsb", data_dir)


def test_malformed_classification_files(data_dir):
    train = Path(data_dir) / "sst2" / "train.tsv"
    train.write_text("polarity\tsentence\n0\tbad\n")
    with pytest.raises(ValueError, match=r"train\.tsv, line 1: no label column; the header \['polarity', 'sentence'\]"):
        load_task("sst2", data_dir)
    train.write_text("label\tsentence\n0\tbad\n1\n")
    with pytest.raises(ValueError, match=r"train\.tsv, line 3: no column 2 \(sentence\); the row has 1 column"):
        load_task("sst2", data_dir)
    train.write_text("label\tsentence\n0\tbad\npos\tgood\n")
    with pytest.raises(ValueError, match=r"train\.tsv, line 3: label 'pos' is not an integer class id"):
        load_task("sst2", data_dir)
    (Path(data_dir) / "banking77" / "test.csv").write_text("text,category\na,lost_card\nb,stolen\n")
    with pytest.raises(ValueError, match=r"test\.csv, line 3: label 'stolen' is not in categories\.json"):
        load_task("banking77", data_dir)


def test_one_reader_for_training_and_mteb(data_dir):
    """STS rows and categories.json read the same way by load_task and by the MTEB tasks."""
    train, _ = load_task("stsb", data_dir)
    task = sts_task_from_file(Path(data_dir) / "stsb" / "sts-train.csv")
    task.load_data()
    assert task.dataset["test"]["sentence2"] == train["sentence2"]
    assert [s / 5 for s in task.dataset["test"]["score"]] == train["score"]
    sentence1, _, scores = read_sts_pairs(Path(data_dir) / "stsb" / "sts-train.csv")
    assert sentence1 == train["sentence1"] and scores == [5.0, 1.25]
    assert read_categories(Path(data_dir) / "banking77") == ["card_arrival", "lost_card"]
    (Path(data_dir) / "stsb" / "sts-dev.csv").write_text("g\tf\t2012\t0001\t42\tA.\tB.\n")
    with pytest.raises(ValueError, match=r"sts-dev\.csv, line 1, column 5 \(score\): 42 is outside"):
        sts_task_from_file(Path(data_dir) / "stsb" / "sts-dev.csv")
