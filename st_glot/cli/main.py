"""The ``st-glot`` command line: one sub-command per job.

Each job lives in its own module and exposes ``register(subparsers)``, which adds
its sub-parser and sets ``func`` to the function that runs it. Registering imports
nothing heavy (no torch, sentence-transformers, datasets or mteb), so ``--help``
answers at once; a command imports what it needs when it runs.

Every command takes ``--verbose`` (the trainer's logs and the libraries' own progress
bars and messages) and ``--quiet`` (no progress bars, errors only). Ctrl-C ends a
command with one line and exit status 130.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, NoReturn

#: Sub-command modules, in the order ``st-glot --help`` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "st_glot.cli.stress",
    "st_glot.cli.train",
    "st_glot.cli.glue",
    "st_glot.cli.compare",
    "st_glot.cli.generalisation",
    "st_glot.cli.explain",
    "st_glot.cli.mteb",
)
#: Exit status after Ctrl-C: 128 + SIGINT, as a shell reports a process that SIGINT ended.
INTERRUPTED_EXIT = 130
#: Loggers whose level ``--verbose`` / ``--quiet`` set while a command runs (and transformers', through
#: its own verbosity setting).
LIBRARY_LOGGERS: tuple[str, ...] = ("st_glot", "sentence_transformers", "datasets", "mteb")


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """``--verbose`` and ``--quiet``, which every sub-command takes."""
    group = parser.add_argument_group("output").add_mutually_exclusive_group()
    group.add_argument(
        "--verbose",
        action="store_true",
        help="also print the trainer's logs (loss and metrics per epoch) and the libraries' messages and bars",
    )
    group.add_argument("--quiet", action="store_true", help="no progress bars; print only results and errors")


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, reporting a mistake in one line that points to ``--help``, not above the whole usage.

    A value that starts with ``-`` and a digit (``--tau -1e-1``, ``--seeds -1,0``) is a value, not an
    option: no option of st-glot starts with a digit (argparse alone accepts ``-1`` and ``-.5`` only).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = re.compile(r"^-\.?\d")

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (options: {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="st-glot", description="GLOT pooling for sentence-transformers.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    for command in subparsers.choices.values():
        add_output_arguments(command)
    return parser


@contextmanager
def output_mode(verbose: bool, quiet: bool) -> Iterator[None]:
    """While a command runs: what the libraries log and whether their own progress bars show.

    Default: st-glot's warnings and errors, and its bars (token states, training per method)
    only. ``verbose``: INFO logs too (the trainer's loss and metrics per epoch), transformers'
    warnings and the libraries' bars (loading weights, writing shards). ``quiet``: errors
    only. The previous settings come back afterwards.
    """
    from tqdm.contrib.logging import logging_redirect_tqdm
    from transformers.utils import logging as hf_logging

    from st_glot.utils.progress import library_bars_off

    level = logging.INFO if verbose else logging.ERROR if quiet else logging.WARNING
    loggers = [logging.getLogger(name) for name in LIBRARY_LOGGERS]
    previous = [logger.level for logger in loggers]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    own = loggers[0]
    own.addHandler(handler)
    hf_verbosity = hf_logging.get_verbosity()
    try:
        for logger in loggers:
            logger.setLevel(level)
        # transformers' INFO is its internals (configs, file names); the trainer's logs come through fit's logger.
        hf_logging.set_verbosity(logging.WARNING if verbose else logging.ERROR)
        with ExitStack() as stack:
            if not verbose:
                stack.enter_context(library_bars_off())
            # Log lines go above the progress bars instead of through them.
            stack.enter_context(logging_redirect_tqdm([own, logging.getLogger("transformers")]))
            yield
    finally:
        hf_logging.set_verbosity(hf_verbosity)
        for logger, was in zip(loggers, previous):
            logger.setLevel(was)
        own.removeHandler(handler)


def interrupted_message(interrupt: KeyboardInterrupt) -> str:
    """The line printed after Ctrl-C: what a running cache fill kept, or the checkpoint training resumes from."""
    kept = getattr(interrupt, "kept", None)  # st_glot.training.cache.CacheFillInterrupted
    checkpoint = getattr(interrupt, "checkpoint", None)  # st_glot.training.fit.TrainingInterrupted
    if kept is not None:
        return f"interrupted; {kept:,} token states kept, run the same command to resume"
    if checkpoint is not None:
        return f"interrupted; run the same command to resume training from {checkpoint}"
    return "interrupted"


def main(argv: list[str] | None = None) -> int:
    """Run ``st-glot`` with ``argv`` (default: the process's); return the exit status."""
    command_line = list(sys.argv) if argv is None else ["st-glot", *argv]
    argv = sys.argv[1:] if argv is None else argv
    try:
        parser = build_parser()
        args, unknown = parser.parse_known_args(argv)
        args.command_line = command_line  # for the results' provenance
        if unknown:
            before = set(argv[: argv.index(args.command)])
            if before & set(unknown):
                parser.error(
                    f"unrecognized arguments: {' '.join(unknown)}; a command's options go after it: "
                    f"st-glot {args.command} {' '.join(unknown)} …"
                )
            # After the command: its own parser reports them, naming the command's --help.
            commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
            commands.choices[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
        with output_mode(args.verbose, args.quiet):
            return int(args.func(args) or 0)
    except KeyboardInterrupt as interrupt:
        print(interrupted_message(interrupt), file=sys.stderr)
        return INTERRUPTED_EXIT


if __name__ == "__main__":
    sys.exit(main())
