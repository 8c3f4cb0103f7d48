"""Achieved FLOP/s of GLOTPooling's training step against this machine's own matmul rate.

The pooler's step (forward + backward, GAT, ``jk="cat"``) is timed side by side
with a large fp32 matmul (``2048 × 2048 × 2048``, ``2 · 2048³`` FLOPs), the
practical ceiling of dense compute on this CPU. Utilisation = (step FLOPs /
step seconds) / (matmul FLOPs / matmul seconds).

FLOPs are counted analytically, one multiply-add = 2 FLOPs, only for the
matrix products the method needs (elementwise work — LeakyReLU, softmax,
tanh, masks — is not counted, so the utilisation is a lower bound). With
``N = B L`` token slots, ``D = d + K h``, scorer width ``S = max(128, D // 2)``,
one head:

forward
  - similarity ``U Uᵀ`` per sequence: ``2 B L² d``
  - layer ``k`` projection ``W_k x``: ``2 N d_k h`` (``d_1 = d``, else ``h``)
  - layer ``k`` attention scores ``a_sᵀ h``, ``a_tᵀ h``: ``4 N h``
  - layer ``k`` aggregation ``α H``: ``2 B L² h``
  - scorer: ``2 N D S + 2 N S``; weighted sum ``πᵀ U``: ``2 N D``

backward (gradients the step needs; the frozen states ``X`` need none)
  - layer 1 projection, weight gradient only: ``2 N d h``
  - layer ``k ≥ 2`` projection, weight and input gradients: ``4 N h²``
  - attention scores: ``8 N h`` per layer
  - aggregation, gradients for ``α`` and ``H``: ``4 B L² h`` per layer
  - scorer first layer, weight gradient ``2 N D S`` and input gradient for the
    GNN blocks only ``2 N K h S``; second layer ``4 N S``
  - weighted sum, gradients for ``π`` and the GNN blocks: ``2 N D + 2 N K h``

Run: ``python benchmarks/bench_flops.py [--repeats N]``.
"""

from __future__ import annotations

import argparse

import torch
from _common import (
    anisotropic_states,
    minilm_states,
    print_table,
    time_side_by_side,
    write_results,
)

from st_glot import GLOTPooling


def step_flops(B: int, L: int, d: int, h: int, K: int) -> dict[str, int]:
    """Forward and backward FLOPs of one training step on ``B`` sequences of ``L`` tokens (see the module docstring)."""
    return valid_step_flops([L] * B, d, h, K)


def valid_step_flops(lengths: list[int], d: int, h: int, K: int) -> dict[str, int]:
    """The FLOPs the math needs for sequences of ``lengths`` valid tokens: the module docstring's
    count with ``N = Σ nᵢ`` and ``B L² = Σ nᵢ²`` (padding costs nothing)."""
    N, squares, D = sum(lengths), sum(n * n for n in lengths), d + K * h
    S = max(128, D // 2)
    forward = 2 * squares * d
    backward = 0
    for k in range(K):
        d_in = d if k == 0 else h
        forward += 2 * N * d_in * h + 4 * N * h + 2 * squares * h
        backward += (2 * N * d * h if k == 0 else 4 * N * h * h) + 8 * N * h + 4 * squares * h
    forward += 2 * N * D * S + 2 * N * S + 2 * N * D
    backward += 2 * N * D * S + 2 * N * K * h * S + 4 * N * S + 2 * N * D + 2 * N * K * h
    return {"forward": forward, "backward": backward, "total": forward + backward}


def measure(x: torch.Tensor, repeats: int, hidden: int = 128, layers: int = 2, size: int = 2048) -> dict[str, object]:
    B, L, d = x.shape
    torch.manual_seed(0)
    pool = GLOTPooling(d, hidden_dim=hidden, num_layers=layers, tau=0.3)
    features = {"token_embeddings": x, "attention_mask": torch.ones(B, L, dtype=torch.long)}
    a, b = torch.randn(size, size), torch.randn(size, size)

    def step() -> None:
        pool.zero_grad(set_to_none=True)
        pool(dict(features))["sentence_embedding"].square().sum().backward()

    times = time_side_by_side({"step": step, "matmul": lambda: a @ b}, repeats, warmup=2)
    flops = step_flops(B, L, d, hidden, layers)
    achieved = flops["total"] / times["step"]
    peak = 2 * size**3 / times["matmul"]
    return {
        "B": B,
        "L": L,
        "d": d,
        "step_ms": 1e3 * times["step"],
        "step_gflop": flops["total"] / 1e9,
        "achieved_gflops": achieved / 1e9,
        "matmul_gflops": peak / 1e9,
        "utilisation": achieved / peak,
        "backend": pool.last_backend,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = [measure(minilm_states(32, 128), args.repeats)]
    rows.append(measure(minilm_states(32, 32), args.repeats))
    rows.append(measure(anisotropic_states(32, 128, 2048), args.repeats))
    columns = ["B", "L", "d", "step_ms", "step_gflop", "achieved_gflops", "matmul_gflops", "utilisation"]
    print_table(rows, columns)
    write_results(
        "flops", {"threads": args.threads, "rows": rows, "headline": rows[0]}, configuration={"settings": vars(args)}
    )


if __name__ == "__main__":
    main()
