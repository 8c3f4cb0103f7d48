"""The values each st-glot option accepts, in one module that imports no third-party library.

``st-glot --help`` lists them without loading torch. Each vocabulary of a module's options is
one ``Literal`` (the type of the parameter), and its tuple of values (checked at run time,
offered by the command line) is read off it with ``typing.get_args``.
"""

from __future__ import annotations

import os
from typing import Any, Literal, get_args

#: GNN layer types of :class:`~st_glot.nn.gnn.TokenGNN`.
GNNType = Literal["gat", "gcn", "gin", "gine"]
GNN_TYPES: tuple[str, ...] = get_args(GNNType)
#: Jumping-knowledge modes: how the layers' outputs combine.
JKMode = Literal["cat", "max", "mean"]
JK_MODES: tuple[str, ...] = get_args(JKMode)
#: Edge weights of the token graph.
EdgeWeight = Literal["binary", "cosine"]
EDGE_WEIGHTS: tuple[str, ...] = get_args(EdgeWeight)
#: Per-text normalisation of the token states before the graph's cosine.
GraphNorm = Literal["none", "center", "standardize"]
GRAPH_NORMS: tuple[str, ...] = get_args(GraphNorm)
#: Which token pairs the GNN's graph connects: the paper's cosine threshold, or an ablation that keeps
#: everything else (see :func:`~st_glot.nn.graph.graph_edges`): self-loops only, every pair, or a random
#: graph with the threshold graph's edge count.
GraphMode = Literal["threshold", "empty", "complete", "random"]
GRAPHS: tuple[str, ...] = get_args(GraphMode)
#: Normalisation of the states the GNN and readout see: per text, or per dimension over all training tokens.
InputNorm = Literal[GraphNorm, "running"]
INPUT_NORMS: tuple[str, ...] = get_args(InputNorm)
#: Untrained poolings :class:`~st_glot.GLOTPooling` can keep beside its readout (``anchor``).
Anchor = Literal["none", "last", "mean"]
ANCHORS: tuple[str, ...] = get_args(Anchor)
#: How :class:`~st_glot.GLOTPooling` computes: dense tensors, PyG edge lists, or chosen by memory.
Backend = Literal["auto", "dense", "pyg"]
BACKENDS: tuple[str, ...] = get_args(Backend)
#: Named configurations of the graph and of the states the GNN sees. ``"recommended"`` is the
#: constructor's default: cosine of the per-text centred states, states standardised with running
#: statistics into the GNN. ``"paper"`` is the research code's: cosine of the raw states, raw states
#: into the GNN.
PRESETS: dict[str, dict[str, Any]] = {
    "recommended": {"graph_norm": "center", "input_norm": "running", "tau": 0.3},
    "paper": {"graph_norm": "none", "input_norm": "none", "tau": 0.3},
}
#: Pooling methods :func:`~st_glot.models.factory.make_pooler` builds. ``"prompteol"`` is the last token
#: of the text in PromptEOL's template (:func:`~st_glot.models.factory.method_backbone` adds the template);
#: ``"latent"`` is NV-Embed's latent-attention pooling (:class:`~st_glot.nn.latent.LatentAttentionPooling`);
#: ``"lora"`` trains LoRA adapters on the backbone's attention projections under mean pooling (encoders)
#: or the last token (decoders) (:mod:`st_glot.models.lora`).
POOLINGS: tuple[str, ...] = ("glot", "adapool", "latent", "mean", "max", "cls", "prompteol", "lora")
#: The methods that keep the backbone frozen (all but ``"lora"``, which runs and trains the backbone in every
#: step and needs ``peft``): what ``st-glot compare`` and ``generalisation`` run by default.
FROZEN_POOLINGS: tuple[str, ...] = tuple(name for name in POOLINGS if name != "lora")
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
    "graph",
    "heads",
    "dropout",
    "scorer_hidden",
    "graph_norm",
    "input_norm",
    "anchor",
    "anchor_weight",
)
