"""Training-cost and performance tables of docs/benchmarks/performance.md, from the benchmark JSON files."""

from __future__ import annotations

import math

from doc_tables.fmt import num, paragraphs, table
from doc_tables.registry import COSTS as PAGE
from doc_tables.registry import section
from doc_tables.sources import Sources

RESULTS = "benchmarks/results/"
TRAINING = RESULTS + "training.json"
BACKBONES = {"minilm": "all-MiniLM-L6-v2", "smollm2": "SmolLM2-135M"}
STEP_KINDS = {
    "cached": "GLOT on cached states",
    "recompute": "GLOT, backbone recomputed",
    "full": "full fine-tuning + GLOT",
    "lora": "LoRA r=16 + GLOT",
}


def sig(value: float, digits: int = 3) -> str:
    """``value`` with ``digits`` significant figures, or more when it has more integer digits
    (``1,862``, ``82.2``, ``6.73``)."""
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value)))) if value else 0
    return f"{value:,.{decimals}f}"


def times(ratio: float) -> str:
    """A ratio as ``12.5x`` (three significant figures)."""
    return sig(ratio) + "x"


@section("training-costs", PAGE, TRAINING)
def training_costs(src: Sources) -> str:
    payload = src.json(TRAINING)
    rows = []
    for key, backbone in BACKBONES.items():
        steps, params = payload[key]["seconds_per_step"], payload[key]["trainable_parameters"]
        for i, (kind, label) in enumerate(STEP_KINDS.items()):
            ratio = steps[kind] / steps["cached"]
            rows.append(
                [
                    backbone if i == 0 else "",
                    label,
                    sig(1000 * steps[kind]),
                    sig(ratio) if kind != "cached" else "1",
                    f"{params[kind]:,}",
                ]
            )
    return table(["backbone", "method", "ms/step", "x cached", "trainable params"], rows)


@section("training-cache", PAGE, TRAINING)
def training_cache(src: Sources) -> str:
    stsb = src.json(TRAINING)["stsb"]
    mib = 2**20
    return paragraphs(
        f"Cache on STS-B train+dev ({stsb['distinct_texts']:,} distinct texts, max length 128, fp16, unpadded): "
        f"{stsb['cache_bytes'] / mib:,.1f} MiB vs {stsb['research_format_bytes'] / mib:,.1f} MiB in the research "
        f"code's format (fp32, padded to 128) = **{stsb['cache_fraction_of_research']:.3f}**.\n\n"
        f"STS-B dev Spearman, frozen MiniLM: GLOT trained on STS-B train (cosine loss, {stsb['epochs']} epochs, "
        f"lr 2e-4) **{stsb['glot_dev_spearman']:.4f}**; the same backbone with untrained mean pooling "
        f"**{stsb['mean_untrained_dev_spearman']:.4f}**."
    )


VS_REAL = RESULTS + "vs_reference_real.json"
WORKLOADS = {
    "stsb": "random STS-B train sentences",
    "sst2": "random SST-2 train texts",
    "windows": "full 128-token windows",
}


@section("performance-real", PAGE, VS_REAL)
def performance_real(src: Sources) -> str:
    payload = src.json(VS_REAL)
    rows = []
    for r in payload["rows"]:
        rows.append(
            [
                WORKLOADS[r["workload"]],
                r["preset"],
                f"{sig(r['mean_valid_tokens'])} / {sig(r['mean_padded_length'])}",
                num(r["edge_density"], 2),
                f"{sig(r['train_ours_ms'])} ms",
                f"{sig(r['train_ref_ms'])} ms",
                f"**{times(r['train_speedup'])}**" if r["preset"] == "paper" else times(r["train_speedup"]),
                f"{sig(r['floor_ms'])} ms",
                times(r["ceiling_speedup"]),
                f"{100 * r['utilisation']:.0f} %",
            ]
        )
    header = [
        "workload",
        "GLOT preset",
        "valid / padded length (mean)",
        "edge density",
        "st-glot",
        "research code",
        "speed-up",
        "floor",
        "ceiling",
        "FLOP/s vs matmul",
    ]
    return table(header, rows) + f"\n\n(matmul: {sig(payload['matmul_gflops'])} GFLOP/s in the same run.)"


PROFILE = RESULTS + "training_profile.json"
PROFILE_PARTS = [
    ("pooler forward", "pooler forward"),
    ("backward (pooler + loss)", "backward (pooler + loss)"),
    ("cache gather", "cache gather"),
    ("collation (text → cache rows)", "collation (text → cache rows)"),
    (
        "loss and model forward outside the pooler",
        "loss and model forward outside the pooler (projection, normalisation, CoSENT)",
    ),
    ("optimizer (Adam step, zero_grad)", "optimizer (Adam step, zero_grad)"),
    ("trainer overhead (rest)", "trainer overhead (the rest)"),
]
STARTUP = "trainer start-up (once per fit: accelerate's gc.collect)"


