"""Length-bucketed batches for training on cached token states.

The dense GLOT path works on ``(B, L, L)`` tensors with ``L`` the longest text
of the batch, so a batch mixing a 10-token and a 128-token text is mostly
padding. This sampler shuffles, cuts the shuffled order into pools of
``bucket_batches`` batches, sorts each pool by length, slices it into batches
and shuffles the batches: batches hold texts of similar length while the
epoch's order stays random. It is seeded by ``seed + epoch``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from sentence_transformers.base.sampler import DefaultBatchSampler


class LengthBucketBatchSampler(DefaultBatchSampler):
    """A sentence-transformers batch sampler that groups rows of similar length.

    Args:
        dataset: the training dataset (only its length is used).
        batch_size: rows per batch.
        drop_last: drop the last incomplete batch.
        lengths: token length of each row (for pairs, the longest text of the row).
        bucket_batches: batches per sorted pool; larger means less padding, less randomness.
        valid_label_columns, generator, seed: as for :class:`DefaultBatchSampler`.
    """

    def __init__(
        self,
        dataset,
        batch_size: int,
        drop_last: bool,
        lengths: Sequence[int],
        bucket_batches: int = 16,
        valid_label_columns: list[str] | None = None,
        generator: torch.Generator | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(
            dataset,
            batch_size=batch_size,
            drop_last=drop_last,
            valid_label_columns=valid_label_columns,
            generator=generator,
            seed=seed,
        )
        if len(lengths) != len(dataset):
            raise ValueError(f"Got {len(lengths)} lengths for a dataset of {len(dataset)} rows.")
        self.lengths = torch.as_tensor(lengths, dtype=torch.long)
        self.bucket_batches = bucket_batches

    def __iter__(self) -> Iterator[list[int]]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(len(self.lengths), generator=generator)
        pool = self.batch_size * self.bucket_batches
        batches = []
        for start in range(0, len(order), pool):
            chunk = order[start : start + pool]
            chunk = chunk[torch.argsort(self.lengths[chunk], stable=True)]
            batches.extend(chunk[i : i + self.batch_size] for i in range(0, len(chunk), self.batch_size))
        if self.drop_last:
            batches = [b for b in batches if len(b) == self.batch_size]
        for i in torch.randperm(len(batches), generator=generator).tolist():
            yield batches[i].tolist()

    def __len__(self) -> int:
        full, rest = divmod(len(self.lengths), self.batch_size)
        return full if self.drop_last or not rest else full + 1
