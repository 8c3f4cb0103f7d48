"""Local task readers on small files written in the offline formats."""

from __future__ import annotations

import json

import pytest

from st_glot.evaluation.tasks import load_task


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
    (tmp_path / "sst2" / "dev.tsv").write_text("label\tsentence\r\n1\tfine\r\n")
    (tmp_path / "cola").mkdir()
    (tmp_path / "cola" / "train.tsv").write_text("x\ty\nthe cat sat\t1\ncat the sat\t0\n")
    (tmp_path / "cola" / "test_idd.tsv").write_text("x\ty\na b\t1\n")
    (tmp_path / "cola" / "test_ood.tsv").write_text("x\ty\nc d\t0\n")
    (tmp_path / "mrpc").mkdir()
    header = "\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\r\n"
    (tmp_path / "mrpc" / "msr-para-train.tsv").write_text(header + '1\t1\t2\tHe said "yes".\tHe agreed.\r\n')
    (tmp_path / "mrpc" / "msr-para-val.tsv").write_text(header + "0\t3\t4\tA.\tB.\r\n")
    (tmp_path / "mrpc" / "msr-para-test.tsv").write_text(header + "1\t5\t6\tC.\tD.\r\n")
    (tmp_path / "banking77").mkdir()
    (tmp_path / "banking77" / "categories.json").write_text(json.dumps(["card_arrival", "lost_card"]))
    (tmp_path / "banking77" / "train.csv").write_text(
        'text,category\r\n"Where is my card, please?",card_arrival\r\nlost it,lost_card\r\n'
    )
    (tmp_path / "banking77" / "test.csv").write_text("text,category\r\nlost again,lost_card\r\n")
    return str(tmp_path)


def test_stsb(data_dir):
    train, dev = load_task("stsb", data_dir)
    assert train.column_names == ["sentence1", "sentence2", "score"]
    assert train["score"] == [1.0, 0.25]
    assert train["sentence1"][1] == 'A "quoted" one' and train["sentence2"][1] == "another"


def test_single_sentence_tasks(data_dir):
    train, dev = load_task("sst2", data_dir)
    assert train["text"] == ["bad film", "good film"] and train["label"] == [0, 1] and len(dev) == 1
    train, dev = load_task("cola", data_dir)
    assert dev["text"] == ["a b", "c d"] and dev["label"] == [1, 0]


def test_mrpc_train_is_train_plus_val(data_dir):
    train, dev = load_task("mrpc", data_dir)
    assert train["sentence1"] == ['He said "yes".', "A."] and train["label"] == [1, 0] and dev["label"] == [1]


def test_banking77_quoted_csv(data_dir):
    train, dev = load_task("banking77", data_dir)
    assert train["text"][0] == "Where is my card, please?" and train["label"] == [0, 1] and dev["label"] == [1]


def test_limit_and_errors(data_dir, tmp_path):
    train, _ = load_task("sst2", data_dir, limit=1)
    assert len(train) == 1
    with pytest.raises(ValueError, match=r"Invalid task: 'qqq'. Valid values are"):
        load_task("qqq", data_dir)
    with pytest.raises(FileNotFoundError, match="should hold stsb/"):
        load_task("stsb", str(tmp_path / "empty"))
