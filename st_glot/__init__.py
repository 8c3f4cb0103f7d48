"""st-glot: GLOT token-graph pooling for sentence-transformers.

GLOT (Mantri et al., ICLR 2026) turns a frozen language model's token states
into a sentence vector by building a token similarity graph, refining the
tokens with a small GNN, and reading them out with learned attention weights.
"""

import importlib

__version__ = "0.2.0"

#: Where each public name lives. Imported on first use, so that ``import st_glot`` (and the
#: command line's ``--help``) loads no torch; loading a saved model imports only what it needs.
_EXPORTS: dict[str, str] = {
    "AdaPool": "st_glot.nn.adapool",
    "Explanation": "st_glot.explain.explanation",
    "GLOTPooling": "st_glot.nn.pooling",
    "default_backbone_path": "st_glot.models.backbones",
    "explain": "st_glot.explain.explanation",
    "fit": "st_glot.training.fit",
    "freeze_backbone": "st_glot.training.frozen",
    "unfreeze_backbone": "st_glot.training.frozen",
    "write_explanations": "st_glot.explain.write",
}

__all__ = [*_EXPORTS, "__version__"]

# ``st_glot.explain`` names the function, not the subpackage of the same name: import the (light)
# subpackage now, so that importing it later cannot rebind the name, and let __getattr__ answer.
importlib.import_module("st_glot.explain")
del explain  # noqa: F821 (bound by the import above)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = globals()[name] = getattr(importlib.import_module(_EXPORTS[name]), name)
        return value
    raise AttributeError(f"module 'st_glot' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
