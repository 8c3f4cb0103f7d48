"""Switching off the progress bars of transformers and the Hugging Face Hub for a block of code.

transformers draws its own bars while loading weights ("Loading weights") and saving
models ("Writing model shards"). st-glot shows one bar per phase of its own work, so
it turns those off where it loads or saves, and restores the previous setting after.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def library_bars_off() -> Iterator[None]:
    """No transformers or huggingface_hub progress bars inside the block; the previous
    setting of each comes back afterwards."""
    from huggingface_hub import utils as hub_utils
    from transformers.utils import logging as hf_logging

    transformers_on = hf_logging.is_progress_bar_enabled()
    hub_on = not hub_utils.are_progress_bars_disabled()
    hf_logging.disable_progress_bar()  # also switches off the Hub's
    try:
        yield
    finally:
        if transformers_on:
            hf_logging.enable_progress_bar()
        if hub_on:
            hub_utils.enable_progress_bars()
        else:
            hub_utils.disable_progress_bars()
