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

GLOT against LoRA (``glot_vs_lora`` in the JSON; the paper's 13.4 ms against 1,454 ms per step on
Mistral-7B): a random-weight Llama decoder of width ``--dim`` with ``--decoder-layers`` layers and
Mistral-7B's proportions (MLP width 3.5 d, heads of 128, a quarter as many key-value heads; built
from ``LlamaConfig``, nothing downloaded; bf16 weights on CUDA, fp32 on the CPU) on ``B`` windows of
``L`` random tokens. One training step of each:

- ``lora`` (st-glot's ``lora`` method: rank 8, α 16, on the attention projections) and
  ``lora_paper`` (the paper's rank 64 on all seven linear maps of each layer): the decoder's forward
  and backward with adapters, an Adam update of the adapters, on a mean-square loss of the last token;
- ``glot``: the recommended pooler's step on the decoder's token states read from memory (as
  ``fit`` reads them from its cache: the backbone does not run in GLOT's steps), under bf16 autocast
  on CUDA; timed after the decoder is freed, so its peak holds no decoder weight.

Each row has ``step_ms``, ``trainable_parameters``, ``peak_mib`` (CUDA: the largest allocation during
its steps, the decoder's weights included for LoRA) and ``step_ms_per_layer`` for LoRA (its step
grows with the layers; a 32-layer model's step is about 32 times that).

The JSON (``--output``) holds the device name, torch version, configuration,
figures and, given ``--junit``, the device tests' counts. ``benchmarks/gpu_check.sh``
runs this after the device tests.

    python benchmarks/bench_gpu.py --device cuda --output benchmarks/results/gpu_check.json
    python benchmarks/bench_gpu.py --device cpu --dim 64 --batch-size 4 --length 32 --decoder-layers 2 \
        --output /tmp/gpu_check-cpu.json
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
from st_glot.models.lora import LoraSettings, attention_projections
from st_glot.nn.graph import build_token_graph
from st_glot.utils.io import atomic_write_bytes
from st_glot.utils.provenance import describe_method, provenance

#: The paper's GLOT training step on Mistral-7B (project page), milliseconds.
PAPER_STEP_MS = 13.4
#: The paper's LoRA (r = 64) training step on Mistral-7B (project page), milliseconds.
PAPER_LORA_STEP_MS = 1454.0
#: The paper's LoRA: rank 64 on every linear map of each layer (167.8M parameters on Mistral-7B).
PAPER_LORA = {
    "r": 64,
    "alpha": 128.0,
    "targets": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
}
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


def random_decoder(dim: int, layers: int, length: int, device: torch.device):
    """A random-weight Llama decoder of width ``dim`` with Mistral-7B's proportions, seeded, in eval mode
    (bf16 on CUDA, fp32 on the CPU)."""
    from transformers import LlamaConfig, LlamaModel

    heads = max(1, dim // 128)
    config = LlamaConfig(
        vocab_size=1024,
        hidden_size=dim,
        intermediate_size=int(3.5 * dim),
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=max(1, heads // 4),
        max_position_embeddings=length,
    )
    torch.manual_seed(0)
    with torch.device(device):
        model = LlamaModel(config)
    return model.to(torch.bfloat16 if device.type == "cuda" else torch.float32).eval()


def time_lora(
    dim: int, layers: int, ids: torch.Tensor, targets: list[str] | None, r: int, alpha: float, repeats: int, warmup: int
) -> dict[str, object]:
    """``step_ms``, ``trainable_parameters`` and (CUDA) ``peak_mib`` of one LoRA training step on a fresh
    random decoder: adapters of rank ``r`` on ``targets`` (None: the attention projections)."""
    from peft import LoraConfig, inject_adapter_in_model

    device = ids.device
    decoder = random_decoder(dim, layers, ids.size(1), device)
    targets = targets or attention_projections(decoder)
    inject_adapter_in_model(LoraConfig(r=r, lora_alpha=alpha, target_modules=targets), decoder)
    trained = [p for p in decoder.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trained, lr=1e-4)
    mask = torch.ones_like(ids)  # (B, L)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        z = decoder(input_ids=ids, attention_mask=mask).last_hidden_state[:, -1]  # (B, d) the last token
        z.float().square().mean().backward()
        optimizer.step()

    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    row: dict[str, object] = {"step_ms": median_ms(step, device, repeats, warmup)}
    row["step_ms_per_layer"] = row["step_ms"] / layers
    row["trainable_parameters"] = sum(p.numel() for p in trained)
    if device.type == "cuda":
        row["peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return row


def glot_vs_lora(
    dim: int, layers: int, batch_size: int, length: int, device: torch.device, repeats: int, warmup: int
) -> dict[str, object]:
    """One training step of GLOT (on the decoder's cached token states) and of LoRA (st-glot's and the paper's
    settings) on a random decoder (module docstring); a LoRA row that fails (e.g. out of memory) keeps the others."""
    torch.manual_seed(0)
    ids = torch.randint(0, 1024, (batch_size, length), device=device)  # (B, L) full windows
    decoder = random_decoder(dim, layers, length, device)
    with torch.no_grad():
        states = decoder(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state.float()  # (B, L, d)
    del decoder
    rows: dict[str, object] = {}
    settings = LoraSettings()
    for name, (targets, r, alpha) in {
        "lora": (None, settings.r, settings.alpha),
        "lora_paper": (PAPER_LORA["targets"], PAPER_LORA["r"], PAPER_LORA["alpha"]),
    }.items():
        log(f"timing {name}: r={r} on {targets or 'the attention projections'}, {layers} layers of width {dim}")
        try:
            rows[name] = time_lora(dim, layers, ids, targets, r, alpha, repeats, warmup)
        except (RuntimeError, ModuleNotFoundError) as error:  # peft missing, or out of memory on a small device
            log(f"{name} FAILED: {error}")
            rows[name] = {"error": str(error)}
        if device.type == "cuda":
            torch.cuda.empty_cache()  # the decoder of that row is gone with time_lora's frame
    log("timing glot on the decoder's token states")
    mask = torch.ones(batch_size, length, dtype=torch.long, device=device)  # (B, L)
    glot = time_dtype(states, mask, torch.bfloat16 if device.type == "cuda" else None, repeats, warmup)
    glot["trainable_parameters"] = sum(p.numel() for p in GLOTPooling(dim, **RECOMMENDED).parameters())
    rows["glot"] = glot
    for name in ("lora", "lora_paper"):
        if "step_ms" in rows[name]:
            rows[name]["over_glot_step"] = rows[name]["step_ms"] / glot["step_ms"]
    return {
        "config": {"dim": dim, "decoder_layers": layers, "batch_size": batch_size, "length": length},
        "paper_step_ms": {"glot": PAPER_STEP_MS, "lora": PAPER_LORA_STEP_MS, "decoder_layers": 32},
        "lora_settings": {
            "lora": {"r": settings.r, "alpha": settings.alpha, "targets": "attention"},
            "lora_paper": PAPER_LORA,
        },
        "results": rows,
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
    parser.add_argument(
        "--decoder-layers", type=int, default=4, help="layers of the random decoder for GLOT against LoRA (0: skip it)"
    )
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
    versus = None
    if args.decoder_layers:
        versus = glot_vs_lora(d, args.decoder_layers, B, L, device, args.repeats, args.warmup)
        timed = [{"method": k, **v} for k, v in versus["results"].items() if "step_ms" in v]
        print_table(timed, ["method", "trainable_parameters", "step_ms"])

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
        "glot_vs_lora": versus,
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
