"""Command-line options shared by the sub-commands: backbone, pooler, training, cache."""

from __future__ import annotations

import argparse
from typing import Any

from st_glot.nn.gnn import GNN_TYPES, JK_MODES
from st_glot.nn.graph import EDGE_WEIGHTS, GRAPH_NORMS
from st_glot.nn.pooling import INPUT_NORMS
from st_glot.training.cache import CACHE_DTYPES, DEFAULT_CACHE_DIR


def add_backbone_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("backbone")
    group.add_argument(
        "--backbone",
        default=None,
        help="Hub id or folder; default: the embedded all-MiniLM-L6-v2; 'smollm2': the packaged SmolLM2-135M GGUF",
    )
    group.add_argument("--gguf-file", default=None, help="GGUF file inside --backbone")
    group.add_argument("--max-seq-length", type=int, default=128, help="truncation length in tokens (default 128)")
    group.add_argument("--backbone-dtype", choices=("float32", "float16", "bfloat16"), default=None)


def add_glot_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("GLOT pooler")
    group.add_argument("--hidden-dim", type=int, default=128)
    group.add_argument("--num-layers", type=int, default=2)
    group.add_argument("--gnn", choices=GNN_TYPES, default="gat")
    group.add_argument("--jk", choices=JK_MODES, default="cat")
    group.add_argument("--tau", type=float, default=0.3)
    group.add_argument("--edge-weight", choices=EDGE_WEIGHTS, default="binary")
    group.add_argument(
        "--graph-norm",
        choices=GRAPH_NORMS,
        default="none",
        help="centre ('center') or standardise token states per text before the cosine; "
        "recommended: 'center' with --input-norm running --tau 0.3 (default 'none', the paper)",
    )
    group.add_argument(
        "--input-norm",
        choices=INPUT_NORMS,
        default="none",
        help="normalisation of the states the GNN and readout see: per text ('center', 'standardize') "
        "or per dimension over all training tokens ('running'); default 'none'",
    )
    group.add_argument("--heads", type=int, default=1)
    group.add_argument("--dropout", type=float, default=0.0)
    group.add_argument("--scorer-hidden", type=int, default=None)


def glot_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The :class:`~st_glot.GLOTPooling` keyword arguments named on the command line."""
    return {
        "hidden_dim": args.hidden_dim,
        "num_layers": args.num_layers,
        "gnn": args.gnn,
        "jk": args.jk,
        "tau": args.tau,
        "edge_weight": args.edge_weight,
        "heads": args.heads,
        "dropout": args.dropout,
        "scorer_hidden": args.scorer_hidden,
        "graph_norm": args.graph_norm,
        "input_norm": args.input_norm,
    }


def add_group_by_length_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--group-by-length``: :func:`st_glot.training.fit.fit`'s ``group_by_length``."""
    parser.add_argument(
        "--group-by-length",
        action="store_true",
        help="batches of similar-length texts: faster, but where length follows the label "
        "they hold mostly one class (default: random batches)",
    )


def add_training_arguments(parser: argparse.ArgumentParser, lr: float = 2e-4) -> None:
    group = parser.add_argument_group("training")
    group.add_argument("--epochs", type=int, default=3)
    group.add_argument("--batch-size", type=int, default=32)
    group.add_argument("--lr", type=float, default=lr, help=f"learning rate (default {lr})")
    group.add_argument("--seed", type=int, default=42)
    add_group_by_length_argument(group)
    group.add_argument(
        "--cache-dir", default=DEFAULT_CACHE_DIR, help=f"token-state cache root (default {DEFAULT_CACHE_DIR})"
    )
    group.add_argument("--cache-dtype", choices=tuple(CACHE_DTYPES), default="float16")


def comma_list(cast=str, valid: tuple[str, ...] | None = None, what: str = "value(s)"):
    """An argparse ``type`` for comma-separated lists, e.g. ``--seeds 0,1,2``; checks names against ``valid``."""

    def parse(text: str) -> list:
        items = [cast(x) for x in text.split(",") if x]
        bad = [x for x in items if valid is not None and x not in valid]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown {what} {bad}; valid: {', '.join(valid)}")
        return items

    return parse
