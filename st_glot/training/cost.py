"""What training costs: trainable parameters, steps, seconds per step and peak memory.

Peak memory is the most memory a block of work held above what was held when it began (the
loaded backbone, resident before and after, is in neither), in MiB:

- on CUDA, ``torch.cuda.max_memory_allocated`` over the block less ``memory_allocated`` at its start:
  the tensors torch allocated on the device (activations, gradients, optimizer state, cached batches);
- on the CPU, the process's resident set size (``/proc/self/statm``) sampled by a thread every
  :data:`RSS_SAMPLE_SECONDS`, the largest sample less the one at the start. Memory an earlier block
  freed but the allocator kept is reused without raising the resident size, so this is a lower
  bound of what the block allocated. Where ``/proc`` is missing (not Linux) nothing is measured (0).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import torch

#: How often :class:`PeakMemory` samples the resident set size on the CPU, seconds.
RSS_SAMPLE_SECONDS = 0.005
#: What :attr:`PeakMemory.measure` names: the counter behind each device's peak.
MEMORY_MEASURES: dict[str, str] = {
    "cuda": "peak CUDA memory allocated by torch above the start (torch.cuda.max_memory_allocated)",
    "cpu": "peak resident set size above the start, sampled every 5 ms (/proc/self/statm)",
}


@dataclass
class Cost:
    """What one :func:`~st_glot.training.fit.fit` call cost.

    Attributes:
        trainable_parameters: elements of every parameter that trained (``requires_grad`` in the
            training loop: the pooler and what follows it, a classification head, LoRA adapters).
        steps: optimizer steps taken in this call (epochs × batches per epoch, less any resumed from).
        step_seconds: seconds per training step: the training loop's wall time over ``steps`` (with
            ``eval_every_epoch``, the loop's evaluations are in it too).
        seconds: wall time of the whole run: the call (cache fill, training loop, final evaluation).
        cached: True when the training read the token-state cache (the backbone did not run in it).
        cache_fill_seconds: the part of ``seconds`` the backbone spent filling the cache.
        cache_fill_texts: texts that fill ran the backbone on (0: the cache held every text already).
        peak_memory_mib: peak memory of the training loop (module docstring), MiB.
        fill_peak_memory_mib: peak memory of the cache fill, MiB (0 without one).
        memory_measure: ``"cuda"`` or ``"cpu"``: which counter (:data:`MEMORY_MEASURES`) the peaks read.

    A comparison charges the cache fill to every method that reads the cache, not only to the one
    that ran it (:class:`~st_glot.evaluation.costs.CacheFills`): the ``cache_fill_*`` fields and
    ``seconds`` then hold the fill charged.
    """

    trainable_parameters: int = 0
    steps: int = 0
    step_seconds: float = 0.0
    seconds: float = 0.0
    cached: bool = False
    cache_fill_seconds: float = 0.0
    cache_fill_texts: int = 0
    peak_memory_mib: float = 0.0
    fill_peak_memory_mib: float = 0.0
    memory_measure: str = "cpu"


def trainable_parameters(*modules: torch.nn.Module) -> int:
    """Elements of the distinct parameters with ``requires_grad`` in ``modules`` (a parameter shared by two counts once)."""
    unique = {id(p): p for module in modules for p in module.parameters() if p.requires_grad}
    return sum(p.numel() for p in unique.values())


def _resident_bytes() -> int:
    """The process's resident set size in bytes (0 where ``/proc/self/statm`` does not exist)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


class PeakMemory:
    """Context manager: the peak memory of its block on ``device`` above the start, in MiB (:attr:`mib`).

    Args:
        device: where the block computes; CUDA reads torch's allocator statistics (and resets the
            device's peak counter), anything else samples the resident set size.
    """

    def __init__(self, device: torch.device | str) -> None:
        self.device = torch.device(device)
        self.measure = "cuda" if self.device.type == "cuda" else "cpu"
        self.mib = 0.0
        self._start = 0
        self._peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> PeakMemory:
        if self.measure == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._start = torch.cuda.memory_allocated(self.device)
        else:
            self._start = self._peak = _resident_bytes()
            self._thread = threading.Thread(target=self._sample, name="st-glot-peak-memory", daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(RSS_SAMPLE_SECONDS):
            self._peak = max(self._peak, _resident_bytes())

    def __exit__(self, *exc_info: object) -> None:
        if self.measure == "cuda":
            torch.cuda.synchronize(self.device)
            self._peak = torch.cuda.max_memory_allocated(self.device)
        else:
            self._stop.set()
            self._thread.join()
            self._peak = max(self._peak, _resident_bytes())
        self.mib = max(self._peak - self._start, 0) / 2**20
