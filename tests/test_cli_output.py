"""What the command line prints: one bar per phase, no trainer dictionaries, --verbose, --quiet,
a light parser, and ``fit(show_progress_bar=False)`` printing nothing."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from conftest import build_model
from datasets import Dataset
from sentence_transformers.base.modules import Transformer

from st_glot import GLOTPooling
from st_glot.cli.main import build_parser, main
from st_glot.training.fit import fit

#: What the trainer and the libraries print on their own, and st-glot's commands must not.
NOISE = ("{'loss'", "grad_norm", "Computing widget examples", "Writing model shards", "Loading weights")


def _sst2(folder, rows: int = 40) -> str:
    """A tiny SST-2 folder: the two classes differ in every token."""
    (folder / "sst2").mkdir(parents=True)
    lines = "".join(f"{i % 2}\t{'dog cat' if i % 2 else 'red blue'} sat{' the' * (i % 5)}\n" for i in range(rows))
    (folder / "sst2" / "train.tsv").write_text("label\tsentence\n" + lines)
    (folder / "sst2" / "dev.tsv").write_text("label\tsentence\n" + "".join(lines.splitlines(keepends=True)[:10]))
    return str(folder)


def _train_argv(bert_dir, tmp_path, *extra: str) -> list[str]:
    return [
        "train",
        "--task",
        "sst2",
        "--data-dir",
        _sst2(tmp_path / "data") if not (tmp_path / "data").exists() else str(tmp_path / "data"),
        "--backbone",
        bert_dir,
        "--hidden-dim",
        "8",
        "--epochs",
        "2",
        "--batch-size",
        "8",
        "--cache-dir",
        str(tmp_path / "cache"),
        *extra,
    ]


def test_train_prints_one_bar_per_phase_and_no_trainer_logs(tiny_bert_dir, tmp_path, capfd):
    assert main(_train_argv(tiny_bert_dir, tmp_path, "--output", str(tmp_path / "out"))) == 0
    out, err = capfd.readouterr()
    assert not [noise for noise in NOISE if noise in out + err]
    finished = {line.split(":")[0] for line in err.replace("\r", "\n").splitlines() if "100%|" in line}
    assert finished == {"Token states", "Training glot"}  # one bar per phase, labelled
    assert (tmp_path / "out" / "modules.json").exists()


def test_verbose_logs_each_epoch_without_misleading_figures(tiny_bert_dir, tmp_path, capfd):
    assert main(_train_argv(tiny_bert_dir, tmp_path, "--output", str(tmp_path / "out"), "--verbose")) == 0
    err = capfd.readouterr().err
    epochs = [line for line in err.splitlines() if line.startswith("INFO: Training glot, step") and ": loss " in line]
    assert [line.split(":")[1] for line in epochs] == [" Training glot, step 5/10", " Training glot, step 10/10"]
    assert "eval_accuracy" in err
    # The head trains but the trainer's grad_norm covers the model only; evaluation speeds divide by 0 rows.
    assert "grad_norm" not in err and "eval_samples_per_second" not in err


def test_quiet_prints_only_the_results(tiny_bert_dir, tmp_path, capfd):
    assert main(_train_argv(tiny_bert_dir, tmp_path, "--output", str(tmp_path / "out"), "--quiet")) == 0
    out, err = capfd.readouterr()
    assert err == ""
    assert json.loads(out[: out.rindex("}") + 1])["metrics"]["eval_accuracy"] >= 0.0


def test_every_command_takes_verbose_and_quiet():
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    for name, parser in subparsers.choices.items():
        options = {option for action in parser._actions for option in action.option_strings}
        assert {"--verbose", "--quiet"} <= options, name
        with pytest.raises(SystemExit):
            parser.parse_args(["--verbose", "--quiet"])  # one or the other


def test_fit_without_progress_bar_prints_nothing(tiny_bert_dir, tmp_path, capfd):
    torch.manual_seed(0)
    model = build_model(Transformer(tiny_bert_dir), GLOTPooling(32, hidden_dim=8))
    capfd.readouterr()
    texts = [f"dog {'cat ' * (i % 4)}sat" if i % 2 else f"red {'blue ' * (i % 3)}mat" for i in range(24)]
    data = Dataset.from_dict({"text": texts, "label": [i % 2 for i in range(24)]})
    fit(
        model,
        data,
        loss="classification",
        eval_dataset=data,
        epochs=2,
        batch_size=8,
        cache_dir=tmp_path / "cache",
        output_dir=str(tmp_path / "out"),
        checkpoint_dir=str(tmp_path / "checkpoints"),
        show_progress_bar=False,
    )
    assert (tmp_path / "out" / "head").is_dir()  # it did train, evaluate, checkpoint and save
    assert capfd.readouterr() == ("", "")


def test_building_the_parser_imports_no_heavy_library():
    heavy = ["torch", "sentence_transformers", "transformers", "datasets", "mteb"]
    code = (
        "import sys, st_glot.cli.main as m; m.build_parser(); "
        f"print([name for name in {heavy!r} if name in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
