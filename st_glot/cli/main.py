"""The ``st-glot`` command line: one sub-command per job.

Each job lives in its own module and exposes ``register(subparsers)``, which adds
its sub-parser and sets ``func`` to the function that runs it.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: Sub-command modules, in the order ``st-glot --help`` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "st_glot.cli.stress",
    "st_glot.cli.train",
    "st_glot.cli.glue",
    "st_glot.cli.explain",
    "st_glot.cli.mteb",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="st-glot", description="GLOT pooling for sentence-transformers.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
