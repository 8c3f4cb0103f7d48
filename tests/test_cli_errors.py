"""Mistakes fail early and clearly, and no command leaves a half-written output folder."""

from __future__ import annotations

import pytest
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Normalize, Transformer

from st_glot import GLOTPooling
from st_glot.cli.main import main
from st_glot.explain.explanation import explain
from st_glot.models import backbones
from st_glot.utils import io
from st_glot.utils.io import atomic_output_dir


def _sst2(root) -> str:
    (root / "sst2").mkdir(parents=True, exist_ok=True)
    lines = "".join(f"{i % 2}\t{'dog cat' if i % 2 else 'red blue'} sat\n" for i in range(16))
    (root / "sst2" / "train.tsv").write_text("label\tsentence\n" + lines)
    (root / "sst2" / "dev.tsv").write_text("label\tsentence\n" + lines)
    return str(root)


def _train_argv(tmp_path, output, backbone: str, *extra: str) -> list[str]:
    return [
        "train",
        "--task",
        "sst2",
        "--data-dir",
        _sst2(tmp_path / "data"),
        "--output",
        str(output),
        "--backbone",
        backbone,
        "--hidden-dim",
        "8",
        "--epochs",
        "1",
        "--cache-dir",
        str(tmp_path / "cache"),
        "--quiet",
        *extra,
    ]


@pytest.fixture()
def no_backbone(monkeypatch):
    """Fail the test if any backbone starts loading."""

    def refuse(*args, **kwargs):
        raise AssertionError("a backbone was loaded before the input was checked")

    monkeypatch.setattr(backbones, "Transformer", refuse)


def _siblings(path) -> list[str]:
    """Hidden temporary folders left next to ``path``."""
    return sorted(p.name for p in path.parent.iterdir() if p.name.startswith(f".{path.name}."))


# --- the output folder --------------------------------------------------------------------------


def test_output_that_is_a_file_is_refused_before_the_backbone(tiny_bert_dir, tmp_path, no_backbone):
    target = tmp_path / "taken.txt"
    target.write_text("keep me")
    with pytest.raises(SystemExit, match=r"st-glot train: Output folder '.*taken\.txt': '.*taken\.txt' is a file"):
        main(_train_argv(tmp_path, target, tiny_bert_dir))
    with pytest.raises(SystemExit, match=r"st-glot train: Output folder '.*taken\.txt/model': .* is a file"):
        main(_train_argv(tmp_path, target / "model", tiny_bert_dir))
    assert target.read_text() == "keep me"
    with pytest.raises(SystemExit, match=r"st-glot glue: Output folder .* is a file, not a folder"):
        main(["glue", "--task", "sst2", "--data-dir", _sst2(tmp_path / "data"), "--output", str(target)])


def test_unwritable_output_is_refused_before_the_backbone(tiny_bert_dir, tmp_path, monkeypatch, no_backbone):
    # the tests may run as root, who can write anywhere: make the check see a read-only folder
    monkeypatch.setattr(io.os, "access", lambda path, mode: str(path) != str(tmp_path / "locked"))
    (tmp_path / "locked").mkdir()
    with pytest.raises(
        SystemExit, match=r"st-glot train: Output folder '.*locked/new/model': cannot write into '.*locked'"
    ):
        main(_train_argv(tmp_path, tmp_path / "locked" / "new" / "model", tiny_bert_dir))
    assert list((tmp_path / "locked").iterdir()) == []


def test_output_that_is_the_working_folder_is_refused(tiny_bert_dir, tmp_path, monkeypatch, no_backbone):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match=r"Output folder '\.' is the current folder, a folder above it"):
        main(_train_argv(tmp_path, ".", tiny_bert_dir))
    with pytest.raises(SystemExit, match=r"Output folder '\.\.' is the current folder, a folder above it"):
        main(_train_argv(tmp_path, "..", tiny_bert_dir))


def test_failed_command_leaves_no_output_and_keeps_the_old_one(tiny_bert_dir, tmp_path):
    out = tmp_path / "model"
    with pytest.raises(ValueError, match="epochs"):  # fails in training, after the backbone ran
        main(_train_argv(tmp_path, out, tiny_bert_dir, "--epochs", "0"))
    assert not out.exists() and _siblings(out) == []
    out.mkdir()
    (out / "old.txt").write_text("previous run")
    with pytest.raises(ValueError, match="epochs"):
        main(_train_argv(tmp_path, out, tiny_bert_dir, "--epochs", "0"))
    assert [p.name for p in out.iterdir()] == ["old.txt"] and _siblings(out) == []
    assert main(_train_argv(tmp_path, out, tiny_bert_dir)) == 0  # success replaces the folder whole
    assert not (out / "old.txt").exists() and (out / "modules.json").is_file() and _siblings(out) == []


