"""Ctrl-C: one line, exit status 130, and the token states computed so far are kept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import build_model
from datasets import Dataset
from safetensors.torch import load_file
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Transformer

import st_glot.cli.train
from st_glot import GLOTPooling
from st_glot.cli.main import INTERRUPTED_EXIT, interrupted_message, main
from st_glot.training.fit import TrainingInterrupted, fit

WORKER = str(Path(__file__).with_name("interrupt_worker.py"))


def test_ctrl_c_in_a_command_is_one_line_and_status_130(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(st_glot.cli.train, "run", interrupted)
    status = main(["train", "--task", "sst2", "--output", "unused"])
    assert status == INTERRUPTED_EXIT == 130
    assert capsys.readouterr() == ("", "interrupted\n")


def _texts_in_shards(cache_root: Path) -> int:
    return sum(len(json.loads(p.read_text())["hashes"]) for p in cache_root.glob("*/shard-*.json"))


def _sst2_argv(tmp_path: Path, bert_dir: str, texts: list[str], *extra: str) -> list[str]:
    """``st-glot train`` on an SST-2 folder holding ``texts`` (labels alternate) for training and evaluation."""
    folder = tmp_path / "data" / "sst2"
    folder.mkdir(parents=True, exist_ok=True)
    rows = "label\tsentence\n" + "".join(f"{i % 2}\t{t}\n" for i, t in enumerate(texts))
    (folder / "train.tsv").write_text(rows)
    (folder / "dev.tsv").write_text(rows)
    argv = ["train", "--task", "sst2", "--data-dir", str(folder.parent), "--backbone", bert_dir]
    return argv + ["--hidden-dim", "8", "--cache-dir", str(tmp_path / "cache"), *extra]


@pytest.mark.slow
def test_interrupted_cache_fill_keeps_its_states_and_the_rerun_resumes(tiny_bert_dir, tmp_path):
    words = "the cat sat on mat dog red blue green quick brown fox jumps over lazy".split()
    texts = [" ".join(words[i % 7 : i % 7 + 2 + i % 5]) + f" {words[i % 11]} {words[i % 13]}" for i in range(80)]
    texts = list(dict.fromkeys(texts))
    cache = tmp_path / "cache"
    argv = _sst2_argv(tmp_path, tiny_bert_dir, texts, "--epochs", "1", "--batch-size", "4")
    argv += ["--output", str(tmp_path / "out"), "--quiet"]

    process = subprocess.Popen(
        [sys.executable, WORKER, "0.2", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 300
    while process.poll() is None and _texts_in_shards(cache) < 8 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, "the fill ended before it could be interrupted"
    os.kill(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=120)
    kept = _texts_in_shards(cache)
    assert process.returncode == 130
    assert err == f"interrupted; {kept:,} token states kept, run the same command to resume\n"
    assert 8 <= kept < len(texts) and not (tmp_path / "out").exists()

    rerun = subprocess.run([sys.executable, WORKER, "0", *argv], capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads((tmp_path / "out" / "st_glot_training.json").read_text())
    assert summary["texts_computed"] == len(texts) - kept  # only the states the interrupted run had not kept
    assert _texts_in_shards(cache) == len(texts)


def test_train_resumes_from_its_checkpoint_dir(tiny_bert_dir, tmp_path, capfd):
    """A run stopped after epoch 1 and run again with 2 epochs resumes at epoch 2 and saves the
    weights of an uninterrupted 2-epoch run."""
    texts = [f"{'dog cat' if i % 2 else 'red blue'} sat{' the' * (i % 5)}" for i in range(24)]

    def train(epochs: int, output: str, *extra: str) -> SentenceTransformer:
        argv = _sst2_argv(tmp_path, tiny_bert_dir, texts, "--epochs", str(epochs), "--batch-size", "8")
        assert main([*argv, "--output", str(tmp_path / output), *extra]) == 0
        return SentenceTransformer(str(tmp_path / output), trust_remote_code=True, device="cpu")

    checkpoints = ["--checkpoint-dir", str(tmp_path / "checkpoints")]
    train(1, "stopped", *checkpoints)
    capfd.readouterr()
    resumed = train(2, "resumed", *checkpoints, "--verbose")
    losses = [line for line in capfd.readouterr().err.splitlines() if ": loss " in line]
    assert [line.split(":")[1] for line in losses] == [" Training glot, step 6/6"]  # epoch 2 only
    straight = train(2, "straight")
    for ours, reference in zip(resumed[1].state_dict().values(), straight[1].state_dict().values(), strict=True):
        assert torch.equal(ours, reference)
    heads = [load_file(tmp_path / run / "head" / "model.safetensors") for run in ("resumed", "straight")]
    assert heads[0].keys() == heads[1].keys() and all(torch.equal(heads[0][k], heads[1][k]) for k in heads[0])


def test_ctrl_c_in_training_names_the_checkpoint_it_resumes_from(tiny_bert_dir, tmp_path):
    """Ctrl-C in step 5 of 3-step epochs: the run stops with epoch 1's checkpoint, and says so."""
    model = build_model(Transformer(tiny_bert_dir), GLOTPooling(32, hidden_dim=8))
    steps = []

    def interrupt_in_step_5(module, args) -> None:
        steps.append(module.training)
        if sum(steps) == 5:
            raise KeyboardInterrupt

    model[1].register_forward_pre_hook(interrupt_in_step_5)
    texts = [f"{'dog cat' if i % 2 else 'red blue'} sat{' the' * (i % 5)}" for i in range(24)]
    data = Dataset.from_dict({"text": texts, "label": [i % 2 for i in range(24)]})
    checkpoints = tmp_path / "checkpoints"
    with pytest.raises(TrainingInterrupted) as interrupted:
        fit(
            model,
            data,
            loss="classification",
            epochs=3,
            batch_size=8,
            cache_dir=tmp_path / "cache",
            checkpoint_dir=str(checkpoints),
            show_progress_bar=False,
        )
    assert interrupted.value.checkpoint == str(checkpoints / "checkpoint-3")
    assert interrupted_message(interrupted.value) == (
        f"interrupted; run the same command to resume training from {checkpoints / 'checkpoint-3'}"
    )
