"""This process's place in a torch.distributed group."""

from __future__ import annotations


def rank_and_world_size() -> tuple[int, int]:
    """``(rank, world size)`` of an initialised torch.distributed group, else ``(0, 1)``."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1
