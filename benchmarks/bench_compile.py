"""GLOTPooling's forward pass, eager against ``torch.compile`` (Inductor), on all-MiniLM-L6-v2's token states.

The pooler is the recommended configuration at ``d = 384`` (GAT, ``K = 2``, ``h = 128``,
``tau = 0.3``), in inference (``eval()`` under ``torch.inference_mode()``, as in ``encode``).
The batches are ``B`` windows of real all-MiniLM-L6-v2 token states (``_common.minilm_states``)
cut to ``L`` tokens for each ``L`` of ``--lengths``, each under two masks:

- ``full``: every row holds ``L`` tokens (``encode`` sorts texts by length, so its batches are
  nearly full);
- ``mixed``: row lengths uniform in ``[L/4, L]``, one row full. Eager packs the valid tokens
  here (``PackedTokens``); the compiled pooler keeps the padded layout (a packing's sizes
  depend on the mask's values).

The pooler is compiled once with ``dynamic=True``. ``compile_s`` is the first call's time
(capture and code generation, on the first batch); ``graphs`` counts the graphs Dynamo
captured over every batch and ``graph_breaks`` the breaks. One graph serves every shape, with
PyTorch's exceptions: sizes 0 and 1 are specialised, and sizes equal on the first call (the
default ``B = 32``, ``L = 32``) are assumed equal ("duck sizing") until a batch where they
differ recompiles once; the default run therefore reports 2 graphs for 3 shapes.
Times are median milliseconds per forward over ``--repeats`` calls, eager and compiled
interleaved call by call (``_common.time_side_by_side``); ``speedup = eager / compiled``.

Run: ``OMP_NUM_THREADS=1 python benchmarks/bench_compile.py [--threads 1] [--repeats 10]``.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch
from _common import (
    COMPILE_COLUMNS,
    comma_ints,
    command_line,
    compile_counts,
    compiled_pooler,
    minilm_states,
    print_table,
    time_side_by_side,
    write_results,
)

from st_glot import GLOTPooling


def masks(batch_size: int, length: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """The ``full`` and ``mixed`` ``(B, L)`` masks of the module docstring."""
    generator = torch.Generator().manual_seed(seed + length)
    lengths = torch.randint(max(1, length // 4), length + 1, (batch_size,), generator=generator)  # (B,)
    lengths[0] = length
    mixed = (torch.arange(length) < lengths.unsqueeze(1)).long()  # (B, L)
    return {"full": torch.ones(batch_size, length, dtype=torch.long), "mixed": mixed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lengths", type=comma_ints, default=(32, 64, 128))
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    states = minilm_states(args.batch_size, max(args.lengths))  # (B, L_max, 384)
    torch.manual_seed(0)
    pool = GLOTPooling(states.size(-1), hidden_dim=128, num_layers=2, tau=0.3).eval()
    compiled = compiled_pooler(pool)
    batches = [
        (L, name, {"token_embeddings": states[:, :L].clone(), "attention_mask": mask})
        for L in args.lengths
        for name, mask in masks(args.batch_size, L).items()
    ]
    rows, compile_s = [], None
    with torch.inference_mode():
        for L, name, features in batches:
            start = time.perf_counter()
            got = compiled(dict(features))["sentence_embedding"]
            if compile_s is None:
                compile_s = time.perf_counter() - start
            expected = pool(dict(features))["sentence_embedding"]
            times = time_side_by_side(
                {"eager": lambda f=features: pool(dict(f)), "compiled": lambda f=features: compiled(dict(f))},
                args.repeats,
            )
            rows.append(
                {
                    "L": L,
                    "mask": name,
                    "fill": features["attention_mask"].float().mean().item(),
                    "eager_ms": times["eager"] * 1e3,
                    "compiled_ms": times["compiled"] * 1e3,
                    "speedup": times["eager"] / times["compiled"],
                    "max_abs_diff": (got - expected).abs().max().item(),
                }
            )
            print(f"L={L} {name}: done", file=sys.stderr, flush=True)
    counts = compile_counts()
    print_table(rows, COMPILE_COLUMNS)
    print(f"first call (compile) {compile_s:.1f} s; graphs {counts['graphs']}, graph breaks {counts['graph_breaks']}")
    write_results(
        "compile",
        {
            "command": command_line("bench_compile.py"),
            "threads": args.threads,
            "batch_size": args.batch_size,
            "dim": states.size(-1),
            "config": {"hidden_dim": 128, "num_layers": 2, "gnn": "gat", "tau": 0.3},
            "compile": "torch.compile(pool, dynamic=True), backend inductor",
            "compile_s": compile_s,
            **counts,
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()
