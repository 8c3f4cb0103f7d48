"""The token-state cache: a frozen backbone runs once per distinct text.

GLOT trains only the pooler, so the backbone's token states are a pure function
of (backbone, tokenizer, max length, prompt, text). This module stores them on
disk, **without padding**, in fp16 by default, as memory-mappable shard files
(their format: :mod:`~st_glot.training.cache_files`).

An interrupted precompute (Ctrl-C, ``kill -9``) loses at most the shard it was
writing: the next run removes what that write left, keeps the finished shards and
resumes with the texts still missing. A fill writes a shard every
``shard_size`` texts and at least every :data:`FLUSH_SECONDS`, and on Ctrl-C it writes
the batches it finished before raising :class:`CacheFillInterrupted`, so an
interrupted fill keeps nearly all its work. A shard whose data does
not match its index (truncated, altered) is reported and dropped, and its texts
are computed again. A lock file serialises concurrent writers.

The cache folder name is a hash of everything that changes the states (see
:func:`backbone_fingerprint`), so a different backbone, tokenizer, max length,
dtype or prompt never reads another's states.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from st_glot.hub.identity import backbone_fingerprint
from st_glot.training.cache_files import (
    CACHE_DTYPES,
    CACHE_FORMAT,
    WRITE_HINT,
    Shard,
    decode_states,
    open_shard,
    remove_leftovers,
    shard_problem,
    text_hash,
    write_shard,
    writer_lock,
)
from st_glot.utils.checks import check_choice
from st_glot.utils.choices import DEFAULT_CACHE_DIR
from st_glot.utils.distributed import rank_and_world_size
from st_glot.utils.io import atomic_write_bytes

logger = logging.getLogger(__name__)

#: A fill writes what it computed at least this often (seconds), whatever ``shard_size``, so that an
#: interrupted fill keeps most of its work.
FLUSH_SECONDS = 30.0


class CacheFillInterrupted(KeyboardInterrupt):
    """Ctrl-C during :meth:`TokenStateCache.add`. Every text finished before it was written
    (the unfinished batch is dropped), so running the same fill again computes only the rest.

    Attributes:
        kept: texts of this fill whose states were stored.
        directory: the cache folder.
    """

    def __init__(self, kept: int, directory: Path) -> None:
        super().__init__(f"{kept:,} token states kept in {directory}")
        self.kept = kept
        self.directory = directory


@dataclass(frozen=True)
class _FillOptions:
    """How :meth:`TokenStateCache.add` computes: the backbone call, its batch, the shard size, the bar."""

    encode_fn: Callable[[list[str]], tuple[Tensor, Tensor]]
    batch_size: int
    shard_size: int
    show_progress_bar: bool


class TokenStateCache:
    """Token states of distinct texts, stored unpadded on disk and read by memory map.

    Args:
        directory: the folder of this cache (one folder per fingerprint; see :meth:`for_backbone`).
        dim: width ``d`` of the token states.
        dtype: storage dtype, one of ``"float16"``, ``"bfloat16"``, ``"float32"``.

    Rows are numbered in the order texts were added; :meth:`rows` maps texts to
    rows and :meth:`gather` reads a batch of rows back as padded tensors.
    """

    def __init__(self, directory: str | os.PathLike, dim: int, dtype: str = "float16") -> None:
        check_choice("cache_dtype", dtype, CACHE_DTYPES)
        self.directory = Path(directory).expanduser()
        self.dim = dim
        self.dtype = dtype
        self.directory.mkdir(parents=True, exist_ok=True)
        self._shards: list[Shard] = []
        self._row_of: dict[str, int] = {}
        self._load_shards()

    @classmethod
    def for_backbone(
        cls,
        backbone: torch.nn.Module,
        cache_dir: str | os.PathLike = DEFAULT_CACHE_DIR,
        dtype: str = "float16",
        prompt: str | None = None,
    ) -> TokenStateCache:
        """Open (or create) the cache folder for this backbone's fingerprint under ``cache_dir``."""
        check_choice("cache_dtype", dtype, CACHE_DTYPES)
        key = {"format": CACHE_FORMAT, **backbone_fingerprint(backbone, dtype=dtype, prompt=prompt)}
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
        directory = Path(cache_dir).expanduser() / digest
        directory.mkdir(parents=True, exist_ok=True)
        meta = directory / "key.json"
        if meta.exists() and json.loads(meta.read_text()) != key:
            raise RuntimeError(f"Cache key collision in {directory}: remove the folder and run again.")
        if not meta.exists():
            atomic_write_bytes(meta, json.dumps(key, indent=2).encode(), WRITE_HINT)
        return cls(directory, dim=backbone.get_embedding_dimension(), dtype=dtype)

    # ---- reading ----

    def __len__(self) -> int:
        return len(self._row_of)

    def __contains__(self, text: str) -> bool:
        return text_hash(text) in self._row_of

    @property
    def lengths(self) -> np.ndarray:
        """``(rows,)`` token count of every cached text."""
        if not self._shards:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([shard.lengths for shard in self._shards])

    def rows(self, texts: Sequence[str]) -> Tensor:
        """Cache rows of ``texts`` as a ``(B,)`` long tensor.

        Raises:
            KeyError: a text was never precomputed into this cache.
        """
        try:
            return torch.tensor([self._row_of[text_hash(t)] for t in texts], dtype=torch.long)
        except KeyError:
            missing = [t for t in texts if t not in self][:3]
            raise KeyError(
                f"{len(missing)}+ text(s) are not in the token-state cache {self.directory}, e.g. {missing!r}. "
                "Precompute every text you train or evaluate on (TokenStateCache.add)."
            ) from None

    def gather(self, rows: Tensor) -> tuple[Tensor, Tensor]:
        """Read rows back as padded fp32 states ``(B, L, d)`` and mask ``(B, L)`` (right padding)."""
        rows_np = rows.cpu().numpy()
        lengths = torch.from_numpy(self.lengths[rows_np])  # (B,)
        width = int(lengths.max()) if len(rows_np) else 0
        states = torch.zeros(len(rows_np), width, self.dim, dtype=torch.float32)  # (B, L, d)
        mask = torch.arange(width).unsqueeze(0) < lengths.unsqueeze(1)  # (B, L)
        shard_of, local_row = self._locate(rows_np)
        for shard_index in np.unique(shard_of):
            picked = shard_of == shard_index  # (B,) bool
            shard = self._shards[shard_index]
            starts = shard.offsets[local_row[picked]]  # (b,)
            counts = shard.lengths[local_row[picked]]  # (b,)
            # One fancy-index read per shard: token positions of all picked texts, concatenated.
            token_pos = np.repeat(starts - (np.cumsum(counts) - counts), counts) + np.arange(counts.sum())
            block = decode_states(shard.data[token_pos], self.dtype)  # (sum counts, d)
            states[mask & torch.from_numpy(picked).unsqueeze(1)] = block
        return states, mask

    def _locate(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sizes = np.array([len(shard.hashes) for shard in self._shards])
        bounds = np.cumsum(sizes)
        shard_of = np.searchsorted(bounds, rows, side="right")
        local = rows - np.concatenate([[0], bounds])[shard_of]
        return shard_of, local

    # ---- writing ----

    def missing(self, texts: Iterable[str]) -> list[str]:
        """Distinct texts not yet in the cache, in first-seen order."""
        seen: set[str] = set()
        out = []
        for position, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(
                    f"Text {position} is {text!r} of type {type(text).__name__}; the token-state cache takes str only. "
                    "Drop or fill missing texts first (e.g. dataset.filter(lambda row: row['text'] is not None))."
                )
            key = text_hash(text)
            if key not in self._row_of and key not in seen:
                seen.add(key)
                out.append(text)
        return out

    def add(
        self,
        texts: Iterable[str],
        encode_fn,
        batch_size: int = 32,
        shard_size: int = 2048,
        show_progress_bar: bool = True,
    ) -> int:
        """Compute and store the states of every text not yet cached.

        Args:
            texts: texts to make available (duplicates and cached ones are skipped).
            encode_fn: ``encode_fn(list_of_texts) -> (states (B, L, d), mask (B, L))``,
                typically :func:`st_glot.training.frozen.backbone_states`.
            batch_size: texts per backbone call.
            shard_size: most texts per shard file (the unit of resumption); a shard is also
                written every :data:`FLUSH_SECONDS` and on Ctrl-C.
            show_progress_bar: show a tqdm bar over the texts.

        Returns:
            The number of texts computed.

        Raises:
            CacheFillInterrupted: on Ctrl-C, after writing the texts finished so far.
        """
        rank, world = rank_and_world_size()
        fill = _FillOptions(encode_fn, batch_size, shard_size, show_progress_bar and rank == 0)
        if world > 1:
            return self._add_sharded(texts, fill, rank, world)
        texts = list(texts)
        if not self.missing(texts):  # all in the shards already read: no need to wait for another process's fill
            return 0
        with self._lock():
            self._load_shards(clean=True)  # another process may have added shards meanwhile
            todo = self._todo(texts)
            self._compute(todo, fill, lock=False)
            return len(todo)

    def _add_sharded(self, texts: Iterable[str], fill: _FillOptions, rank: int, world: int) -> int:
        """torch.distributed: rank ``r`` of ``W`` computes every ``W``-th missing text, then all ranks reload."""
        import torch.distributed as dist

        if rank == 0:
            with self._lock():
                self._load_shards(clean=True)
        dist.barrier()
        self._load_shards()
        todo = self._todo(texts)  # the same list, in the same order, on every rank
        self._compute(todo[rank::world], fill, lock=True)
        dist.barrier()
        self._load_shards()
        return len(todo)

    def _todo(self, texts: Iterable[str]) -> list[str]:
        # Longest first keeps padding low and fails fast on memory; ties by text for a fixed order.
        return sorted(self.missing(texts), key=lambda t: (-len(t), t))

    def _compute(self, todo: list[str], fill: _FillOptions, lock: bool) -> None:
        """Run ``fill`` over ``todo`` in batches, writing a shard every ``fill.shard_size`` texts,
        every :data:`FLUSH_SECONDS`, at the end, and on Ctrl-C (then raising :class:`CacheFillInterrupted`)."""
        pending: list[tuple[list[str], Tensor, Tensor]] = []  # (texts, states (n, d), lengths (b,)) per batch
        kept, start, last_write = 0, 0, time.monotonic()

        def write() -> int:
            nonlocal last_write
            if not pending:
                return 0
            texts = [t for batch, _, _ in pending for t in batch]
            states, lengths = torch.cat([s for _, s, _ in pending]), torch.cat([n for _, _, n in pending])
            pending.clear()  # before writing: a second Ctrl-C mid-write loses these texts, never doubles them
            with self._lock() if lock else nullcontext():
                self._write_shard(texts, states, lengths)
            last_write = time.monotonic()
            return len(texts)

        with tqdm(total=len(todo), desc="Token states", unit="text", disable=not fill.show_progress_bar) as bar:
            try:
                while start < len(todo):
                    room = fill.shard_size - sum(len(b) for b, _, _ in pending)  # a batch never spans two shards
                    batch = todo[start : start + min(fill.batch_size, room)]
                    states, mask = fill.encode_fn(batch)  # (B, L, d), (B, L)
                    mask = mask.bool()
                    pending.append(
                        (batch, states[mask].detach().to(CACHE_DTYPES[self.dtype][0]).cpu(), mask.sum(1).cpu())
                    )
                    start += len(batch)
                    bar.update(len(batch))
                    if len(batch) == room or time.monotonic() - last_write >= FLUSH_SECONDS:
                        kept += write()
                kept += write()
            except KeyboardInterrupt:
                kept += write()
                raise CacheFillInterrupted(kept, self.directory) from None

    def _write_shard(self, texts: list[str], states: Tensor, lengths: Tensor) -> None:
        if states.size(-1) != self.dim:
            raise ValueError(f"Token states have width {states.size(-1)}, the cache expects {self.dim}.")
        self._attach(*write_shard(self.directory, texts, states, lengths, self.dtype))

    # ---- opening ----

    def _load_shards(self, clean: bool = False) -> None:
        """(Re)read every complete shard; with ``clean`` (only under the writer lock) remove
        temporary files left by an interrupted writer."""
        self._shards, self._row_of = [], {}
        if clean:
            remove_leftovers(self.directory)
        for index_path in sorted(self.directory.glob("shard-*.json")):
            try:
                index = json.loads(index_path.read_text())
                problem = shard_problem(index_path.with_suffix(".bin"), index, self.dim, self.dtype)
            except (OSError, ValueError, KeyError) as error:
                problem = f"unreadable index ({error})"
            if problem:
                logger.warning(
                    "Token-state cache: dropping %s (%s); its texts will be recomputed.", index_path.stem, problem
                )
                index_path.unlink(missing_ok=True)
                index_path.with_suffix(".bin").unlink(missing_ok=True)
                continue
            self._attach(index_path, index)

    def _attach(self, index_path: Path, index: dict) -> None:
        """Open the shard of ``index_path`` and number its new texts after the rows already known."""
        shard = open_shard(index_path, index, self.dim, self.dtype)
        first_row = len(self._row_of)
        for offset, key in enumerate(shard.hashes):
            self._row_of.setdefault(key, first_row + offset)
        self._shards.append(shard)

    @contextmanager
    def _lock(self) -> Iterator[None]:
        """The folder's writer lock (:func:`~st_glot.training.cache_files.writer_lock`)."""
        with writer_lock(self.directory):
            yield
