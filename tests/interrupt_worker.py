"""Subprocess side of ``test_interrupt.py``: ``st-glot`` with a slowed-down backbone.

Usage::

    python interrupt_worker.py DELAY_S ST_GLOT_ARGUMENTS...

Runs ``st_glot.cli.main.main(ST_GLOT_ARGUMENTS)`` and exits with its status. With
``DELAY_S`` > 0 every backbone batch first sleeps that long and the token-state
cache writes a shard after every batch, so a test can interrupt a fill between
shards; ``DELAY_S`` never changes a number.
"""

from __future__ import annotations

import sys
import time

import torch

import st_glot.training.cache as cache
import st_glot.training.fit as fit
from st_glot.cli.main import main

if __name__ == "__main__":
    torch.set_num_threads(1)
    delay = float(sys.argv[1])
    if delay:
        states = fit.backbone_states

        def slow_states(*args, **kwargs):
            time.sleep(delay)
            return states(*args, **kwargs)

        fit.backbone_states = slow_states
        cache.FLUSH_SECONDS = 0.0
    sys.exit(main(sys.argv[2:]))
