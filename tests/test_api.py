"""The public API: every name from ``import st_glot``, without loading torch, and ``make_model`` by method name."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from sentence_transformers.base.modules import Normalize
from sentence_transformers.sentence_transformer.modules import Pooling

import st_glot
from st_glot import AdaPool, GLOTPooling, TemplatedTransformer, make_model, make_pooler
from st_glot.training.fit import pooler_name
from st_glot.utils.templates import PROMPTEOL_TEMPLATE

INIT = Path(st_glot.__file__)


def test_import_loads_no_torch():
    """In a fresh interpreter: ``import st_glot`` imports neither torch nor any st_glot submodule."""
    code = (
        "import sys, st_glot; "
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith(('torch.', 'st_glot.'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("name", sorted(set(st_glot.__all__) - {"__version__"}))
def test_every_public_name_is_the_object_of_its_module(name):
    value = getattr(st_glot, name)
    assert value is getattr(importlib.import_module(st_glot._EXPORTS[name]), name)
    assert value.__name__ == name


def test_star_import_gives_all_names():
    namespace: dict = {}
    exec("from st_glot import *", namespace)
    assert set(st_glot.__all__) <= set(namespace)
    assert sorted(dir(st_glot)) == sorted(st_glot.__all__)


def test_type_checking_imports_name_the_same_modules():
    """The ``if TYPE_CHECKING:`` block (what IDEs read) imports exactly the names and modules of ``_EXPORTS``."""
    tree = ast.parse(INIT.read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING")
    imported = {alias.asname or alias.name: node.module for node in block.body for alias in node.names}
    assert imported == st_glot._EXPORTS


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="module 'st_glot' has no attribute 'GlotPooling'"):
        st_glot.GlotPooling  # noqa: B018


def test_explain_is_the_function_and_explanations_the_package():
    importlib.import_module("st_glot.explanations")
    assert callable(st_glot.explain) and st_glot.explain.__module__ == "st_glot.explanations.explanation"
    assert st_glot.explanations.__name__ == "st_glot.explanations"


def test_make_model_by_name_equals_the_pooler_built_by_hand(tiny_backbone):
    torch.manual_seed(3)
    by_name = make_model(tiny_backbone, "glot", hidden_dim=8, gnn="gcn", project=True, device="cpu")
    torch.manual_seed(3)
    pooler = make_pooler("glot", tiny_backbone, hidden_dim=8, gnn="gcn")
    by_hand = make_model(tiny_backbone, pooler, project=True, device="cpu")
    assert [type(m) for m in by_name] == [type(m) for m in by_hand]
    assert by_name[1].gnn == "gcn" and by_name[1].hidden_dim == 8
    assert isinstance(by_name[-1], Normalize)
    for mine, theirs in zip(list(by_name)[1:], list(by_hand)[1:]):
        assert mine.state_dict().keys() == theirs.state_dict().keys()
        assert all(torch.equal(mine.state_dict()[k], theirs.state_dict()[k]) for k in mine.state_dict())
    texts = ["the cat sat on the mat", "a quick brown fox"]
    assert torch.equal(by_name.encode(texts, convert_to_tensor=True), by_hand.encode(texts, convert_to_tensor=True))


def test_make_model_by_name_takes_the_method_backbone(tiny_llama_dir):
    backbone = st_glot.load_backbone(tiny_llama_dir)
    model = make_model(backbone, "prompteol", device="cpu")
    assert isinstance(model[0], TemplatedTransformer) and model[0].template == PROMPTEOL_TEMPLATE
    assert isinstance(model[1], Pooling) and model[1].pooling_mode == "lasttoken"
    assert make_model(backbone, "mean", device="cpu")[0] is backbone


def test_make_model_rejects_pooler_options_with_a_module(tiny_backbone):
    with pytest.raises(TypeError, match=r"options \['hidden_dim'\] with a pooling module \(AdaPool\)"):
        make_model(tiny_backbone, AdaPool(32), hidden_dim=8)
    with pytest.raises(TypeError, match=r"preset='paper'"):
        make_model(tiny_backbone, AdaPool(32), preset="paper")


@pytest.mark.parametrize(
    ("pooler", "name"),
    [
        (GLOTPooling(32, hidden_dim=8), "glot"),
        (AdaPool(32), "adapool"),
        (Pooling(32, pooling_mode="max"), "max"),
        (Pooling(32, pooling_mode="lasttoken"), "lasttoken"),
        (torch.nn.Identity(), "Identity"),
    ],
)
def test_pooler_name(pooler, name):
    assert pooler_name(pooler) == name
