"""A user's mistake ends a command with one line, not a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def user_errors(command: str) -> Iterator[None]:
    """Around a command's checks and loading: a ``ValueError`` or ``OSError`` ends it with one line.

    The line is ``st-glot COMMAND: <the error's message>`` on standard error, exit
    status 1 (``SystemExit``). Wrap only the steps that read the user's input (output
    folder, data files, backbone, options), so that a failure later still shows where
    it happened.
    """
    try:
        yield
    except (ValueError, OSError) as error:
        raise SystemExit(f"st-glot {command}: {error}") from error
