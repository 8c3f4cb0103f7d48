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
from sentence_transformers.base.modules import Transformer
from tolerance import (
    assert_trained_alike,
    assert_within,
    backbone_terms,
    bound,
    glot_terms,
    gradient_terms,
    magnitude,
    training_bound,
)

from st_glot import GLOTPooling
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
    tokens = int(mask1.sum(1).max())
    state_terms = backbone_terms(Transformer(tiny_bert_dir).auto_model, tokens)  # batches differ, so padding differs
    assert_within(states2, states1, bound(magnitude(states1), state_terms), "cached states")

    pooled1 = load_file(tmp_path / "out1" / "1_GLOTPooling" / "model.safetensors")
    pooled2 = load_file(tmp_path / "out2" / "1_GLOTPooling" / "model.safetensors")
    # distributed_fit.py: 2 epochs of 64 texts in batches of 16 at learning rate 1e-2; the gradient is split over
    # the processes and summed again, its rounding that of the states and the pooler's chain, forward and back.
    batch_tokens = 16 * tokens
    terms = state_terms + gradient_terms(glot_terms(GLOTPooling(32, hidden_dim=8), batch_tokens), batch_tokens)
    limit = training_bound(1e-2, 8, terms)
    assert_trained_alike(pooled2, pooled1, limit, state_terms)
    head1 = load_file(tmp_path / "out1" / "head" / "model.safetensors")
    head2 = load_file(tmp_path / "out2" / "head" / "model.safetensors")
    assert head1.keys() == head2.keys()
    for name, tensor in head1.items():
        assert_within(head2[name], tensor, limit, name)
