"""Atomic file writes: a reader sees the old file or the whole new one, never part of one."""

from __future__ import annotations

import os
from pathlib import Path


def atomic_write_bytes(path: str | os.PathLike, payload: bytes, hint: str = "") -> None:
    """Write ``payload`` to ``path`` through a temporary file, fsync and rename.

    Args:
        path: the file to (re)place.
        payload: its whole new content.
        hint: a sentence appended to the error message (what the user can do).

    Raises:
        OSError: the write failed (full disk, read-only folder); same ``errno``, the
            message names the file. Nothing is left under ``path`` or the temporary name.
    """
    path = Path(path)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as error:
        raise OSError(
            error.errno, " ".join(filter(None, [f"Could not write {path} ({error.strerror or error}).", hint]))
        ) from error
    finally:
        tmp.unlink(missing_ok=True)
