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

``--real`` measures realistic training batches instead (``vs_reference_real.json``):
32 random STS-B and SST-2 training texts padded to the batch's longest, and
full 128-token windows; tau = 0.3, d = 384, forward + backward, for the paper
configuration (checked equal to the baseline) and the recommended one
(centred graph, running input norm). Beside the two times it reports ``floor``,
a step of only the per-token matrix products on the valid tokens (GNN
projections and scorer, the bulk of the FLOPs), so ``ceiling_speedup`` =
baseline / floor bounds any implementation; and the step's FLOP/s on the FLOPs
the math needs for the valid tokens (:func:`bench_flops.valid_step_flops`)
against this machine's fp32 matmul.

Run: ``python benchmarks/bench_vs_reference.py [--repeats N] [--quick] [--dims 2048 --lengths 512]``
or ``python benchmarks/bench_vs_reference.py --real [--data-dir DIR] [--batches 3]``
(``DIR`` defaults to ``$ST_GLOT_DATA`` or ``../shared/data``).
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F
from _common import (
    VS_REFERENCE_COLUMNS,
    anisotropic_states,
    comma_ints,
    edge_density,
    minilm_states,
    print_table,
    time_side_by_side,
    write_results,
)
from bench_flops import valid_step_flops
from torch import Tensor, nn
from torch_geometric.data import Batch, Data
from torch_geometric.nn import GATConv
from torch_geometric.utils import dense_to_sparse, scatter, softmax

from st_glot import GLOTPooling
from st_glot.evaluation.tasks import task_sources


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


def matched_pair(
    dim: int, tau: float, hidden: int = 128, layers: int = 2, preset: str = "paper"
) -> tuple[GLOTPooling, ReferenceGLOT]:
    """Our pooler (in the configuration ``preset``) and the baseline with identical weights."""
    torch.manual_seed(0)
    ours = GLOTPooling.from_preset(preset, dim, hidden_dim=hidden, num_layers=layers, tau=tau)
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


def default_data_dir() -> str:
    """``$ST_GLOT_DATA``, else ``../shared/data`` beside the repository."""
    return os.environ.get("ST_GLOT_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data"))


def real_batches(data_dir: str, workload: str, count: int, batch_size: int = 32) -> list[tuple[Tensor, Tensor]]:
    """``count`` batches of all-MiniLM-L6-v2 token states ``(B, L, 384)`` and masks ``(B, L)``.

    ``"stsb"`` / ``"sst2"``: ``batch_size`` random training texts (seed = batch number), padded to the
    batch's longest as the tokenizer does (at most 128 tokens); ``"windows"``: consecutive full
    128-token windows of English prose (no padding).
    """
    if workload == "windows":
        x = minilm_states(batch_size, 128).clone()  # a normal tensor (autograd saves it), not an inference one
        return [(x, torch.ones(x.shape[:2], dtype=torch.long))] * count
    from transformers import AutoModel, AutoTokenizer

    from st_glot import default_backbone_path
    from st_glot.evaluation.tasks import load_task

    train, _ = load_task(workload, data_dir)
    texts = list(train["sentence1"]) + list(train["sentence2"]) if workload == "stsb" else list(train["text"])
    tokenizer = AutoTokenizer.from_pretrained(default_backbone_path())
    model = AutoModel.from_pretrained(default_backbone_path()).eval()
    batches = []
    for seed in range(count):
        picked = random.Random(seed).sample(texts, batch_size)
        encoded = tokenizer(picked, padding=True, truncation=True, max_length=128, return_tensors="pt")
        with torch.inference_mode():
            states = model(**encoded).last_hidden_state  # (B, L, 384)
        batches.append((states.clone(), encoded["attention_mask"]))
    return batches


def valid_edge_density(x: Tensor, mask: Tensor, tau: float) -> float:
    """Fraction of valid token pairs with ``cos > tau`` (diagonal included), over a batch."""
    hits = pairs = 0
    for b in range(x.size(0)):
        unit = F.normalize(x[b, mask[b].bool()], dim=-1)
        hits += int(((unit @ unit.T) > tau).sum())
        pairs += unit.size(0) ** 2
    return hits / pairs


def linear_floor(ours: GLOTPooling, x: Tensor, mask: Tensor) -> Callable[[], None]:
    """A training step of only the per-token matrix products on the valid tokens (the GNN projections
    and the scorer, with autograd): the time no implementation of this model can go below."""
    tokens = x[mask.bool()]  # (N, d)
    convs, scorer = ours.token_gnn.convs, ours.readout.scorer

    def step() -> None:
        ours.zero_grad(set_to_none=True)
        states = [tokens]
        for conv in convs:
            states.append(torch.relu(conv.lin(states[-1])))
        scorer(torch.cat(states, dim=-1)).sum().backward()

    return step


