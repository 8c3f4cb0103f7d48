"""Atomic writes: a reader sees the old file (or folder) or the whole new one, never part of one."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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


def check_output_dir(path: str | os.PathLike) -> Path:
    """Check that ``path`` can become an output folder, before any work is done; return it as a ``Path``.

    Raises:
        NotADirectoryError: ``path`` (or a folder above it) is an existing file.
        ValueError: ``path`` is the current folder, one above it, or the home folder
            (replacing it would delete what the user is working in).
        PermissionError: the folder that would hold ``path`` cannot be written.
    """
    path = Path(path).expanduser()
    resolved = path.resolve()
    for place in (resolved, *resolved.parents):
        if place.is_file():
            raise NotADirectoryError(f"Output folder {str(path)!r}: {str(place)!r} is a file, not a folder.")
    if resolved in (Path.cwd().resolve(), *Path.cwd().resolve().parents, Path.home().resolve()):
        raise ValueError(
            f"Output folder {str(path)!r} is the current folder, a folder above it, or the home folder; "
            "its content would be replaced. Name a new folder."
        )
    parent = next(place for place in resolved.parents if place.exists())
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(f"Output folder {str(path)!r}: cannot write into {str(parent)!r}.")
    return path


@contextmanager
def atomic_output_dir(path: str | os.PathLike, keep_existing: bool = False) -> Iterator[Path]:
    """Write a whole output folder, or nothing: yield a temporary folder that replaces ``path`` on success.

    The temporary folder is a hidden sibling of ``path`` (same file system, so the
    final move is a rename). When the block ends normally, ``path`` (if it exists)
    is replaced by the new folder; when it raises (an error, Ctrl-C), the temporary
    folder is removed and ``path`` is left as it was. :func:`check_output_dir` runs
    first, so a bad ``path`` fails on entry, before any work. Under ``torchrun`` or
    ``accelerate launch`` only rank 0 (environment ``RANK``) writes ``path``; the
    other processes get a scratch folder that is deleted afterwards.

    Args:
        path: the output folder.
        keep_existing: start from a copy of the existing folder's content (for folders
            that accumulate results, such as a results cache) instead of an empty one.

    Example::

        with atomic_output_dir("out/") as folder:
            model.save(str(folder))
    """
    path = check_output_dir(path)
    if os.environ.get("RANK", "0") != "0":  # a secondary process of torchrun / accelerate launch
        with tempfile.TemporaryDirectory(prefix="st-glot-rank-") as scratch:
            yield Path(scratch)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        if keep_existing and path.is_dir():
            shutil.copytree(path, tmp, symlinks=True)
        else:
            tmp.mkdir()
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = path.with_name(f".{path.name}.old-{os.getpid()}")
    if path.exists():
        os.replace(path, old)
    try:
        os.replace(tmp, path)
    except OSError:
        if old.exists():
            os.replace(old, path)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
