"""Helpers shared by the benchmark scripts: token states, side-by-side timing, result files.

Token states with realistic similarity structure matter: independent Gaussian
states are nearly orthogonal, so almost no pair passes ``tau`` and every graph
method looks fast. Two sources are used instead:

- ``minilm_states``: real last-layer token states of the embedded
  all-MiniLM-L6-v2 (``d = 384``) on English prose (the docstrings of Python's
  standard library, a fixed, offline corpus), cut into windows of exactly ``L``
  tokens.
- ``anisotropic_states``: LLM-like states for ``d = 2048``. Decoder states share
  a dominant direction whose strength varies per token; here
  ``x_i = c_i μ + n_i`` with ``|μ| = 1``, ``n_i ~ N(0, I/d)`` and
  ``c_i ~ U(0.2, 2.5)``, so ``cos(x_i, x_j) ≈ c_i c_j / sqrt((1 + c_i²)(1 + c_j²))``
  spreads over ``[0.04, 0.86]``: dense graphs at ``tau = 0.3``, sparse at 0.8.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from st_glot.utils.provenance import provenance

RESULTS = Path(__file__).resolve().parent / "results"


#: Columns of the full-window grid table (``vs_reference.json``), printed by the benchmark and by summarize.py.
VS_REFERENCE_COLUMNS = [
    "d",
    "L",
    "tau",
    "edge_density",
    "fwd_ours_ms",
    "fwd_ref_ms",
    "fwd_speedup",
    "train_ours_ms",
    "train_ref_ms",
    "train_speedup",
    "failure",
]

#: Columns of ``compile.json`` (eager against ``torch.compile``), printed by the benchmark and by summarize.py.
COMPILE_COLUMNS = ["L", "mask", "fill", "eager_ms", "compiled_ms", "speedup", "max_abs_diff"]
#: Columns of ``backends.json`` (``encode`` under ONNX / OpenVINO against torch), likewise.
BACKEND_COLUMNS = ["backend", "sentences_per_s", "seconds", "speedup", "max_abs_diff"]


def corpus_text() -> str:
    """English prose from the standard library's module docstrings (deterministic, offline)."""
    import argparse  # noqa: E401
    import collections
    import functools
    import inspect
    import json as json_module
    import logging
    import pathlib
    import re
    import subprocess
    import threading
    import typing
    import unittest

    texts = []
    for module in (
        argparse,
        collections,
        functools,
        inspect,
        json_module,
        logging,
        pathlib,
        re,
        subprocess,
        threading,
        typing,
        unittest,
    ):
        for _, obj in sorted(vars(module).items()):
            doc = inspect.getdoc(obj) if callable(obj) else None
            if doc and len(doc) > 200:
                texts.append(" ".join(doc.split()))
    return " ".join(texts)


def prose_windows(count: int, seed: int = 0) -> list[str]:
    """``count`` texts of 8–100 consecutive words of :func:`corpus_text`, at seeded random places."""
    words = corpus_text().split()
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        size = rng.randint(8, 100)
        start = rng.randrange(len(words) - size)
        out.append(" ".join(words[start : start + size]))
    return out


def minilm_states(batch_size: int, length: int) -> torch.Tensor:
    """``(B, L, 384)`` all-MiniLM-L6-v2 token states of ``B`` consecutive ``L``-token windows of :func:`corpus_text`."""
    from transformers import AutoModel, AutoTokenizer

    from st_glot import default_backbone_path

    path = default_backbone_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    ids = tokenizer(corpus_text(), add_special_tokens=False)["input_ids"]
    body = length - 2
    if len(ids) < batch_size * body:
        raise ValueError(f"corpus has {len(ids)} tokens, fewer than B*(L-2) = {batch_size * body}")
    windows = [
        [tokenizer.cls_token_id] + ids[k * body : (k + 1) * body] + [tokenizer.sep_token_id] for k in range(batch_size)
    ]
    with torch.inference_mode():
        return model(input_ids=torch.tensor(windows)).last_hidden_state.clone()  # (B, L, 384)


def anisotropic_states(batch_size: int, length: int, dim: int, seed: int = 0) -> torch.Tensor:
    """``(B, L, d)`` states ``c_i μ + n_i`` (see the module docstring)."""
    generator = torch.Generator().manual_seed(seed)
    mean = torch.randn(dim, generator=generator)
    mean = mean / mean.norm()  # (d,)
    strength = torch.empty(batch_size, length, 1).uniform_(0.2, 2.5, generator=generator)  # (B, L, 1)
    noise = torch.randn(batch_size, length, dim, generator=generator) / dim**0.5  # (B, L, d)
    return strength * mean + noise


def edge_density(x: torch.Tensor, tau: float) -> float:
    """Fraction of valid token pairs ``(i, j)`` with ``cos > tau`` (diagonal included), every token valid."""
    unit = torch.nn.functional.normalize(x.float(), dim=-1)
    hits = sum(int(((unit[b] @ unit[b].T) > tau).sum()) for b in range(x.size(0)))
    return hits / (x.size(0) * x.size(1) ** 2)


def time_side_by_side(fns: dict[str, Callable[[], object]], repeats: int, warmup: int = 1) -> dict[str, float]:
    """Median seconds per call of each function, the functions interleaved call by call.

    Interleaving puts every candidate under the same load at the same moments
    (the machine is shared), so the ratios are fair even when absolute times drift.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}


def compiled_pooler(pool: torch.nn.Module, backend: str = "inductor") -> Callable[..., object]:
    """``torch.compile(pool, dynamic=True)`` (as the README recommends) with Dynamo's caches and counters cleared,
    so :func:`compile_counts` then counts this pooler's graphs alone."""
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    return torch.compile(pool, backend=backend, dynamic=True)


def compile_counts() -> dict[str, int]:
    """Graphs Dynamo captured (one per compile or recompile) and graph breaks, since :func:`compiled_pooler`."""
    from torch._dynamo.utils import counters

    return {"graphs": counters["stats"]["unique_graphs"], "graph_breaks": sum(counters["graph_break"].values())}


def machine() -> dict[str, object]:
    """What the numbers were measured on."""
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "processor": platform.processor() or platform.machine(),
    }


def comma_ints(text: str) -> tuple[int, ...]:
    """``"32,128"`` → ``(32, 128)``: an argparse type."""
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def command_line(script: str) -> str:
    """The command that ran ``benchmarks/<script>``: the thread and import-path variables set, then the arguments."""
    import os
    import shlex
    import sys

    settings = [f"{name}={os.environ[name]}" for name in ("OMP_NUM_THREADS", "PYTHONPATH") if name in os.environ]
    return shlex.join([*settings, "python", f"benchmarks/{script}", *sys.argv[1:]])


def write_results(name: str, payload: dict[str, object], **provenance_of: Any) -> Path:
    """Write ``benchmarks/results/<name>.json`` and return its path.

    The file holds ``machine``, ``payload`` and ``provenance``: :func:`st_glot.utils.provenance.provenance`
    of ``provenance_of`` (``configuration``, ``data``; ``device`` defaults to ``"cpu"``).
    """
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    block = provenance(**{"device": "cpu", **provenance_of})
    path.write_text(
        json.dumps({"machine": machine(), **payload, "provenance": block}, indent=2) + "\n", encoding="utf-8"
    )
    return path


def print_table(rows: list[dict[str, object]], columns: list[str]) -> None:
    """Print ``rows`` as a markdown table with the given columns."""

    def cell(value: object) -> str:
        return f"{value:.3g}" if isinstance(value, float) else str(value)

    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(cell(row[c]) for c in columns) + " |")
