"""``st-glot generalisation``: do the trained poolers hold up beyond their training data?

Runs the generalisation protocol (:mod:`st_glot.evaluation.generalisation`) on the offline data
folder: leave-one-genre-out STS-B (train on two genres, Spearman on the third's dev pairs),
STS-B dev in distribution and zero-shot MRPC (ROC-AUC of the cosine) for models trained on STS-B,
and MNRL on positive pairs scored on STS-B dev and Banking77 (local MTEB task). Parameter-free
methods are also scored untrained. One token-state cache serves every method and seed. Writes
results.md and results.json to --output, whole or not at all.

Example:
  st-glot generalisation --backbone smollm2 --template prompteol --data-dir ../shared/data --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import json
import os
import time
from contextlib import ExitStack

from st_glot.cli.args import (
    add_backbone_arguments,
    add_glot_arguments,
    add_methods_argument,
    add_training_arguments,
    fit_options,
    glot_kwargs,
    number,
    run_provenance,
    settings,
)
from st_glot.utils.choices import FROZEN_POOLINGS


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "generalisation",
        help="leave-one-genre-out STS-B, zero-shot MRPC and MNRL transfer for every pooler (offline data)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data-dir", required=True, help="offline data folder holding stsb/, mrpc/ and banking77/")
    add_methods_argument(parser, "--pooling", FROZEN_POOLINGS)
    parser.add_argument(
        "--banking77-limit",
        type=number(int, 1),
        default=None,
        help="a seeded, stratified sample of N rows of each Banking77 split (default: all)",
    )
    parser.add_argument("--no-banking77", action="store_true", help="skip the Banking77 measurement")
    parser.add_argument("--output", default="generalisation-results", help="folder for results.json and results.md")
    add_backbone_arguments(parser)
    add_glot_arguments(parser)
    add_training_arguments(parser, seeds=(0, 1, 2))
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Check the output folder and data, load the backbone, run the protocol; write the results folder whole."""
    from st_glot.cli.errors import user_errors
    from st_glot.evaluation.generalisation import (
        MEASUREMENT_LOSSES,
        format_costs,
        format_table,
        load_protocol_data,
        protocol_sources,
        run_protocol,
        summarise,
    )
    from st_glot.models.backbones import backbone_label, load_backbone
    from st_glot.utils.io import atomic_output_dir

    with ExitStack() as stack:
        with user_errors("generalisation"):
            output = stack.enter_context(atomic_output_dir(args.output))
            data = load_protocol_data(args.data_dir, banking77=not args.no_banking77)
            backbone = load_backbone(
                args.backbone, args.max_seq_length, args.gguf_file, args.backbone_dtype, args.template
            )
        start = time.perf_counter()
        records = []
        for record in run_protocol(
            backbone,
            args.pooling,
            args.seeds,
            data,
            glot_kwargs=glot_kwargs(args),
            banking77_limit=args.banking77_limit,
            **fit_options(args),
        ):
            records.append(record)
            print(f"{record['measurement']:16s} {record['method']:22s} seed {record['seed']}  {record['score']:.2f}")
        table = format_table(records)
        label = backbone_label(args.backbone, args.gguf_file)
        summary = {m: {k: list(v) for k, v in per.items()} for m, per in summarise(records).items()}
        payload = {
            "backbone": label,
            "settings": settings(args),
            "seconds": round(time.perf_counter() - start, 1),
            "summary": summary,
            "records": records,
            "provenance": run_provenance(
                args,
                backbone,
                dict.fromkeys(args.pooling),
                MEASUREMENT_LOSSES,
                protocol_sources(args.data_dir, banking77=not args.no_banking77),
            ),
        }
        with open(output / "results.json", "w", encoding="utf-8") as f:
            json.dump(payload, f, indent=2)
        with open(output / "results.md", "w", encoding="utf-8") as f:
            f.write(f"# Generalisation protocol: {label} (scores x100, mean ± std over seeds)\n\n{table}\n\n")
            f.write(f"## Cost per method and training run (mean over seeds)\n\n{format_costs(records)}\n")
    print()
    print(table)
    print(f"\nwrote {os.path.join(args.output, 'results.json')} and results.md")
    return 0
