"""Subprocess side of the kill-and-resume and concurrency tests in ``test_reliability.py``.

Usage::

    python reliability_worker.py precompute BERT_DIR CACHE_ROOT TEXTS_JSON DELAY_S
    python reliability_worker.py fit BERT_DIR CACHE_ROOT CHECKPOINT_DIR OUT_FILE DELAY_S

``precompute`` fills the fp32 token-state cache one text per backbone call
(so states do not depend on batch company) and prints how many texts it
computed. ``fit`` trains a seeded GLOT pooler and classification head for three
epochs with checkpoints, writes both state dicts to ``OUT_FILE``
(safetensors) and prints the number of training steps it ran. ``DELAY_S`` slows each step down so a test can kill the process
mid-way; it never changes a number.
"""

from __future__ import annotations

import json
import sys
import time

import torch
from safetensors.torch import save_file
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Normalize, Transformer

from st_glot import GLOTPooling
from st_glot.training.cache import TokenStateCache
from st_glot.training.fit import fit
from st_glot.training.frozen import backbone_states

#: (text, label) rows of the ``fit`` job.
FIT_ROWS = [
    (" ".join(["dog", "cat", "red", "the", "box"][: 1 + i % 5] + ["folder"] * (i % 3)), i % 2) for i in range(24)
]


def _model(bert_dir: str) -> SentenceTransformer:
    torch.manual_seed(0)
    return SentenceTransformer(
        modules=[Transformer(bert_dir), GLOTPooling(32, hidden_dim=8), Normalize()], device="cpu"
    )


def precompute(bert_dir: str, cache_root: str, texts_json: str, delay: float) -> None:
    model = _model(bert_dir)
    cache = TokenStateCache.for_backbone(model[0], cache_root, dtype="float32")

    def slow_states(batch):
        time.sleep(delay)
        return backbone_states(model, batch)

    with open(texts_json, encoding="utf-8") as f:
        texts = json.load(f)
    print(cache.add(texts, slow_states, batch_size=1, shard_size=2, show_progress_bar=False))


def train(bert_dir: str, cache_root: str, checkpoint_dir: str, out_file: str, delay: float) -> None:
    from datasets import Dataset

    model = _model(bert_dir)
    steps = []

    def slow_step(module, args) -> None:
        time.sleep(delay)
        steps.append(module.training)

    model[1].register_forward_pre_hook(slow_step)
    data = Dataset.from_dict({"text": [t for t, _ in FIT_ROWS], "label": [y for _, y in FIT_ROWS]})
    result = fit(
        model,
        data,
        loss="classification",
        epochs=3,
        batch_size=8,
        cache_dir=cache_root,
        cache_dtype="float32",
        checkpoint_dir=checkpoint_dir,
        show_progress_bar=False,
    )
    state = {f"pooler.{k}": v for k, v in model[1].state_dict().items()}
    state.update({f"head.{k}": v for k, v in result.head.state_dict().items()})
    save_file({k: v.contiguous() for k, v in state.items()}, out_file)
    print(sum(steps))


if __name__ == "__main__":
    torch.set_num_threads(1)
    job, *arguments = sys.argv[1:]
    if job == "precompute":
        precompute(arguments[0], arguments[1], arguments[2], float(arguments[3]))
    else:
        train(arguments[0], arguments[1], arguments[2], arguments[3], float(arguments[4]))
