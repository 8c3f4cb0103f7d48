"""Mistakes fail early and clearly, and no command leaves a half-written output folder."""

from __future__ import annotations

import argparse

import pytest
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Normalize, Transformer

from st_glot import GLOTPooling
from st_glot.cli.main import main
from st_glot.explanations.explanation import explain
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


def test_failed_command_leaves_no_output_and_keeps_the_old_one(tiny_bert_dir, tmp_path, monkeypatch):
    from st_glot.training import fit

    out = tmp_path / "model"
    trained = fit.fit

    def fail(model, *args, **kwargs):  # fails in training, after the backbone loaded
        assert isinstance(model, SentenceTransformer)
        raise ValueError("training failed")

    monkeypatch.setattr(fit, "fit", fail)
    with pytest.raises(ValueError, match="training failed"):
        main(_train_argv(tmp_path, out, tiny_bert_dir))
    assert not out.exists() and _siblings(out) == []
    out.mkdir()
    (out / "old.txt").write_text("previous run")
    with pytest.raises(ValueError, match="training failed"):
        main(_train_argv(tmp_path, out, tiny_bert_dir))
    assert [p.name for p in out.iterdir()] == ["old.txt"] and _siblings(out) == []
    monkeypatch.setattr(fit, "fit", trained)
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
    monkeypatch.setattr(backbones, "hub_unreachable", lambda repo_id: None)  # the load itself fails
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


# --- option values: one line at parse time, before any data or model ------------------------------


def test_comma_lists_take_spaces_and_refuse_an_empty_list():
    from st_glot.cli.args import SEEDS, comma_list

    assert SEEDS("0, 1,2") == [0, 1, 2]
    assert comma_list(valid=("glot", "mean"))("glot, mean") == ["glot", "mean"]
    with pytest.raises(argparse.ArgumentTypeError, match=r"^no seed\(s\) given"):
        SEEDS(" ")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["compare", "--epochs", "0"], "argument --epochs: invalid value '0': expected an integer >= 1"),
        (["train", "--batch-size", "0"], "argument --batch-size: invalid value '0': expected an integer >= 1"),
        (["compare", "--lr", "-1"], "argument --lr: invalid value '-1': expected a number > 0"),
        (["glue", "--lr", "0"], "argument --lr: invalid value '0': expected a number > 0"),
        (["glue", "--lr", "nan"], "argument --lr: invalid value 'nan': expected a number > 0"),
        (["compare", "--tau", "2"], "argument --tau: invalid value '2': expected a number in [-1, 1]"),
        (
            ["compare", "--anchor-weight", "3"],
            "argument --anchor-weight: invalid value '3': expected a number in [0, 1]",
        ),
        (["train", "--dropout", "1"], "argument --dropout: invalid value '1': expected a number in [0, 1)"),
        (["train", "--num-layers", "-1"], "argument --num-layers: invalid value '-1': expected an integer >= 0"),
        (["train", "--weight-decay", "-0.1"], "argument --weight-decay: invalid value '-0.1': expected a number >= 0"),
        (
            ["compare", "--validation-fraction", "1"],
            "argument --validation-fraction: invalid value '1': expected a number in (0, 1)",
        ),
        (["compare", "--lr-grid", "1e-3,abc"], "argument --lr-grid: invalid value 'abc': expected a number > 0"),
        (
            ["compare", "--seeds", "0,,1"],
            "argument --seeds/--seed: empty item in '0,,1': expected comma-separated seed(s)",
        ),
        (["compare", "--seeds", "1,2,1"], "argument --seeds/--seed: seed(s) given twice in '1,2,1': 1"),
        (
            ["glue", "--seeds", "-1"],
            "argument --seeds/--seed: invalid value '-1': expected an integer in [0, 4294967295]",
        ),
        (["train", "--seed", "x"], "argument --seed: invalid value 'x': expected an integer in [0, 4294967295]"),
        (["stress-test", "--train-size", "0"], "argument --train-size: invalid value '0': expected an integer >= 2"),
        (["stress-test", "--ratios", "0.5,1.5"], "argument --ratios: invalid value '1.5': expected a number in (0, 1)"),
        (["glue", "--limit", "0"], "argument --limit: invalid value '0': expected an integer >= 1"),
        (["mteb", "--n-experiments", "0"], "argument --n-experiments: invalid value '0': expected an integer >= 1"),
        (
            ["compare", "--pooling", "glot,glot"],
            "argument --pooling: pooling method(s) given twice in 'glot,glot': glot",
        ),
    ],
)
def test_bad_option_value_is_one_line_naming_the_valid_range(argv, message, capsys, no_backbone):
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    command = argv[0]
    assert err == f"st-glot {command}: error: {message} (options: st-glot {command} --help)\n"


