"""``st-glot train``: train a pooler on a frozen backbone for one task and save the model."""

from __future__ import annotations

import argparse
import json
from contextlib import ExitStack

from st_glot.cli.args import (
    add_backbone_arguments,
    add_glot_arguments,
    add_training_arguments,
    fit_options,
    glot_kwargs,
    lora_installed,
    number,
    run_provenance,
    settings,
)
from st_glot.cli.errors import user_errors
from st_glot.evaluation.tasks import TASKS, load_task, task_sources
from st_glot.utils.choices import LOSSES, POOLINGS
from st_glot.utils.io import atomic_output_dir

SUMMARY_FILE = "st_glot_training.json"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train", help="train a pooler on a frozen backbone and save the model", description=__doc__
    )
    parser.add_argument("--task", choices=tuple(TASKS), required=True)
    parser.add_argument(
        "--data-dir",
        default=None,
        help="offline data folder holding <task>/ in the files' original formats (docs/training.md); default: the Hub",
    )
    parser.add_argument(
        "--output",
        required=True,
        help="folder for the trained SentenceTransformer; written whole at the end (replacing an existing one) "
        "or not at all",
    )
    parser.add_argument(
        "--pooling",
        choices=POOLINGS,
        type=lora_installed,
        default="glot",
        help="default glot; lora trains LoRA adapters on the backbone (needs peft) and saves them merged into it",
    )
    parser.add_argument(
        "--loss",
        choices=tuple(loss for loss in LOSSES if loss != "mnrl"),
        default=None,
        help="default: the task's loss from the paper (mnrl needs rows that are all positive pairs: "
        "st_glot.fit on your own data)",
    )
    parser.add_argument(
        "--limit",
        type=number(int, 1),
        default=None,
        help="use a sample of N rows of each split (seeded by --seed, stratified by class)",
    )
    parser.add_argument(
        "--checkpoint-dir",
        default=None,
        help="write a training checkpoint here after every epoch; run the same command again to resume "
        "an interrupted run from the last one",
    )
    add_backbone_arguments(parser)
    add_glot_arguments(parser)
    add_training_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Check the output folder, data and backbone; seed; train; write the model folder whole, or nothing.

    Everything random (the pooler's and projection's initialisation, the classification
    head, the batch order) follows ``--seed``, so the same command on CPU saves
    bit-identical weights. Trained with an embedding loss, every pooler gets a trainable
    ``D → D`` projection after it, as in ``st-glot glue``, ``compare`` and ``generalisation``
    (the paper's STS-B set-up): a parameter-free pooler has nothing to train otherwise, and
    GLOT on a templated decoder's states scores far lower without it (docs/benchmarks/).
    """
    task = TASKS[args.task]
    loss = args.loss or task.loss
    with ExitStack() as stack:
        with user_errors("train"):
            if args.pooling == "lora" and args.checkpoint_dir:
                raise ValueError(
                    "--checkpoint-dir is not supported with --pooling lora (resuming cannot load adapters)."
                )
            if loss not in task.losses:
                raise ValueError(
                    f"--loss {loss} cannot train task {args.task!r}; valid for it: {', '.join(task.losses)}."
                )
            output = stack.enter_context(atomic_output_dir(args.output))
            train, dev = load_task(args.task, args.data_dir, limit=args.limit, seed=args.seed)
        # The heavy stack (torch, sentence-transformers) only once the output and data are checked.
        import torch

        from st_glot.models.backbones import load_backbone
        from st_glot.models.factory import make_model, make_pooler, method_backbone
        from st_glot.training.fit import fit

        with user_errors("train"):
            torch.manual_seed(args.seed)
            backbone = load_backbone(
                args.backbone, args.max_seq_length, args.gguf_file, args.backbone_dtype, args.template
            )
            pooler = make_pooler(args.pooling, backbone, **(glot_kwargs(args) if args.pooling == "glot" else {}))
        embedding_loss = loss != "classification"
        model = make_model(
            method_backbone(args.pooling, backbone), pooler, normalize=embedding_loss, project=embedding_loss
        )
        result = fit(
            model,
            train,
            loss=loss,
            eval_dataset=dev,
            seed=args.seed,
            output_dir=str(output),
            checkpoint_dir=args.checkpoint_dir,
            **fit_options(args),
        )
        summary = {
            "task": args.task,
            "pooling": args.pooling,
            "projection": embedding_loss,
            "loss": loss,
            "backbone": args.backbone or "all-MiniLM-L6-v2 (embedded)",
            "train_rows": len(train),
            "eval_rows": len(dev),
            "metrics": result.metrics,
            "precompute_seconds": round(result.precompute_seconds, 2),
            "train_seconds": round(result.train_seconds, 2),
            "texts_computed": result.texts_computed,
            "cache_dir": result.cache_dir,
            "arguments": settings(args),
            "provenance": run_provenance(
                args, backbone, {args.pooling: (model[1], model[0])}, loss, task_sources(args.task, args.data_dir)
            ),
        }
        with open(output / SUMMARY_FILE, "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=2)
    print(
        json.dumps(
            {
                "metrics": result.metrics,
                "train_seconds": summary["train_seconds"],
                "precompute_seconds": summary["precompute_seconds"],
            },
            indent=2,
        )
    )
    print(f"saved to {args.output}")
    return 0
