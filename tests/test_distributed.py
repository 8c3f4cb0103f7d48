"""A real 2-process gloo run (torchrun) against a 1-process run: same cache, same trained pooler."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from st_glot.training.cache import TokenStateCache

SCRIPT = Path(__file__).parent / "scripts" / "distributed_fit.py"


def _run(command: list[str], tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.mark.slow
def test_two_processes_match_one(tiny_bert_dir, tmp_path):
    _run([sys.executable, str(SCRIPT), tiny_bert_dir, str(tmp_path / "cache1"), str(tmp_path / "out1")], tmp_path)
    _run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--master_port",
            "29517",
            str(SCRIPT),
            tiny_bert_dir,
            str(tmp_path / "cache2"),
            str(tmp_path / "out2"),
        ],
        tmp_path,
    )

    one, two = (next((tmp_path / c).iterdir()) for c in ("cache1", "cache2"))
    assert len(list(two.glob("shard-*.json"))) == 2  # one shard from each process
    dim = 32
    cache1, cache2 = TokenStateCache(one, dim, "float32"), TokenStateCache(two, dim, "float32")
    assert len(cache1) == len(cache2) > 0
    texts = json.loads((tmp_path / "texts.json").read_text())  # compared by text: row order differs
    rows1, rows2 = cache1.rows(texts), cache2.rows(texts)
    states1, mask1 = cache1.gather(rows1)
    states2, mask2 = cache2.gather(rows2)
    assert torch.equal(mask1, mask2)
    torch.testing.assert_close(states1, states2, atol=1e-5, rtol=0)  # batches differ, so padding differs

    pooled1 = load_file(tmp_path / "out1" / "1_GLOTPooling" / "model.safetensors")
    pooled2 = load_file(tmp_path / "out2" / "1_GLOTPooling" / "model.safetensors")
    # The scorer's output bias shifts every score equally, so the softmax cancels it and its true gradient
    # is 0; Adam turns the float noise in that gradient into full-size steps, so it is excluded.
    shift_invariant = "readout.scorer.2.bias"
    differing = [
        name
        for name, tensor in pooled1.items()
        if name != shift_invariant and not torch.allclose(pooled2[name], tensor, atol=1e-5, rtol=1e-4)
    ]
    assert differing == []
    head1 = load_file(tmp_path / "out1" / "head" / "model.safetensors")
    head2 = load_file(tmp_path / "out2" / "head" / "model.safetensors")
    for name, tensor in head1.items():
        torch.testing.assert_close(head2[name], tensor, atol=1e-5, rtol=1e-4)
