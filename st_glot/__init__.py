"""st-glot: GLOT token-graph pooling for sentence-transformers.

GLOT (Mantri et al., ICLR 2026) turns a frozen language model's token states
into a sentence vector by building a token similarity graph, refining the
tokens with a small GNN, and reading them out with learned attention weights.

Everything a user needs is importable from here (``from st_glot import GLOTPooling, load_backbone,
make_model, fit``). Each name is imported from its module on first use, so that ``import st_glot``
(and the command line's ``--help``) loads no torch, and loading a saved model imports only what it needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

#: The module each public name is imported from on first use; the block under TYPE_CHECKING below
#: names the same imports for type checkers and IDEs (tests/test_api.py checks they agree).
_EXPORTS: dict[str, str] = {
    # the pooling modules
    "GLOTPooling": "st_glot.nn.pooling",
    "LatentAttentionPooling": "st_glot.nn.latent",
    "AdaPool": "st_glot.nn.adapool",
    # backbones and whole models
    "load_backbone": "st_glot.models.backbones",
    "default_backbone_path": "st_glot.models.backbones",
    "TemplatedTransformer": "st_glot.models.templated",
    "make_pooler": "st_glot.models.factory",
    "make_model": "st_glot.models.factory",
    # training on a frozen backbone
    "fit": "st_glot.training.fit",
    "FitResult": "st_glot.training.fit",
    "cached_encoder": "st_glot.training.fit",
    "load_head": "st_glot.training.heads",
    "freeze_backbone": "st_glot.training.frozen",
    "unfreeze_backbone": "st_glot.training.frozen",
    # data and evaluation
    "load_task": "st_glot.evaluation.tasks",
    "sts_task": "st_glot.evaluation.mteb_tasks",
    "sts_task_from_file": "st_glot.evaluation.mteb_tasks",
    "classification_task": "st_glot.evaluation.mteb_tasks",
    "classification_task_from_folder": "st_glot.evaluation.mteb_tasks",
    "mteb_results_table": "st_glot.evaluation.mteb_tasks",
    # explanations
    "explain": "st_glot.explanations.explanation",
    "Explanation": "st_glot.explanations.explanation",
    "write_explanations": "st_glot.explanations.write",
    # the model card
    "attach_glot_card": "st_glot.hub.model_card",
}

if TYPE_CHECKING:  # ``import X as X``: re-exported, for type checkers and IDEs
    from st_glot.evaluation.mteb_tasks import classification_task as classification_task
    from st_glot.evaluation.mteb_tasks import classification_task_from_folder as classification_task_from_folder
    from st_glot.evaluation.mteb_tasks import mteb_results_table as mteb_results_table
    from st_glot.evaluation.mteb_tasks import sts_task as sts_task
    from st_glot.evaluation.mteb_tasks import sts_task_from_file as sts_task_from_file
    from st_glot.evaluation.tasks import load_task as load_task
    from st_glot.explanations.explanation import Explanation as Explanation
    from st_glot.explanations.explanation import explain as explain
    from st_glot.explanations.write import write_explanations as write_explanations
    from st_glot.hub.model_card import attach_glot_card as attach_glot_card
    from st_glot.models.backbones import default_backbone_path as default_backbone_path
    from st_glot.models.backbones import load_backbone as load_backbone
    from st_glot.models.factory import make_model as make_model
    from st_glot.models.factory import make_pooler as make_pooler
    from st_glot.models.templated import TemplatedTransformer as TemplatedTransformer
    from st_glot.nn.adapool import AdaPool as AdaPool
    from st_glot.nn.latent import LatentAttentionPooling as LatentAttentionPooling
    from st_glot.nn.pooling import GLOTPooling as GLOTPooling
    from st_glot.training.fit import FitResult as FitResult
    from st_glot.training.fit import cached_encoder as cached_encoder
    from st_glot.training.fit import fit as fit
    from st_glot.training.frozen import freeze_backbone as freeze_backbone
    from st_glot.training.frozen import unfreeze_backbone as unfreeze_backbone
    from st_glot.training.heads import load_head as load_head

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = globals()[name] = getattr(importlib.import_module(_EXPORTS[name]), name)
        return value
    raise AttributeError(f"module 'st_glot' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
