"""``st-glot glue``: compare pooling methods on GLUE tasks with a frozen backbone."""

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
    add_tuning_arguments,
    comma_list,
    fit_options,
    glot_kwargs,
    number,
    run_provenance,
    settings,
)
from st_glot.evaluation.tasks import GLUE_TASKS, PAPER_ROWS, TASKS
from st_glot.utils.choices import PAPER_POOLINGS


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "glue", help="compare pooling methods on GLUE tasks (frozen backbone)", description=__doc__
    )
    parser.add_argument(
        "--task",
        type=comma_list(valid=tuple(TASKS), what="task(s)"),
        default=["cola", "sst2", "stsb", "mrpc"],
        help=f"comma-separated, from {','.join(GLUE_TASKS)} (default cola,sst2,stsb,mrpc)",
    )
    add_methods_argument(parser, "--pooling", PAPER_POOLINGS)
    parser.add_argument(
        "--data-dir", default=None, help="offline data folder (cola/, sst2/, stsb/, mrpc/); default: the Hub"
    )
    parser.add_argument(
        "--limit",
        type=number(int, 1),
        default=None,
        help="a sample of N rows of each split (seeded, stratified by class)",
    )
    parser.add_argument(
        "--paper-backbone",
        choices=tuple(PAPER_ROWS),
        default=None,
        help="print the paper's rows for this backbone under ours",
    )
    parser.add_argument("--output", default="glue-results", help="folder for results.json and results.md")
    add_backbone_arguments(parser)
    add_glot_arguments(parser)
    add_training_arguments(parser, seeds=(0,))
    add_tuning_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Check the output folder and data, then train and score; results.json and results.md appear together."""
    from st_glot.cli.errors import user_errors
    from st_glot.evaluation.tasks import load_task, task_sources
    from st_glot.utils.io import atomic_output_dir

    with ExitStack() as stack:
        with user_errors("glue"):
            output = stack.enter_context(atomic_output_dir(args.output))
            data = {task: load_task(task, args.data_dir, limit=args.limit, seed=args.seeds[0]) for task in args.task}
        # The heavy stack (torch, sentence-transformers) only once the output and data are checked.
        from st_glot.evaluation.costs import format_cost_table
        from st_glot.evaluation.glue import format_table, run_glue
        from st_glot.evaluation.tuning import format_tuning
        from st_glot.models.backbones import backbone_label, load_backbone

        with user_errors("glue"):
            backbone = load_backbone(
                args.backbone, args.max_seq_length, args.gguf_file, args.backbone_dtype, args.template
            )
        start = time.perf_counter()
        records, tunings = run_glue(
            backbone,
            args.task,
            args.pooling,
            data_dir=args.data_dir,
            limit=args.limit,
            seeds=args.seeds,
            glot_kwargs=glot_kwargs(args),
            data=data,
            lr_grid=args.lr_grid,
            validation_fraction=args.validation_fraction,
            **fit_options(args),
        )
        table = format_table(records, args.paper_backbone)
        if tunings:
            table += (
                f"\n\nLearning rate and epochs chosen on a validation split ({args.validation_fraction:g} of train, "
            )
            table += f"seed {args.seeds[0]}), best validation score ×100 per rate:\n\n{format_tuning(tunings)}"
        losses = {task: TASKS[task].loss for task in args.task}
        data_sources = [source for task in args.task for source in task_sources(task, args.data_dir)]
        with open(output / "results.json", "w", encoding="utf-8") as f:
            json.dump(
                {
                    "settings": settings(args),
                    "seconds": round(time.perf_counter() - start, 1),
                    "records": records,
                    "tuning": {task: {m: vars(t) for m, t in per.items()} for task, per in tunings.items()},
                    "provenance": run_provenance(args, backbone, dict.fromkeys(args.pooling), losses, data_sources),
                },
                f,
                indent=2,
            )
        with open(output / "results.md", "w", encoding="utf-8") as f:
            label = backbone_label(args.backbone, args.gguf_file)
            f.write(f"# GLUE-style comparison: {label} (scores x100)\n\n{table}\n\n")
            f.write(f"## Cost per method (mean over seeds)\n\n{format_cost_table(records, group='task')}\n")
    print()
    print(table)
    print(f"\nwrote {os.path.join(args.output, 'results.json')} and results.md")
    return 0