@section("performance-profile", PAGE, PROFILE)
def performance_profile(src: Sources) -> str:
    profiles = src.json(PROFILE)["profiles"]
    steps = {k: p["total"] - p[STARTUP] for k, p in profiles.items()}
    header = ["part"] + [f"{BACKBONES[k]} ({1000 * steps[k] / p['steps']:.1f} ms/step)" for k, p in profiles.items()]
    rows = []
    for key, label in PROFILE_PARTS[:2]:
        rows.append([label] + [f"{100 * p[key] / steps[k]:.1f} %" for k, p in profiles.items()])
    rows.append(["**pooler forward + backward**"] + [f"**{100 * p['pooler share']:.0f} %**" for p in profiles.values()])
    for key, label in PROFILE_PARTS[2:]:
        rows.append([label] + [f"{100 * p[key] / steps[k]:.1f} %" for k, p in profiles.items()])
    rows.append(
        ["trainer start-up, once per `fit` (accelerate's `free_memory` → `gc.collect`)"]
        + [f"{p[STARTUP]:.2f} s" for p in profiles.values()]
    )
    return table(header, rows)


VS_GRID = RESULTS + "vs_reference.json"


@section("performance-grid", PAGE, VS_GRID)
def performance_grid(src: Sources) -> str:
    payload = src.json(VS_GRID)
    taus = sorted({r["tau"] for r in payload["rows"]})
    cells: dict[tuple[int, int], list[str]] = {}
    for r in payload["rows"]:
        train = times(r["train_speedup"]) if r["train_speedup"] is not None else r["failure"]
        cells.setdefault((r["d"], r["L"]), []).append(f"{times(r['fwd_speedup'])} / {train}")
    rows = [[str(d), str(length), *c] for (d, length), c in cells.items()]
    header = ["d", "L", *(f"tau {t:g} fwd / train" for t in taus)]
    worst = min(min(r["fwd_speedup"], r["train_speedup"] or r["fwd_speedup"]) for r in payload["rows"])
    diff = max(r["max_abs_diff"] for r in payload["rows"])
    failed = [r for r in payload["rows"] if r["failure"]]
    ours = " and ".join(f"{r['train_ours_ms'] / 1000:.1f} s (tau {r['tau']:g})" for r in failed)
    return (
        table(header, rows)
        + "\n\n"
        + paragraphs(
            f"Worst measured cell: {times(worst)}. Outputs agree to ≤ {diff:.1e} wherever both run. "
            f"\"Out of memory\": the reference's training step failed to allocate under the benchmark's "
            f"{payload['limit_gib']:g} GiB address-space cap; ours trained the same cells in {ours}."
        )
    )


FLOPS = RESULTS + "flops.json"


@section("performance-flops", PAGE, FLOPS)
def performance_flops(src: Sources) -> str:
    rows = [
        [
            str(r["B"]),
            str(r["L"]),
            str(r["d"]),
            sig(r["step_ms"]),
            sig(r["step_gflop"]),
            sig(r["achieved_gflops"]),
            sig(r["matmul_gflops"]),
            f"{100 * r['utilisation']:.0f} %",
        ]
        for r in src.json(FLOPS)["rows"]
    ]
    header = ["B", "L", "d", "ms/step", "GFLOP/step", "achieved GFLOP/s", "matmul GFLOP/s", "utilisation"]
    return table(header, rows)


ENCODE = RESULTS + "encode.json"
CACHE_PROCESSES = RESULTS + "cache_processes.json"


@section("performance-encode-cache", PAGE, ENCODE, CACHE_PROCESSES)
def performance_encode_cache(src: Sources) -> str:
    encode = src.json(ENCODE)
    speed = {r["pooling"]: r["sentences_per_s"] for r in encode["rows"]}
    one, two = src.json(CACHE_PROCESSES)["rows"]
    return paragraphs(
        f"`model.encode` throughput on all-MiniLM-L6-v2, {encode['count']} texts of {encode['min_tokens']}–"
        f"{encode['max_tokens']} tokens (`encode.json`): GLOT {speed['glot']:.1f} vs mean pooling "
        f"{speed['mean']:.1f} sentences/s = **{encode['glot_over_mean']:.2f}x**.\n\n"
        f"Filling the cache for STS-B train ({one['texts']:,} texts, MiniLM; `cache_processes.json`): "
        f"{one['seconds']:.1f} s on {one['processes']} process ({one['threads_each']} threads), {two['seconds']:.1f} s on "
        f"{two['processes']} processes ({two['threads_each']} thread each), {two['speedup']:.1f}x."
    )


LONG = RESULTS + "long.json"