def test_atomic_output_dir(tmp_path):
    out = tmp_path / "results"
    with pytest.raises(KeyboardInterrupt):
        with atomic_output_dir(out) as folder:
            (folder / "half.json").write_text("{")
            raise KeyboardInterrupt
    assert not out.exists() and _siblings(out) == []
    with atomic_output_dir(out) as folder:
        (folder / "a.json").write_text("1")
        assert not out.exists()  # nothing visible until the block ends
    assert (out / "a.json").read_text() == "1"
    with atomic_output_dir(out, keep_existing=True) as folder:
        (folder / "b.json").write_text("2")
    assert sorted(p.name for p in out.iterdir()) == ["a.json", "b.json"]
    with atomic_output_dir(out) as folder:
        (folder / "c.json").write_text("3")
    assert sorted(p.name for p in out.iterdir()) == ["c.json"] and _siblings(out) == []


def test_atomic_output_dir_writes_on_rank_0_only(tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    out = tmp_path / "model"
    with atomic_output_dir(out) as folder:
        (folder / "weights").write_text("rank 1")
        assert folder.parent != out.parent
    assert not out.exists() and not folder.exists() and _siblings(out) == []
    monkeypatch.setenv("RANK", "0")
    with atomic_output_dir(out) as folder:
        (folder / "weights").write_text("rank 0")
    assert (out / "weights").read_text() == "rank 0"


# --- data and backbone --------------------------------------------------------------------------


def test_malformed_data_is_one_line_before_the_backbone(tiny_bert_dir, tmp_path, no_backbone):
    argv = _train_argv(tmp_path, tmp_path / "out", tiny_bert_dir)
    (tmp_path / "data" / "sst2" / "dev.tsv").write_text("label\tsentence\n0\tbad\nseven\tgood\n")
    with pytest.raises(SystemExit, match=r"st-glot train: .*dev\.tsv, line 3: label 'seven' is not an integer"):
        main(argv)
    assert not (tmp_path / "out").exists()


def test_one_class_limit_is_an_error_before_the_backbone(tiny_bert_dir, tmp_path, no_backbone):
    with pytest.raises(SystemExit, match=r"st-glot train: The train split of 'sst2' holds one class only"):
        main(_train_argv(tmp_path, tmp_path / "out", tiny_bert_dir, "--limit", "1"))


def test_unknown_backbone_path_is_one_line(tmp_path, no_backbone):
    missing = str(tmp_path / "no-such-model")
    with pytest.raises(SystemExit, match=r"^st-glot train: Backbone: no such folder, and not a Hub model id: '/"):
        main(_train_argv(tmp_path, tmp_path / "out", missing))
    with pytest.raises(SystemExit, match=r"no such folder, and not a Hub model id: './models/x'"):
        main(_train_argv(tmp_path, tmp_path / "out", "./models/x"))


def test_hub_failure_is_one_line(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("We couldn't connect to 'https://huggingface.co' to load the files.\nCheck your connection.")

    monkeypatch.setattr(backbones, "Transformer", offline)
    with pytest.raises(SystemExit) as stopped:
        main(_train_argv(tmp_path, tmp_path / "out", "someone/missing-model"))
    assert str(stopped.value) == (
        "st-glot train: Backbone 'someone/missing-model': no such folder, and loading it from the Hugging Face Hub "
        "failed: We couldn't connect to 'https://huggingface.co' to load the files."
    )


# --- explain without --output -------------------------------------------------------------------


def test_explain_without_output_prints_and_writes_nothing(tiny_bert_dir, tmp_path, monkeypatch, capsys):
    model = SentenceTransformer(
        modules=[Transformer(tiny_bert_dir), GLOTPooling(32, hidden_dim=8), Normalize()], device="cpu"
    )
    model.save(str(tmp_path / "model"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["explain", "--model", str(tmp_path / "model"), "the cat sat on the mat", "--top", "2"]) == 0
    printed = capsys.readouterr().out.splitlines()
    loaded = SentenceTransformer(str(tmp_path / "model"), trust_remote_code=True, device="cpu")
    expected = explain(loaded, ["the cat sat on the mat"])[0]
    (_, token, weight), _ = expected.ranked(2)
    assert printed[0] == "[0] the cat sat on the mat"
    assert printed[1].split() == ["1.", f"{weight:.4f}", token]
    assert len(printed) == 3 and list(work.iterdir()) == []
