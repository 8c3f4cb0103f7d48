"""GLOTPooling against the research code's way of running GLOT, side by side.

The baseline follows ``diagnostic_stress_test.py`` of the authors' repository
(ipsitmantri/GLOT): a Python loop over the sequences builds one PyG ``Data``
per sentence (cosine similarity of its valid tokens, ``(sim > tau)`` adjacency,
``dense_to_sparse``), ``Batch.from_data_list`` joins them, ``K`` PyG
``GATConv(in, h, edge_dim=1)`` layers with ReLU, ``cat`` jumping knowledge, the
scorer, then ``torch_geometric.utils.softmax`` and a scatter-add readout. One
deliberate difference favours the baseline: the reference computes each
sequence's similarity with broadcast ``F.cosine_similarity`` over an
``(n, n, d)`` tensor; here it is the normalised ``(n, d) × (d, n)`` matmul,
which is the same number and much faster, so the ratios below are conservative.

Both models carry the same weights (our ``TokenGATConv`` subclasses ``GATConv``);
their outputs are checked to agree before anything is timed.

Grid: B = 32, L ∈ {32, 128, 512}, tau ∈ {0.3, 0.6, 0.8}, d ∈ {384, 2048},
h = 128, K = 2; forward (inference mode) and forward + backward (training).
d = 384 uses real all-MiniLM-L6-v2 token states, d = 2048 anisotropic
LLM-like states (see ``_common``). Ratio = baseline time / our time.

A baseline that needs more memory than ``--limit-gib`` (the process's address
space) is reported as out of memory, and that cell has our times only.

Run: ``python benchmarks/bench_vs_reference.py [--repeats N] [--quick] [--dims 2048 --lengths 512]``.
"""

from __future__ import annotations

import argparse
import gc
import resource
from collections.abc import Callable

import torch
import torch.nn.functional as F
from _common import (
    anisotropic_states,
    comma_ints,
    edge_density,
    minilm_states,
    print_table,
    time_side_by_side,
    write_results,
)
from torch import Tensor, nn
from torch_geometric.data import Batch, Data
from torch_geometric.nn import GATConv
from torch_geometric.utils import dense_to_sparse, scatter, softmax

from st_glot import GLOTPooling


