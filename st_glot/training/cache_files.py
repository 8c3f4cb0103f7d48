"""The token-state cache's files: the shard format, its index, its checks and the writer lock.

A cache folder (see :class:`~st_glot.training.cache.TokenStateCache`) holds

- ``shard-00000.bin``: the valid-token states of a run of texts, concatenated,
  ``(sum of lengths, d)`` in the cache dtype, raw little-endian;
- ``shard-00000.json``: the shard's index: one SHA-256 per text (:func:`text_hash`),
  its token count, the byte size and a BLAKE2 checksum of the ``.bin`` file;
- ``.lock``: the file :func:`writer_lock` locks.

A shard counts only once its index exists, and the index is written (atomically,
by rename) after its data, so an interrupted write leaves at worst a temporary
file or an unindexed ``.bin`` that :func:`remove_leftovers` deletes.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from st_glot.utils.choices import CACHE_DTYPE_NAMES
from st_glot.utils.io import atomic_write_bytes

#: Version of the on-disk layout; part of every cache key.
CACHE_FORMAT = 1
#: Each storage dtype (:data:`~st_glot.utils.choices.CACHE_DTYPE_NAMES`) as torch computes and numpy stores it.
CACHE_DTYPES: dict[str, tuple[torch.dtype, np.dtype]] = dict(
    zip(
        CACHE_DTYPE_NAMES,
        [
            (torch.float16, np.dtype("<f2")),
            (torch.bfloat16, np.dtype("<u2")),  # numpy has no bf16: stored as its raw 16 bits
            (torch.float32, np.dtype("<f4")),
        ],
        strict=True,
    )
)
#: What to do when a shard cannot be written.
WRITE_HINT = "Free disk space or pass a writable cache_dir; finished shards are kept and the next run resumes."


def text_hash(text: str) -> str:
    """SHA-256 of a text, the cache's key for it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class Shard:
    """One shard file opened for reading: its index path, and its data as a memory map."""

    path: Path
    hashes: list[str]
    lengths: np.ndarray  # (n,) int64 tokens per text
    offsets: np.ndarray  # (n,) int64 first token of each text
    data: np.memmap  # (total tokens, d)


def decode_states(block: np.ndarray, dtype: str) -> Tensor:
    """Stored rows ``(n, d)`` of a cache of storage ``dtype`` as an fp32 tensor ``(n, d)``."""
    tensor = torch.from_numpy(np.ascontiguousarray(block))
    if dtype == "bfloat16":
        tensor = tensor.view(torch.int16).view(torch.bfloat16)
    return tensor.to(torch.float32)


def write_shard(directory: Path, texts: list[str], states: Tensor, lengths: Tensor, dtype: str) -> tuple[Path, dict]:
    """Write ``states`` ``(sum of lengths, d)`` of ``texts`` as the next free shard; return its index path and index.

    Call under :func:`writer_lock`: the shard number is the next free one among all processes' shards.
    ``states`` are already in the torch dtype of ``dtype`` (:data:`CACHE_DTYPES`).
    """
    number = max((int(p.stem.split("-")[1]) for p in directory.glob("shard-*.json")), default=-1) + 1
    base = directory / f"shard-{number:05d}"
    if dtype == "bfloat16":
        states = states.view(torch.int16)
    payload = states.numpy().astype(CACHE_DTYPES[dtype][1], copy=False).tobytes()
    atomic_write_bytes(base.with_suffix(".bin"), payload, WRITE_HINT)
    index = {
        "hashes": [text_hash(t) for t in texts],
        "lengths": lengths.tolist(),
        "bytes": len(payload),
        "checksum": hashlib.blake2b(payload, digest_size=16).hexdigest(),
    }
    atomic_write_bytes(base.with_suffix(".json"), json.dumps(index).encode(), WRITE_HINT)
    return base.with_suffix(".json"), index


def remove_leftovers(directory: Path) -> None:
    """Delete what an interrupted shard write left (call under :func:`writer_lock`); such a shard never counted."""
    # key.json is written outside the lock by whichever process opens the folder first: its temporary
    # file is not ours to remove.
    for leftover in directory.glob("shard-*.tmp-*"):
        leftover.unlink(missing_ok=True)
    for data_path in directory.glob("shard-*.bin"):
        if not data_path.with_suffix(".json").exists():
            data_path.unlink()  # its index was never written (a crash or a full disk): it never counted


def shard_problem(data_path: Path, index: dict, dim: int, dtype: str) -> str | None:
    """Why the data file does not match its index (size for width ``dim`` and ``dtype``, checksum), or ``None``."""
    itemsize = CACHE_DTYPES[dtype][1].itemsize
    expected = sum(index["lengths"]) * dim * itemsize
    if len(index["hashes"]) != len(index["lengths"]) or index["bytes"] != expected:
        return "index does not match the cache's width or dtype"
    if not data_path.exists() or data_path.stat().st_size != expected:
        return f"data file has {data_path.stat().st_size if data_path.exists() else 0} bytes, expected {expected}"
    digest = hashlib.blake2b(digest_size=16)
    with open(data_path, "rb") as f:
        for block in iter(lambda: f.read(1 << 24), b""):
            digest.update(block)
    if digest.hexdigest() != index["checksum"]:
        return "checksum mismatch"
    return None


def open_shard(index_path: Path, index: dict, dim: int, dtype: str) -> Shard:
    """The shard of ``index_path`` with its data memory-mapped read-only as ``(total tokens, dim)``."""
    lengths = np.asarray(index["lengths"], dtype=np.int64)
    total = int(lengths.sum())
    storage = CACHE_DTYPES[dtype][1]
    data = (
        np.memmap(index_path.with_suffix(".bin"), dtype=storage, mode="r", shape=(total, dim))
        if total
        else np.zeros((0, dim), storage)
    )
    offsets = np.cumsum(lengths) - lengths
    return Shard(path=index_path, hashes=index["hashes"], lengths=lengths, offsets=offsets, data=data)


@contextmanager
def writer_lock(directory: Path) -> Iterator[None]:
    """Hold the exclusive lock on ``directory/.lock`` (blocking until other writers release it)."""
    with open(directory / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
