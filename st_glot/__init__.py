"""st-glot: GLOT token-graph pooling for sentence-transformers.

GLOT (Mantri et al., ICLR 2026) turns a frozen language model's token states
into a sentence vector by building a token similarity graph, refining the
tokens with a small GNN, and reading them out with learned attention weights.
"""

from st_glot.explain.explanation import Explanation, explain
from st_glot.explain.write import write_explanations
from st_glot.models.backbones import default_backbone_path
from st_glot.nn.adapool import AdaPool
from st_glot.nn.pooling import GLOTPooling

__version__ = "0.1.0"

__all__ = [
    "AdaPool",
    "Explanation",
    "GLOTPooling",
    "default_backbone_path",
    "explain",
    "fit",
    "write_explanations",
    "__version__",
]


def __getattr__(name: str):
    # ``fit`` pulls in the trainer stack; load it on first use so that loading a saved model stays light.
    if name == "fit":
        from st_glot.training.fit import fit

        return fit
    raise AttributeError(f"module 'st_glot' has no attribute {name!r}")
