"""``st-glot mteb``: evaluate a saved model with MTEB, on Hub tasks or on local files.

Prints a table of main scores and writes MTEB's JSON results under
``--output`` (``results/<model name>/<revision>/<task>.json``, MTEB's cache
layout, so a second run with the same model and task reads them back).
"""

from __future__ import annotations

import argparse
import os
from contextlib import ExitStack

from st_glot.cli.args import comma_list, number


def register(subparsers) -> None:
    """Add the ``mteb`` sub-command."""
    parser = subparsers.add_parser(
        "mteb", help="evaluate a model with MTEB (Hub tasks or local files)", description=__doc__
    )
    parser.add_argument("--model", required=True, help="a saved SentenceTransformer folder or Hub id")
    parser.add_argument(
        "--tasks",
        type=comma_list(what="MTEB task(s)"),
        default=[],
        help="comma-separated MTEB task names, e.g. STSBenchmark,Banking77Classification",
    )
    parser.add_argument(
        "--local-sts",
        action="append",
        default=[],
        metavar="FILE",
        help="an STS file (header sentence1,sentence2,score, or STS Benchmark rows); repeatable",
    )
    parser.add_argument(
        "--local-classification",
        action="append",
        default=[],
        metavar="DIR",
        help="a folder with train and test/dev CSV/TSV files (text and label columns); repeatable",
    )
    parser.add_argument(
        "--limit",
        type=number(int, 1),
        default=None,
        help="local tasks: a sample of N rows of each split (seed 0, stratified by class)",
    )
    parser.add_argument(
        "--n-experiments", type=number(int, 1), default=10, help="local classification: repetitions (default 10)"
    )
    parser.add_argument("--batch-size", type=number(int, 1), default=32)
    parser.add_argument(
        "--output",
        default="mteb-results",
        help="folder for MTEB's JSON results, kept across runs and updated once all tasks ran (default: mteb-results)",
    )
    parser.add_argument("--overwrite", action="store_true", help="re-run tasks whose results are already in --output")
    parser.set_defaults(func=run)


def build_tasks(args: argparse.Namespace) -> list:
    """The MTEB tasks named by ``--tasks``, ``--local-sts`` and ``--local-classification``."""
    import mteb

    from st_glot.evaluation.mteb_tasks import classification_task_from_folder, sts_task_from_file

    try:
        tasks = list(mteb.get_tasks(tasks=args.tasks)) if args.tasks else []
    except KeyError as error:  # mteb's message names the unknown task and close matches
        raise ValueError(f"--tasks: {str(error.args[0]).removeprefix('KeyError: ')}") from None
    tasks += [sts_task_from_file(path, limit=args.limit) for path in args.local_sts]
    tasks += [
        classification_task_from_folder(folder, n_experiments=args.n_experiments, limit=args.limit)
        for folder in args.local_classification
    ]
    if not tasks:
        raise ValueError("no tasks. Give --tasks NAME[,NAME], --local-sts FILE or --local-classification DIR.")
    return tasks


def run(args: argparse.Namespace) -> int:
    """Load the model, run MTEB, print the table and where the JSON results are."""
    import mteb
    from sentence_transformers import SentenceTransformer

    from st_glot.cli.errors import user_errors
    from st_glot.evaluation.mteb_tasks import mteb_results_table, name_model
    from st_glot.models.backbones import is_hub_id
    from st_glot.utils.io import atomic_output_dir

    with ExitStack() as stack:
        with user_errors("mteb"):
            output = stack.enter_context(atomic_output_dir(args.output, keep_existing=True))
            tasks = build_tasks(args)
            is_hub_id(args.model, "--model")  # a missing folder or an unreachable Hub: one line, at once
            model = name_model(SentenceTransformer(args.model, trust_remote_code=True))
        result = mteb.evaluate(
            model,
            tasks,
            cache=mteb.ResultCache(str(output)),
            encode_kwargs={"batch_size": args.batch_size},
            overwrite_strategy="always" if args.overwrite else "only-missing",
            show_progress_bar=False,
        )
    print(f"model: {result.model_name} (revision {result.model_revision})")
    print(mteb_results_table(result))
    print(f"JSON results in {os.path.join(args.output, 'results')}")
    return 0
