"""GLOTPooling training-step time at a 7B decoder's width, fp32 and bf16, against the paper's 13.4 ms.

The paper reports 13.4 ms per training step for GLOT on Mistral-7B (d = 4096,
frozen backbone; project page, see ``shared/GLOT.md``). This times the
recommended pooler (GAT, K = 2, h = 128, jk = cat, ``tau = 0.3``,
``graph_norm="center"``, ``input_norm="running"``) on ``B`` full ``L``-token
windows of LLM-like token states (:func:`_common.anisotropic_states`):

- ``fwd_bwd_ms``: forward and backward of a mean-square loss on the pooled vectors;
- ``step_ms``: the same plus an Adam update (the paper's "training step");
- ``peak_mib``: peak memory allocated on the device during the steps, input
  states, parameters and optimizer state included (CUDA only);
- ``compiled_inference``: the inference forward (fp32), eager against
  ``torch.compile(pool, dynamic=True)`` with Inductor (:func:`time_compiled`).

``bf16`` feeds bf16 token states under ``torch.autocast(dtype=bfloat16)``: the
linear layers run in bf16, while the graph (cosine, threshold) and the softmaxes
stay fp32 as the module computes them. Times are medians over ``--repeats``
steps after ``--warmup`` steps; on CUDA each step is timed with CUDA events.

The JSON (``--output``) holds the device name, torch version, configuration,
figures and, given ``--junit``, the device tests' counts. ``benchmarks/gpu_check.sh``
runs this after the device tests.

    python benchmarks/bench_gpu.py --device cuda --output benchmarks/results/gpu_check.json
    python benchmarks/bench_gpu.py --device cpu --dim 64 --batch-size 4 --length 32 --output /tmp/gpu_check-cpu.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import statistics
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import torch
from _common import RESULTS, anisotropic_states, compile_counts, compiled_pooler, machine, print_table

from st_glot import GLOTPooling
from st_glot.nn.graph import build_token_graph
from st_glot.utils.io import atomic_write_bytes
from st_glot.utils.provenance import describe_method, provenance

#: The paper's GLOT training step on Mistral-7B (project page), milliseconds.
PAPER_STEP_MS = 13.4
#: The recommended configuration (docs/getting-started.md, *Presets*), passed explicitly.
RECOMMENDED = {
    "hidden_dim": 128,
    "num_layers": 2,
    "gnn": "gat",
    "jk": "cat",
    "tau": 0.3,
    "graph_norm": "center",
    "input_norm": "running",
}
DTYPES = {"fp32": None, "bf16": torch.bfloat16}


def log(message: str) -> None:
    print(f"[bench_gpu {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def median_ms(fn: Callable[[], object], device: torch.device, repeats: int, warmup: int) -> float:
    """Median milliseconds of ``fn`` over ``repeats`` calls after ``warmup`` calls (CUDA events on CUDA)."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            samples.append(start.elapsed_time(end))
        else:
            begin = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - begin) * 1e3)
    return statistics.median(samples)


