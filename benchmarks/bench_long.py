"""Peak memory and time of GLOTPooling on long inputs, dense vs ``backend="auto"``.

Each cell runs in a fresh subprocess (so peak RSS belongs to that cell alone):
it builds ``(B, L, 2048)`` anisotropic LLM-like states (``_common``), records
``ru_maxrss`` after the states exist, runs one inference forward pass and
records ``ru_maxrss`` again. ``peak_gib`` is the process's whole peak
(interpreter, torch, states included); ``pooler_gib`` the growth caused by the
forward pass. ``auto`` takes the dense path while the estimated ``(B, L, L)``
memory is within 2 GiB; past that it pools the batch in groups of sequences
that fit and takes the edge-list path only for a single sequence over the
budget. The path taken and the sequences per pass are read from
``GLOTPooling.last_backend`` and ``last_group_size``. A cell that fails (out of memory, or
over ``--limit-gib`` of address space) is reported as such.

Run: ``python benchmarks/bench_long.py [--limit-gib 16]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from _common import print_table, write_results

CELL = """
import json, resource, sys, time
sys.path.insert(0, {bench!r})
import torch
torch.set_num_threads({threads})
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from _common import anisotropic_states
from st_glot import GLOTPooling
x = anisotropic_states({B}, {L}, 2048)
pool = GLOTPooling(2048, hidden_dim=128, num_layers=2, tau={tau}, backend={backend!r}).eval()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
with torch.inference_mode():
    z = pool({{"token_embeddings": x, "attention_mask": torch.ones({B}, {L}, dtype=torch.long)}})["sentence_embedding"]
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": seconds, "peak_kib": peak, "before_kib": before, "path": pool.last_backend, "group": pool.last_group_size,
                  "finite": bool(torch.isfinite(z).all())}}))
"""

CELLS = [(8, 512), (4, 2048), (1, 8192), (4, 8192)]


def run_cell(B: int, L: int, tau: float, backend: str, limit_gib: float, threads: int) -> dict[str, object]:
    code = CELL.format(
        bench=str(Path(__file__).resolve().parent),
        B=B,
        L=L,
        tau=tau,
        backend=backend,
        limit=int(limit_gib * 2**30),
        threads=threads,
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    row: dict[str, object] = {"B": B, "L": L, "d": 2048, "tau": tau, "backend": backend}
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["?"])[-1][:120]
        return {
            **row,
            "path": "failed",
            "group": 0,
            "seconds": float("nan"),
            "peak_gib": float("nan"),
            "pooler_gib": float("nan"),
            "error": reason,
        }
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        **row,
        "path": result["path"],
        "group": result["group"],
        "seconds": result["seconds"],
        "peak_gib": result["peak_kib"] / 2**20,
        "pooler_gib": (result["peak_kib"] - result["before_kib"]) / 2**20,
        "error": "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit-gib", type=float, default=16.0, help="address-space cap per cell")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    rows = []
    for B, L in CELLS:
        for tau in (0.3, 0.8):
            for backend in ("dense", "auto"):
                rows.append(run_cell(B, L, tau, backend, args.limit_gib, args.threads))
                print(rows[-1], flush=True)
    print_table(rows, ["B", "L", "tau", "backend", "path", "group", "seconds", "peak_gib", "pooler_gib", "error"])
    payload = {"threads": args.threads, "limit_gib": args.limit_gib, "rows": rows}
    write_results("long", payload, configuration={"settings": vars(args)})


if __name__ == "__main__":
    main()