class ReferenceGLOT(nn.Module):
    """The research code's GLOT forward (per-sequence graphs, PyG GATConv, scatter readout)."""

    def __init__(self, in_dim: int, hidden_dim: int, num_layers: int, tau: float) -> None:
        super().__init__()
        self.tau = tau
        widths = [in_dim] + [hidden_dim] * num_layers
        self.convs = nn.ModuleList(GATConv(widths[k], widths[k + 1], edge_dim=1) for k in range(num_layers))
        out_dim = in_dim + num_layers * hidden_dim
        scorer = max(128, out_dim // 2)
        self.score_layer = nn.Sequential(nn.Linear(out_dim, scorer), nn.Tanh(), nn.Linear(scorer, 1))

    @torch.no_grad()
    def graphs(self, hidden: Tensor, mask: Tensor) -> Batch:
        data = []
        for b in range(hidden.size(0)):
            x_b = hidden[b, mask[b].bool()]  # (n, d)
            unit = F.normalize(x_b, dim=-1)
            sim = unit @ unit.T  # (n, n)
            edge_index, edge_attr = dense_to_sparse((sim > self.tau).float())
            data.append(Data(x=x_b, edge_index=edge_index, edge_attr=edge_attr))
        return Batch.from_data_list(data)

    def forward(self, hidden: Tensor, mask: Tensor) -> Tensor:
        batch = self.graphs(hidden, mask)
        states = [batch.x]
        for conv in self.convs:
            states.append(F.relu(conv(states[-1], batch.edge_index, edge_attr=batch.edge_attr)))
        h_all = torch.cat(states, dim=-1)  # (N, D)
        weights = softmax(self.score_layer(h_all).squeeze(-1), batch.batch)  # (N,)
        return scatter(weights.unsqueeze(-1) * h_all, batch.batch, dim=0, reduce="sum")  # (B, D)


def matched_pair(dim: int, tau: float, hidden: int = 128, layers: int = 2) -> tuple[GLOTPooling, ReferenceGLOT]:
    """Our pooler and the baseline with identical weights."""
    torch.manual_seed(0)
    ours = GLOTPooling(dim, hidden_dim=hidden, num_layers=layers, tau=tau)
    reference = ReferenceGLOT(dim, hidden, layers, tau)
    for conv, ref_conv in zip(ours.token_gnn.convs, reference.convs):
        ref_conv.load_state_dict(conv.state_dict())
    reference.score_layer.load_state_dict(ours.readout.scorer.state_dict())
    return ours, reference


def _is_out_of_memory(error: RuntimeError) -> bool:
    return "alloc" in str(error) or "out of memory" in str(error)


def _time_or_fail(fns: dict[str, Callable[[], None]], repeats: int) -> tuple[dict[str, float | None], str]:
    """:func:`time_side_by_side`; when the baseline runs out of memory, ours alone and the reason."""
    try:
        return time_side_by_side(fns, repeats), ""
    except RuntimeError as error:
        if not _is_out_of_memory(error):
            raise
        gc.collect()
        return {**time_side_by_side({"ours": fns["ours"]}, repeats), "reference": None}, "reference out of memory"


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else 1e3 * seconds


def _ratio(times: dict[str, float | None]) -> float | None:
    return None if times["reference"] is None else times["reference"] / times["ours"]


def run_cell(x: Tensor, tau: float, repeats: int) -> dict[str, object]:
    B, L, d = x.shape
    mask = torch.ones(B, L, dtype=torch.long)
    ours, reference = matched_pair(d, tau)
    features = {"token_embeddings": x, "attention_mask": mask}
    with torch.inference_mode():
        z_ours = ours(dict(features))["sentence_embedding"]
        try:
            error: float | None = float((z_ours - reference(x, mask)).abs().max())
        except RuntimeError as failure:
            if not _is_out_of_memory(failure):
                raise
            error = None
    if error is not None and error > 1e-3:
        raise AssertionError(f"outputs differ by {error} at L={L}, d={d}, tau={tau}")

    def ours_fwd() -> None:
        with torch.inference_mode():
            ours(dict(features))

    def ref_fwd() -> None:
        with torch.inference_mode():
            reference(x, mask)

    def ours_train() -> None:
        ours.zero_grad(set_to_none=True)
        ours(dict(features))["sentence_embedding"].square().sum().backward()

    def ref_train() -> None:
        reference.zero_grad(set_to_none=True)
        reference(x, mask).square().sum().backward()

    reps = max(1, repeats // 2) if L >= 512 else repeats
    fwd, fwd_failure = _time_or_fail({"ours": ours_fwd, "reference": ref_fwd}, reps)
    train, train_failure = _time_or_fail({"ours": ours_train, "reference": ref_train}, reps)
    return {
        "L": L,
        "d": d,
        "tau": tau,
        "edge_density": edge_density(x, tau),
        "max_abs_diff": error,
        "backend": ours.last_backend,
        "fwd_ours_ms": _ms(fwd["ours"]),
        "fwd_ref_ms": _ms(fwd["reference"]),
        "fwd_speedup": _ratio(fwd),
        "train_ours_ms": _ms(train["ours"]),
        "train_ref_ms": _ms(train["reference"]),
        "train_speedup": _ratio(train),
        "failure": fwd_failure or train_failure,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="only L=128, d=384 (the headline cell)")
    parser.add_argument("--dims", type=comma_ints, default=(384, 2048), help="comma-separated d (default 384,2048)")
    parser.add_argument(
        "--lengths", type=comma_ints, default=(32, 128, 512), help="comma-separated L (default 32,128,512)"
    )
    parser.add_argument(
        "--limit-gib",
        type=float,
        default=16.0,
        help="address-space cap; a baseline that needs more is reported as out of memory",
    )
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    resource.setrlimit(resource.RLIMIT_AS, (int(args.limit_gib * 2**30),) * 2)
    lengths, dims = ((128,), (384,)) if args.quick else (args.lengths, args.dims)
    rows = []
    for d in dims:
        for L in lengths:
            x = minilm_states(32, L) if d == 384 else anisotropic_states(32, L, d)
            for tau in (0.3, 0.6, 0.8):
                rows.append(run_cell(x, tau, args.repeats))
                print(rows[-1], flush=True)
    columns = [
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
    print_table(rows, columns)
    measured = [r[key] for r in rows for key in ("fwd_speedup", "train_speedup") if r[key] is not None]
    worst = min(measured, default=None)
    print(f"worst measured speedup over the grid: {worst:.2f}x" if worst is not None else "no cell had a baseline time")
    full = (lengths, dims) == ((32, 128, 512), (384, 2048))
    name = (
        "vs_reference" if full else "vs_reference_d{}_L{}".format("-".join(map(str, dims)), "-".join(map(str, lengths)))
    )
    write_results(
        name,
        {
            "threads": args.threads,
            "batch_size": 32,
            "hidden_dim": 128,
            "num_layers": 2,
            "limit_gib": args.limit_gib,
            "rows": rows,
            "worst_speedup": worst,
        },
    )


if __name__ == "__main__":
    main()
