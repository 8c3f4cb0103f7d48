"""``st-glot compare``: which pooler for my backbone and my data?

Trains every pooling method (GLOT, AdaPool, latent attention, mean, max, CLS, PromptEOL)
on your train data over a frozen backbone, for each seed, and scores each on your eval
data. The backbone runs once: its token states go to the token-state cache and every
method and seed reads them. Prints the table and the winner with its margin over the runner-up ("glot wins
by 3.1 points over adapool"), and writes results.md, results.json and scores.png
(bars: mean over seeds, error bars: standard deviation) to --output, whole or not at all.
results.md also holds each method's cost (trainable parameters, seconds per step, wall time
with the cache fill charged to every method that reads the cache, peak memory).
--pooling ...,lora adds LoRA adapters trained on the backbone itself (needs peft).

Data: CSV, TSV (tab-separated, detected from the first line) or JSONL files with a
header / keys naming the columns, or a Hugging Face Hub dataset NAME[:CONFIG][@SPLIT].
Task types: pairs-score (two texts and a similarity score; CoSENT loss; Spearman of the
cosine ×100), pairs (two texts and a class; linear head on [z_a, z_b]; F1 ×100) and
classification (one text and a class; linear head; accuracy ×100). Columns such as
sentence1/sentence2/score or text/label are found by name; name others with
--text-columns and --label-column. The data is checked before the backbone loads.

Example:
  st-glot compare --backbone smollm2 --train train.csv --eval dev.csv --seeds 0,1,2
"""

from __future__ import annotations

import argparse
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
from st_glot.evaluation.user_data import TASK_TYPES
from st_glot.utils.choices import FROZEN_POOLINGS

#: Seeds compared by default: three, for error bars.
DEFAULT_SEEDS: tuple[int, ...] = (0, 1, 2)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="compare the poolers on your own data and backbone (CSV/TSV/JSONL or a Hub dataset)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data = parser.add_argument_group("data")
    data.add_argument(
        "--train", required=True, help="training data: a .csv/.tsv/.jsonl file or a Hub dataset NAME[:CONFIG][@SPLIT]"
    )
    data.add_argument(
        "--eval",
        required=True,
        help="evaluation data, as --train (a Hub dataset's default split: validation)",
    )
    data.add_argument(
        "--task-type",
        choices=tuple(TASK_TYPES),
        default=None,
        help="default: pairs-score for two texts and a score (a 'score' column or fractional numbers), "
        "pairs for two texts and a class, classification for one text",
    )
    data.add_argument(
        "--text-columns",
        type=comma_list(what="text column(s)"),
        default=None,
        metavar="A[,B]",
        help="the text column(s); default: sentence1,sentence2 / text1,text2 / … or text / sentence / …",
    )
    data.add_argument(
        "--label-column", default=None, metavar="Y", help="the label or score column; default: score / label / …"
    )
    data.add_argument(
        "--limit",
        type=number(int, 1),
        default=None,
        help="a sample of N rows of each file (seeded, stratified by class)",
    )
    add_methods_argument(parser, "--pooling", FROZEN_POOLINGS)
    parser.add_argument(
        "--output",
        default="compare-results",
        help="folder for results.json, results.md and scores.png (default compare-results)",
    )
    add_backbone_arguments(parser)
    add_glot_arguments(parser)
    add_training_arguments(parser, seeds=DEFAULT_SEEDS)
    add_tuning_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Check the output folder and data, load the backbone, train and score; write the results folder whole."""
    from st_glot.cli.errors import user_errors
    from st_glot.evaluation.user_data import load_user_task
    from st_glot.utils.io import atomic_output_dir

    with ExitStack() as stack:
        with user_errors("compare"):
            output = stack.enter_context(atomic_output_dir(args.output))
            task = load_user_task(
                args.train,
                args.eval,
                args.task_type,
                args.text_columns,
                args.label_column,
                limit=args.limit,
                seed=args.seeds[0],
            )
            columns = ", ".join(task.columns.texts) + f" → {task.columns.target}"
            how = "detected" if task.detected else "given"
            print(
                f"task type {task.task_type} ({how}); columns {columns}; "
                f"{len(task.train)} train and {len(task.evaluation)} eval rows",
                flush=True,
            )
        # The heavy stack (torch, sentence-transformers) only once the output and data are checked.
        from st_glot.evaluation.user_compare import run_comparison, tune_all, write_results
        from st_glot.models.backbones import backbone_label, load_backbone

        with user_errors("compare"):
            backbone = load_backbone(
                args.backbone, args.max_seq_length, args.gguf_file, args.backbone_dtype, args.template
            )
        start = time.perf_counter()
        metric = TASK_TYPES[task.task_type].metric
        records, tunings = [], None
        if args.lr_grid:
            tunings = tune_all(
                backbone,
                task,
                args.pooling,
                args.lr_grid,
                args.validation_fraction,
                args.seeds[0],
                glot_kwargs(args),
                **fit_options(args),
            )
        for record in run_comparison(
            backbone,
            task,
            args.pooling,
            args.seeds,
            glot_kwargs=glot_kwargs(args),
            tunings=tunings,
            **fit_options(args),
        ):
            records.append(record)
            print(f"seed {record['seed']}  {record['method']:8s} {metric} {record['score']:.2f}", flush=True)
        label = backbone_label(args.backbone, args.gguf_file)
        loss = TASK_TYPES[task.task_type].loss
        origin = run_provenance(args, backbone, dict.fromkeys(args.pooling), loss, list(task.origins))
        seconds = time.perf_counter() - start
        _, best, table = write_results(output, task, label, records, settings(args), seconds, tunings, origin)
    print()
    print(table)
    print(f"\n{best['line']}")
    print(f"wrote {args.output}/results.json, results.md and scores.png")
    return 0
