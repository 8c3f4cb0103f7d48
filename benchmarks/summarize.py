"""Print the performance results, ``benchmarks/results/*.json``, as Markdown tables with every column.

Run after the benchmark scripts: ``python benchmarks/summarize.py``. The condensed
tables of the documentation (``docs/benchmarks/``) are written from the same files by ``benchmarks/tables.py``.
"""

from __future__ import annotations

import json

from _common import BACKEND_COLUMNS, COMPILE_COLUMNS, RESULTS, VS_REFERENCE_COLUMNS


def table(rows: list[dict[str, object]], columns: list[str]) -> list[str]:
    def cell(value: object) -> str:
        return f"{value:.3g}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return lines + ["| " + " | ".join(cell(row.get(c, "")) for c in columns) + " |" for row in rows]


SECTIONS = {
    "vs_reference": (
        "GLOTPooling vs the research code (B=32, h=128, K=2; speedup = reference time / ours)",
        VS_REFERENCE_COLUMNS,
    ),
    "flops": (
        "Training step FLOP/s vs a 2048³ fp32 matmul, same run",
        ["B", "L", "d", "step_ms", "step_gflop", "achieved_gflops", "matmul_gflops", "utilisation"],
    ),
    "encode": ("model.encode throughput, all-MiniLM-L6-v2", ["pooling", "sentences_per_s", "seconds"]),
    "compile": ("GLOTPooling forward, eager vs torch.compile(dynamic=True), d=384, B=32", COMPILE_COLUMNS),
    "backends": ("model.encode of a saved GLOT model: torch vs ONNX / OpenVINO backbone", BACKEND_COLUMNS),
    "long": (
        "Long inputs, d=2048, one inference forward per subprocess",
        ["B", "L", "tau", "backend", "path", "group", "seconds", "peak_gib", "pooler_gib", "error"],
    ),
}


def main() -> None:
    out = []
    for name, (title, columns) in SECTIONS.items():
        path = RESULTS / f"{name}.json"
        if not path.exists():
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        out += [f"## {title}", "", f"machine: `{data['machine']}`, threads: {data.get('threads', '?')}", ""]
        out += table(data["rows"], columns) + [""]
        for key in ("worst_speedup", "glot_over_mean", "compile_s", "graphs", "graph_breaks", "unavailable"):
            if key in data:
                value = data[key]
                out += [f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}", ""]
    print("\n".join(out))


if __name__ == "__main__":
    main()
