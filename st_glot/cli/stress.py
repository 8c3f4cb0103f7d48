"""``st-glot stress-test``: the paper's needle-among-distractors test on a frozen backbone."""

from __future__ import annotations

import argparse
import time
from contextlib import ExitStack
from pathlib import Path

from st_glot.cli.args import (
    SEEDS,
    add_backbone_arguments,
    add_cache_arguments,
    add_epochs_batch_lr_arguments,
    add_glot_arguments,
    add_group_by_length_argument,
    add_methods_argument,
    comma_list,
    glot_kwargs,
    number,
    run_provenance,
)
from st_glot.cli.errors import user_errors
from st_glot.evaluation.stress.data import DISTRACTOR_RATIOS, GENERATORS
from st_glot.utils.choices import PAPER_POOLINGS
from st_glot.utils.io import atomic_output_dir


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "stress-test", help="GLOT vs mean/max/CLS/AdaPool on the needle-among-distractors test", description=__doc__
    )
    parser.add_argument(
        "--output", default="stress-test-results", help="folder for results.json, results.md, accuracy.png"
    )
    parser.add_argument(
        "--ratios",
        type=comma_list(number(float, 0, 1, open_low=True, open_high=True), what="ratio(s)"),
        default=list(DISTRACTOR_RATIOS),
        help="comma-separated distractor ratios, each in (0, 1)",
    )
    add_methods_argument(parser, "--methods", PAPER_POOLINGS)
    parser.add_argument(
        "--generator",
        choices=GENERATORS,
        default="balanced",
        help="balanced: equal token length per class, needle never truncated; reference: the paper's code",
    )
    parser.add_argument(
        "--train-size",
        type=number(int, 2),
        default=1000,
        help="training texts per ratio (default 1000; the paper: 2000)",
    )
    parser.add_argument(
        "--eval-size", type=number(int, 2), default=400, help="evaluation texts per ratio (default 400; the paper: 500)"
    )
    add_epochs_batch_lr_arguments(
        parser,
        epochs=5,
        lr=1e-3,
        epochs_help="training epochs per method (default 5; the paper: 3)",
        lr_help="learning rate (default 1e-3; the paper used 1e-4)",
    )
    parser.add_argument("--seeds", type=SEEDS, default=[0], help="comma-separated seeds, e.g. 0,1,2 (default 0)")
    add_group_by_length_argument(parser)
    add_cache_arguments(parser)
    parser.add_argument(
        "--explain",
        type=number(int, 0),
        default=4,
        metavar="N",
        help="write explanations of N eval samples for the GLOT model of the last ratio (0: none)",
    )
    add_backbone_arguments(parser)
    add_glot_arguments(parser)
    parser.set_defaults(func=run)


def stress_glot_kwargs(args: argparse.Namespace) -> dict:
    """:func:`glot_kwargs`, with the paper's stress-test threshold (0.6) under ``--preset paper``."""
    from st_glot.evaluation.stress.run import PAPER_TAU

    glot = glot_kwargs(args)
    if args.preset == "paper":
        glot.setdefault("tau", PAPER_TAU)
    return glot


def run(args: argparse.Namespace) -> int:
    """Check the output folder and load the backbone (one-line errors), then run; the folder is written whole."""
    from st_glot.models.backbones import load_backbone

    with ExitStack() as stack:
        with user_errors("stress-test"):
            output = stack.enter_context(atomic_output_dir(args.output))
            backbone = load_backbone(
                args.backbone, args.max_seq_length, args.gguf_file, args.backbone_dtype, args.template
            )
        _run(args, backbone, output)
    print(f"\nwrote {args.output}/results.json, results.md, accuracy.png")
    return 0


def _run(args: argparse.Namespace, backbone, output: Path) -> None:
    """Train and score every method, print the table, write the results into ``output``."""
    from st_glot.evaluation.stress.run import StressTestConfig, format_table, run_stress_test, write_results
    from st_glot.explanations.write import write_explanations
    from st_glot.models.backbones import backbone_label
    from st_glot.utils.provenance import generated_source

    config = StressTestConfig(
        ratios=args.ratios,
        methods=args.methods,
        generator=args.generator,
        train_size=args.train_size,
        eval_size=args.eval_size,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        seeds=args.seeds,
        glot=stress_glot_kwargs(args),
        cache_dir=args.cache_dir,
        cache_dtype=args.cache_dtype,
        group_by_length=args.group_by_length,
    )
    start = time.perf_counter()
    records, last = run_stress_test(backbone, config, progress=not args.quiet)
    glot_config = last["glot"][0][1].get_config_dict() if "glot" in last else None
    data = generated_source(
        "st_glot.evaluation.stress.data",
        generator=config.generator,
        ratios=list(config.ratios),
        train_size=config.train_size,
        eval_size=config.eval_size,
        seeds=list(config.seeds),
    )
    poolers = {method: (model[1], model[0]) for method, (model, _) in last.items()}
    summary = write_results(
        str(output),
        config,
        backbone_label(args.backbone, args.gguf_file),
        records,
        time.perf_counter() - start,
        glot_config,
        run_provenance(args, backbone, poolers, "classification", [data], glot=config.glot),
    )
    if args.explain and "glot" in last:
        model, samples = last["glot"]
        write_explanations(
            model,
            [s.text for s in samples[: args.explain]],
            str(output / "explanations"),
            labels=[f"label {s.label}" for s in samples[: args.explain]],
        )
    print()
    print(format_table(summary))
    print(f"({time.perf_counter() - start:.0f} s)")