def _train_step(model: nn.Module, forward: Callable[[nn.Module], Tensor]) -> None:
    model.zero_grad(set_to_none=True)
    forward(model).square().sum().backward()


def run_real(data_dir: str, workload: str, preset: str, repeats: int, batches: int) -> dict[str, object]:
    """One realistic workload: ours (``preset``) against the research code (paper configuration), training steps."""
    tau = 0.3
    rows = {"ours": [], "reference": [], "floor": []}
    lengths, densities, padded = [], [], 0
    for x, mask in real_batches(data_dir, workload, batches):
        ours, reference = matched_pair(x.size(-1), tau, preset=preset)
        features = {"token_embeddings": x, "attention_mask": mask}
        if preset == "paper":
            with torch.inference_mode():
                error = float((ours(dict(features))["sentence_embedding"] - reference(x, mask)).abs().max())
            if error > 1e-4:
                raise AssertionError(f"outputs differ by {error} on {workload}")
        steps = {
            "ours": partial(_train_step, ours, lambda model, f=features: model(dict(f))["sentence_embedding"]),
            "reference": partial(_train_step, reference, lambda model, x=x, mask=mask: model(x, mask)),
            "floor": linear_floor(ours, x, mask),
        }
        times = time_side_by_side(steps, repeats, warmup=2)
        for name, seconds in times.items():
            rows[name].append(seconds)
        lengths += mask.sum(1).tolist()
        densities.append(valid_edge_density(x, mask, tau))
        padded += mask.numel()
    seconds = {name: sum(values) / len(values) for name, values in rows.items()}
    flops = valid_step_flops(lengths, 384, 128, 2)["total"] / batches
    return {
        "workload": workload,
        "preset": preset,
        "mean_valid_tokens": sum(lengths) / len(lengths),
        "mean_padded_length": padded / len(lengths),
        "edge_density": sum(densities) / len(densities),
        "train_ours_ms": 1e3 * seconds["ours"],
        "train_ref_ms": 1e3 * seconds["reference"],
        "floor_ms": 1e3 * seconds["floor"],
        "train_speedup": seconds["reference"] / seconds["ours"],
        "ceiling_speedup": seconds["reference"] / seconds["floor"],
        "valid_gflop": flops / 1e9,
        "achieved_gflops": flops / seconds["ours"] / 1e9,
    }


def main_real(args: argparse.Namespace) -> None:
    """The realistic batches (``--real``): STS-B and SST-2 training texts, full windows; paper and recommended."""
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    matmul = 2 * 2048**3 / time_side_by_side({"mm": lambda: a @ b}, 5)["mm"]
    rows = []
    for workload in ("stsb", "sst2", "windows"):
        for preset in ("paper", "recommended"):
            row = run_real(args.data_dir, workload, preset, args.repeats, 1 if workload == "windows" else args.batches)
            row["utilisation"] = row["achieved_gflops"] * 1e9 / matmul
            rows.append(row)
            print(rows[-1], flush=True)
    columns = [
        "workload",
        "preset",
        "mean_valid_tokens",
        "mean_padded_length",
        "edge_density",
        "train_ours_ms",
        "train_ref_ms",
        "train_speedup",
        "floor_ms",
        "ceiling_speedup",
        "achieved_gflops",
        "utilisation",
    ]
    print_table(rows, columns)
    print(f"matmul: {matmul / 1e9:.1f} GFLOP/s")
    write_results(
        "vs_reference_real",
        {
            "threads": args.threads,
            "batch_size": 32,
            "batches": args.batches,
            "tau": 0.3,
            "hidden_dim": 128,
            "num_layers": 2,
            "matmul_gflops": matmul / 1e9,
            "rows": rows,
        },
        configuration={"settings": vars(args)},
        data=[source for task in ("stsb", "sst2") for source in task_sources(task, args.data_dir)],
    )


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
    parser.add_argument(
        "--real",
        action="store_true",
        help="realistic batches instead of the grid: random STS-B / SST-2 training texts and full windows",
    )
    parser.add_argument("--data-dir", default=default_data_dir(), help="offline data (stsb/, sst2/) for --real")
    parser.add_argument("--batches", type=int, default=3, help="random batches per workload for --real")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.real:
        main_real(args)
        return
    resource.setrlimit(resource.RLIMIT_AS, (int(args.limit_gib * 2**30),) * 2)
    lengths, dims = ((128,), (384,)) if args.quick else (args.lengths, args.dims)
    rows = []
    for d in dims:
        for L in lengths:
            x = minilm_states(32, L) if d == 384 else anisotropic_states(32, L, d)
            for tau in (0.3, 0.6, 0.8):
                rows.append(run_cell(x, tau, args.repeats))
                print(rows[-1], flush=True)
    print_table(rows, VS_REFERENCE_COLUMNS)
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
        configuration={"settings": vars(args)},
    )


if __name__ == "__main__":
    main()
