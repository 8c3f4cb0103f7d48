"""The values each st-glot option accepts, in one module that imports no third-party library.

``st-glot --help`` lists them without loading torch; the modules that implement
each option import its values from here (and keep them under their old names,
e.g. ``st_glot.nn.gnn.GNN_TYPES``).
"""

from __future__ import annotations

import os
from typing import Any

#: GNN layer types of :class:`~st_glot.nn.gnn.TokenGNN`.
GNN_TYPES: tuple[str, ...] = ("gat", "gcn", "gin", "gine")
#: Jumping-knowledge modes: how the layers' outputs combine.
JK_MODES: tuple[str, ...] = ("cat", "max", "mean")
#: Edge weights of the token graph.
EDGE_WEIGHTS: tuple[str, ...] = ("binary", "cosine")
#: Per-text normalisation of the token states before the graph's cosine.
GRAPH_NORMS: tuple[str, ...] = ("none", "center", "standardize")
#: Normalisation of the states the GNN and readout see: per text, or per dimension over all training tokens.
INPUT_NORMS: tuple[str, ...] = (*GRAPH_NORMS, "running")
#: Untrained poolings :class:`~st_glot.GLOTPooling` can keep beside its readout (``anchor``).
ANCHORS: tuple[str, ...] = ("none", "last", "mean")
#: Named configurations of the graph and of the states the GNN sees. ``"recommended"`` is the
#: constructor's default: the setting that scored best on the stress test on an encoder
#: (all-MiniLM-L6-v2) and a decoder (SmolLM2-135M) alike (benchmarks/README.md). ``"paper"`` is the
#: research code's: cosine of the raw states, raw states into the GNN.
PRESETS: dict[str, dict[str, Any]] = {
    "recommended": {"graph_norm": "center", "input_norm": "running", "tau": 0.3},
    "paper": {"graph_norm": "none", "input_norm": "none", "tau": 0.3},
}
#: Pooling methods :func:`~st_glot.models.factory.make_pooler` builds. ``"prompteol"`` is the last token
#: of the text in PromptEOL's template (:func:`~st_glot.models.factory.method_backbone` adds the template).
POOLINGS: tuple[str, ...] = ("glot", "adapool", "mean", "max", "cls", "prompteol")
#: The poolers the paper compares, run by default by ``st-glot stress-test`` and ``st-glot glue``
#: (``prompteol``, a decoder baseline, is added with ``--methods`` / ``--pooling``).
PAPER_POOLINGS: tuple[str, ...] = ("glot", "adapool", "mean", "max", "cls")
#: Losses of :func:`~st_glot.training.fit.fit`.
LOSSES: tuple[str, ...] = ("cosent", "cosine", "mnrl", "classification")
#: Storage dtypes of the token-state cache.
CACHE_DTYPE_NAMES: tuple[str, ...] = ("float16", "bfloat16", "float32")
#: Tokens per text that st-glot's backbones keep, in training and in encoding alike: the default of
#: ``load_backbone`` and of every command's ``--max-seq-length``. It is the paper's training length for GLUE
#: and STS-B (Mantri et al., ICLR 2026); a longer one costs every batch padded to it, as the token graph
#: grows with the square of the length. Encoding at the length a model was trained at keeps the token
#: states the pooler sees in training and in use alike (the research code trains at 128 but evaluates at 512).
DEFAULT_MAX_SEQ_LENGTH = 128
#: Root folder of the token-state cache.
DEFAULT_CACHE_DIR = os.path.join("~", ".cache", "st_glot")

#: GLOTPooling's options besides ``embedding_dimension`` and ``backend``; each has a command-line flag
#: of the same name (``--hidden-dim`` → ``hidden_dim``).
GLOT_OPTIONS: tuple[str, ...] = (
    "hidden_dim",
    "num_layers",
    "gnn",
    "jk",
    "tau",
    "edge_weight",
    "heads",
    "dropout",
    "scorer_hidden",
    "graph_norm",
    "input_norm",
    "anchor",
    "anchor_weight",
)