def time_dtype(
    states: torch.Tensor, mask: torch.Tensor, dtype: torch.dtype | None, repeats: int, warmup: int
) -> dict[str, object]:
    """``fwd_bwd_ms``, ``step_ms`` and (CUDA) ``peak_mib`` of a fresh recommended pooler on one batch,
    fp32 or under bf16 autocast."""
    device = states.device
    torch.manual_seed(0)
    pool = GLOTPooling(states.size(-1), **RECOMMENDED).to(device).train()
    features = {"token_embeddings": states if dtype is None else states.to(dtype), "attention_mask": mask}
    optimizer = torch.optim.Adam(pool.parameters(), lr=1e-4)
    autocast = torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()

    def forward_backward() -> None:
        optimizer.zero_grad(set_to_none=True)
        with autocast:
            z = pool(dict(features))["sentence_embedding"]  # (B, D)
        z.float().square().mean().backward()

    def step() -> None:
        forward_backward()
        optimizer.step()

    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    row: dict[str, object] = {
        "fwd_bwd_ms": median_ms(forward_backward, device, repeats, warmup),
        "step_ms": median_ms(step, device, repeats, warmup),
        "backend": pool.last_backend,
    }
    if device.type == "cuda":
        row["peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
    row["paper_ms_over_step_ms"] = PAPER_STEP_MS / row["step_ms"]
    return row


def time_compiled(states: torch.Tensor, mask: torch.Tensor, repeats: int, warmup: int) -> dict[str, object]:
    """The recommended pooler's inference forward, fp32, eager against ``torch.compile(dynamic=True)`` (Inductor).

    ``compile_s`` is the first compiled call (capture and code generation); a second batch of
    ``L / 2`` tokens follows, so ``graphs`` is 1 when a new shape needs no recompile.
    ``max_abs_diff`` compares the two poolers' vectors on the timed batch.
    """
    device = states.device
    torch.manual_seed(0)
    pool = GLOTPooling(states.size(-1), **RECOMMENDED).to(device).eval()
    compiled = compiled_pooler(pool)
    features = {"token_embeddings": states, "attention_mask": mask}
    half = {
        "token_embeddings": states[:, : states.size(1) // 2].clone(),
        "attention_mask": mask[:, : mask.size(1) // 2].clone(),
    }
    with torch.inference_mode():
        begin = time.perf_counter()
        got = compiled(dict(features))["sentence_embedding"]
        if device.type == "cuda":
            torch.cuda.synchronize()
        compile_s = time.perf_counter() - begin
        compiled(dict(half))
        diff = (got - pool(dict(features))["sentence_embedding"]).abs().max().item()
        eager_ms = median_ms(lambda: pool(dict(features)), device, repeats, warmup)
        compiled_ms = median_ms(lambda: compiled(dict(features)), device, repeats, warmup)
    return {
        "eager_ms": eager_ms,
        "compiled_ms": compiled_ms,
        "speedup": eager_ms / compiled_ms,
        "compile_s": compile_s,
        **compile_counts(),
        "max_abs_diff": diff,
    }


def test_counts(junit: Path | None, exit_code: int | None) -> dict[str, object] | None:
    """Counts of the device tests from pytest's JUnit XML, with pytest's exit code (counts absent if pytest wrote none)."""
    if junit is None:
        return None
    if not junit.is_file() or junit.stat().st_size == 0:
        return {"exit_code": exit_code}
    suite = ET.parse(junit).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    counts = {key: int(suite.get(key, 0)) for key in ("tests", "failures", "errors", "skipped")}
    counts["passed"] = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    return {**counts, "exit_code": exit_code}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="auto", help="cuda, cpu or auto (cuda when available)")
    parser.add_argument("--dim", type=int, default=4096, help="token state width d (4096: Mistral-7B)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--output", type=Path, default=RESULTS / "gpu_check.json")
    parser.add_argument("--junit", type=Path, default=None, help="pytest --junitxml file of the device tests")
    parser.add_argument("--tests-exit-code", type=int, default=None, help="pytest's exit code for the device tests")
    args = parser.parse_args()
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error(f"--device {args.device!r} asked for CUDA, but torch {torch.__version__} sees no CUDA device")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    log(f"device {device} ({name}), torch {torch.__version__}")

    B, L, d = args.batch_size, args.length, args.dim
    states = anisotropic_states(B, L, d).to(device)  # (B, L, d) full windows
    mask = torch.ones(B, L, dtype=torch.long, device=device)  # (B, L)
    graph = build_token_graph(states, mask.bool(), RECOMMENDED["tau"], graph_norm=RECOMMENDED["graph_norm"])
    density = graph.adjacency.float().mean().item()

    rows, failed = [], []
    for label, dtype in DTYPES.items():
        log(f"timing {label}: d={d}, B={B}, L={L}, {args.repeats} steps after {args.warmup} warm-up steps")
        try:
            rows.append({"dtype": label, **time_dtype(states, mask, dtype, args.repeats, args.warmup)})
        except RuntimeError as error:  # one dtype failing on a new device still leaves the other's figures
            log(f"{label} FAILED: {error}")
            failed.append({"dtype": label, "error": str(error)})
    if rows:
        print_table(rows, ["dtype", "backend", "fwd_bwd_ms", "step_ms", "paper_ms_over_step_ms"])
    log(f"timing the compiled pooler's inference forward (fp32) against eager: d={d}, B={B}, L={L}")
    try:
        compiled = time_compiled(states, mask, args.repeats, args.warmup)
        print_table([compiled], ["eager_ms", "compiled_ms", "speedup", "compile_s", "graphs", "graph_breaks"])
    except Exception as error:  # Inductor's code generation may fail on a new device: keep the other figures
        log(f"compiled FAILED: {error}")
        compiled = {"error": f"{type(error).__name__}: {error}"}

    payload = {
        "machine": {
            **machine(),
            "device_type": device.type,
            "cuda": torch.version.cuda,
            "float32_matmul_precision": torch.get_float32_matmul_precision(),
        },
        "device": name,
        "torch": torch.__version__,
        "config": {"dim": d, "batch_size": B, "length": L, "valid": "every token (full windows)", **RECOMMENDED},
        "parameters": sum(p.numel() for p in GLOTPooling(d, **RECOMMENDED).parameters()),
        "edge_density": density,
        "paper_step_ms": PAPER_STEP_MS,
        "results": rows + failed,
        "compiled_inference": compiled,
        "tests": test_counts(args.junit, args.tests_exit_code),
        "provenance": provenance(
            configuration={
                "settings": vars(args),
                "methods": {"glot": describe_method(GLOTPooling(d, **RECOMMENDED), preset="recommended")},
            },
            device=str(device),
        ),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(args.output, (json.dumps(payload, indent=2) + "\n").encode())
    log(f"wrote {args.output}")
    failures = [row["dtype"] for row in failed] + (["compiled"] if "error" in compiled else [])
    if failures:
        sys.exit(f"timing failed for {', '.join(failures)} (see {args.output})")


if __name__ == "__main__":
    main()