@pytest.mark.parametrize(
    ("task", "loss", "valid"),
    [
        ("sst2", "cosent", "classification"),
        ("stsb", "classification", "cosent, cosine"),
        ("rte", "cosine", "classification"),  # label 0 is entailment: not a similarity
    ],
)
def test_train_loss_that_cannot_train_the_task_is_refused_first(tmp_path, task, loss, valid, no_backbone):
    output = tmp_path / "out"
    argv = ["train", "--task", task, "--loss", loss, "--output", str(output), "--data-dir", str(tmp_path / "none")]
    with pytest.raises(
        SystemExit, match=rf"^st-glot train: --loss {loss} cannot train task '{task}'; valid for it: {valid}\.$"
    ):
        main(argv)
    assert not output.exists()


@pytest.mark.parametrize("command", ["explain", "mteb"])
def test_model_that_is_neither_folder_nor_hub_id_is_one_line(command, tmp_path, monkeypatch):
    import sentence_transformers

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded before --model was checked")

    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", refuse)
    extra = ["hello"] if command == "explain" else ["--local-sts", str(tmp_path / "sts.csv")]
    (tmp_path / "sts.csv").write_text("sentence1,sentence2,score\na,b,1\nc,d,2\n")
    with pytest.raises(
        SystemExit, match=rf"^st-glot {command}: --model: no such folder, and not a Hub model id: 'nope/'\.$"
    ):
        main([command, "--model", "nope/", *extra, "--output", str(tmp_path / "out")])


def test_task_losses_follow_what_the_labels_mean():
    from st_glot.evaluation.tasks import TASKS

    assert TASKS["stsb"].losses == ("cosent", "cosine")
    assert TASKS["mrpc"].losses == TASKS["qqp"].losses == ("classification", "cosent", "cosine")
    for name in ("sst2", "cola", "rte", "qnli", "mnli-m", "wnli", "banking77"):
        assert TASKS[name].losses == ("classification",), name
    assert all(task.loss in task.losses for task in TASKS.values())  # every task's default trains


def test_unknown_option_points_to_the_command_help(capsys):
    with pytest.raises(SystemExit):
        main(["compare", "--train", "a", "--eval", "b", "--foo", "1"])
    assert capsys.readouterr().err == (
        "st-glot compare: error: unrecognized arguments: --foo 1 (options: st-glot compare --help)\n"
    )


def test_negative_values_are_values_not_options():
    from st_glot.cli.main import build_parser

    args = build_parser().parse_args(["compare", "--train", "a", "--eval", "b", "--tau", "-1e-1"])
    assert args.tau == -0.1


def test_unknown_mteb_task_is_one_line(tmp_path):
    with pytest.raises(SystemExit, match=r"^st-glot mteb: --tasks: 'STSBenchmarkx' not found\. Did you mean"):
        main(["mteb", "--model", "someone/model", "--tasks", "STSBenchmarkx", "--output", str(tmp_path / "out")])


@pytest.fixture()
def no_network(monkeypatch):
    """The Hub's host does not resolve, no proxy or offline mode is set."""
    import socket

    from huggingface_hub import constants

    def unresolved(host, *args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unresolved)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr("urllib.request.getproxies", dict)  # no proxy, from the environment or the system


def test_unreachable_hub_fails_at_once(tmp_path, no_network, no_backbone):
    from urllib.parse import urlparse

    from huggingface_hub import constants

    with pytest.raises(SystemExit) as stopped:
        main(_train_argv(tmp_path, tmp_path / "out", "someone/missing-model"))
    assert str(stopped.value) == (
        "st-glot train: Backbone 'someone/missing-model': no such folder, and loading it from the Hugging Face Hub "
        f"failed: its host {urlparse(constants.ENDPOINT).hostname} does not resolve (no network? a local folder "
        "works offline)"
    )
    assert not (tmp_path / "out").exists()


def test_hub_check_is_sure_before_it_fails(no_network, monkeypatch, tmp_path):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.delenv("SENTENCE_TRANSFORMERS_HOME", raising=False)
    assert backbones.hub_unreachable("someone/missing-model") is not None
    monkeypatch.setattr("urllib.request.getproxies", lambda: {"https": "http://proxy:3128"})
    assert backbones.hub_unreachable("someone/missing-model") is None  # the proxy resolves names, not this machine
    monkeypatch.setattr("urllib.request.getproxies", dict)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert backbones.hub_unreachable("someone/missing-model") is None  # offline mode: the cache decides
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    # Anything of the repository cached (a GGUF file alone, a sentence-transformers model without config.json)
    (tmp_path / "hub" / "models--someone--missing-model" / "snapshots" / "abc").mkdir(parents=True)
    assert backbones.hub_unreachable("someone/missing-model") is None
    monkeypatch.setenv("SENTENCE_TRANSFORMERS_HOME", str(tmp_path / "st"))
    (tmp_path / "st" / "models--someone--other").mkdir(parents=True)
    assert backbones.hub_unreachable("someone/other") is None  # sentence-transformers' own cache folder


def test_command_option_before_the_command_says_where_it_goes(capsys):
    with pytest.raises(SystemExit):
        main(["--verbose", "train", "--task", "sst2", "--output", "x"])
    assert capsys.readouterr().err == (
        "st-glot: error: unrecognized arguments: --verbose; a command's options go after it: "
        "st-glot train --verbose … (options: st-glot --help)\n"
    )