@section("performance-long", PAGE, LONG)
def performance_long(src: Sources) -> str:
    rows = {}
    for r in src.json(LONG)["rows"]:
        if r["tau"] == 0.3:
            rows.setdefault((r["B"], r["L"]), {})[r["backend"]] = r
    body = []
    for (batch, length), by in rows.items():
        dense, auto = by["dense"], by["auto"]
        body.append(
            [
                str(batch),
                str(length),
                f"{dense['peak_gib']:.2f} / {sig(dense['seconds'])}",
                f"{auto['path']}, {auto['group']}, {auto['peak_gib']:.2f} / {sig(auto['seconds'])}",
            ]
        )
    return table(["B", "L", "dense: peak GiB / s", "auto: path, sequences per pass, peak GiB / s"], body)


GPU = RESULTS + "gpu_check.json"


@section("performance-gpu", PAGE, GPU)
def performance_gpu(src: Sources) -> str:
    payload = src.json(GPU)
    c, tests = payload["config"], payload["tests"]
    intro = (
        f"`gpu_check.sh` (`gpu_check.json`), on one {payload['device']} (torch {payload['torch']}): "
        f"{tests['passed']} of the {tests['tests']} device tests of `tests/test_cuda.py` pass (each compares the "
        f"device with the CPU), and one GLOTPooling training step with the recommended preset at d = {c['dim']}, "
        f"B = {c['batch_size']}, L = {c['length']}, h = {c['hidden_dim']}, K = {c['num_layers']} "
        f"({payload['parameters'] / 1e6:.1f} M parameters, {100 * payload['edge_density']:.0f} % edge density):"
    )
    rows = [
        [
            r["dtype"],
            f"{r['fwd_bwd_ms']:.2f}",
            f"{r['step_ms']:.2f}",
            f"{r['peak_mib']:.0f}",
            times(r["paper_ms_over_step_ms"]),
        ]
        for r in payload["results"]
    ]
    header = [
        "dtype",
        "forward + backward ms",
        "step ms (with Adam)",
        "peak MiB",
        f"paper's {payload['paper_step_ms']:g} ms ÷ ours",
    ]
    return paragraphs(intro) + "\n\n" + table(header, rows)


COMPILE = RESULTS + "compile.json"
MASKS = {"full": "full", "mixed": "mixed lengths"}


def threads(count: int) -> str:
    """``one thread`` / ``2 threads``."""
    return "one thread" if count == 1 else f"{count} threads"


def span(values: list[float], suffix: str = "x") -> str:
    """The range of ``values`` with two decimals: ``0.79–1.13x`` (one value alone: ``1.24x``)."""
    low, high = num(min(values), 2), num(max(values), 2)
    return (low if low == high else f"{low}–{high}") + suffix


@section("performance-compile", PAGE, COMPILE)
def performance_compile(src: Sources) -> str:
    payload = src.json(COMPILE)
    rows = [
        [
            str(r["L"]),
            MASKS[r["mask"]],
            f"{100 * r['fill']:.0f} %",
            sig(r["eager_ms"]),
            sig(r["compiled_ms"]),
            times(r["speedup"]),
            f"{r['max_abs_diff']:.1e}",
        ]
        for r in payload["rows"]
    ]
    header = ["L", "mask", "valid tokens", "eager ms", "compiled ms", "speed-up", "max abs diff"]
    return (
        table(header, rows)
        + "\n\n"
        + paragraphs(
            f"First call (capture and code generation): {payload['compile_s']:.1f} s; {payload['graphs']} graphs "
            f"and {payload['graph_breaks']} graph breaks over the {len({r['L'] for r in payload['rows']})} lengths "
            f"and {len(MASKS)} masks."
        )
    )


BACKENDS = RESULTS + "backends.json"
BACKEND_NAMES = {"torch": "torch", "onnx": "ONNX", "openvino": "OpenVINO"}


@section("performance-backends", PAGE, BACKENDS)
def performance_backends(src: Sources) -> str:
    payload = src.json(BACKENDS)
    rows = [
        [
            BACKEND_NAMES[r["backend"]],
            sig(r["sentences_per_s"]),
            sig(r["seconds"]),
            times(r["speedup"]),
            f"{r['max_abs_diff']:.1e}" if r["max_abs_diff"] else "0",
        ]
        for r in payload["rows"]
    ]
    versions = ", ".join(f"{name} {version}" for name, version in payload["versions"].items() if version)
    missing = "; ".join(
        f'{BACKEND_NAMES[name]} ("{error.split(". ")[0].split(": ", 1)[-1]}")'
        for name, error in payload["unavailable"].items()
    )
    return (
        table(["backend", "sentences/s", "seconds", "speed-up", "max abs diff"], rows)
        + "\n\n"
        + paragraphs(f"Installed: {versions}. Not loaded: {missing or 'none'}.")
    )
