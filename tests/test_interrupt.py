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

import st_glot.cli.train
from st_glot.cli.main import INTERRUPTED_EXIT, main

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


@pytest.mark.slow
def test_interrupted_cache_fill_keeps_its_states_and_the_rerun_resumes(tiny_bert_dir, tmp_path):
    (tmp_path / "data" / "sst2").mkdir(parents=True)
    words = "the cat sat on mat dog red blue green quick brown fox jumps over lazy".split()
    texts = [" ".join(words[i % 7 : i % 7 + 2 + i % 5]) + f" {words[i % 11]} {words[i % 13]}" for i in range(80)]
    texts = list(dict.fromkeys(texts))
    rows = "".join(f"{i % 2}\t{t}\n" for i, t in enumerate(texts))
    (tmp_path / "data" / "sst2" / "train.tsv").write_text("label\tsentence\n" + rows)
    (tmp_path / "data" / "sst2" / "dev.tsv").write_text("label\tsentence\n" + rows)
    cache = tmp_path / "cache"
    argv = ["train", "--task", "sst2", "--data-dir", str(tmp_path / "data"), "--backbone", tiny_bert_dir]
    argv += ["--hidden-dim", "8", "--epochs", "1", "--batch-size", "4", "--cache-dir", str(cache)]
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
