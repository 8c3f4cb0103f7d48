"""The package layout: each folder imports only from the folders below it in the data flow."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import build_model
from sentence_transformers import SentenceTransformer

import st_glot
from st_glot import AdaPool, GLOTPooling

PACKAGE = Path(st_glot.__file__).parent
#: Lowest first: a file may import from its own folder and from folders before it.
LAYERS = ("utils", "hub", "nn", "models", "training", "evaluation", "explanations", "cli")
#: Top-level modules: the public face (``__init__``, ``__main__``) and the class paths of folders saved by 0.1.
TOP_LEVEL = {"__init__.py", "__main__.py", "pooling.py", "adapool.py"}


def _imported_layers(path: Path) -> set[str]:
    """The st_glot folders a file imports from, counting imports inside functions too."""
    layers = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        for name in names:
            parts = name.split(".")
            if parts[0] == "st_glot" and len(parts) > 1 and parts[1] in LAYERS:
                layers.add(parts[1])
    return layers


def test_every_module_lives_in_a_layer_folder():
    assert {p.name for p in PACKAGE.glob("*.py")} == TOP_LEVEL
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"} == set(LAYERS)


@pytest.mark.parametrize("layer", LAYERS)
def test_no_file_imports_from_a_layer_above_it(layer):
    allowed = set(LAYERS[: LAYERS.index(layer) + 1])
    wrong = {
        str(path.relative_to(PACKAGE)): sorted(_imported_layers(path) - allowed)
        for path in (PACKAGE / layer).rglob("*.py")
        if _imported_layers(path) - allowed
    }
    assert not wrong, f"imports from layers above {layer!r}: {wrong}"


def test_the_checker_sees_upward_imports(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from st_glot.cli.main import main\n    import st_glot.training.fit\n")
    assert _imported_layers(bad) == {"cli", "training"}


@pytest.mark.parametrize(
    ("pooler", "old_path"), [("glot", "st_glot.pooling.GLOTPooling"), ("ada", "st_glot.adapool.AdaPool")]
)
def test_folder_saved_before_the_move_loads(tiny_backbone, tmp_path, pooler, old_path):
    d = tiny_backbone.get_embedding_dimension()
    model = build_model(tiny_backbone, GLOTPooling(d, hidden_dim=8) if pooler == "glot" else AdaPool(d))
    model.save(str(tmp_path))
    modules = json.loads((tmp_path / "modules.json").read_text())
    modules[1]["type"] = old_path  # the class path st-glot 0.1 wrote
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    again = SentenceTransformer(str(tmp_path), trust_remote_code=True, device="cpu")
    assert type(again[1]) is type(model[1])
    texts = ["the cat sat on the mat", "a quick brown fox"]
    np.testing.assert_array_equal(model.encode(texts), again.encode(texts))


def test_option_vocabularies_are_declared_once():
    """Every ``Literal`` of option values lives in utils/choices.py; the modules import it from there."""
    declared = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path != PACKAGE / "utils" / "choices.py"
        and any(
            isinstance(node, ast.Subscript) and getattr(node.value, "id", "") == "Literal"
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        )
    }
    assert not declared, f"Literal option values outside utils/choices.py: {sorted(declared)}"
