"""Checks of a results file's ``provenance`` block against values found another way: the data files' bytes,
the trained poolers' attributes, git, and the imported libraries."""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sentence_transformers
import torch
import transformers

import st_glot

#: The checkout the tests import st_glot from.
ROOT = Path(st_glot.__file__).resolve().parent.parent


def record_poolers(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """From now on, collect ``(method, pooler)`` for every pooler :func:`st_glot.models.factory.make_model`
    builds (those glue, compare, stress-test and generalisation train) into the returned list."""
    from st_glot.models import factory

    built: list[tuple[str, Any]] = []
    make_pooler = factory.make_pooler

    def recording(method: str, backbone: Any, *args: Any, **kwargs: Any) -> Any:
        pooler = make_pooler(method, backbone, *args, **kwargs)
        built.append((method, pooler))
        return pooler

    monkeypatch.setattr(factory, "make_pooler", recording)
    return built


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True).stdout.strip()


def check_provenance(
    block: dict[str, Any],
    argv: Sequence[str],
    backbone_path: str,
    poolers: Sequence[tuple[str, Any]],
    files: dict[str, int],
    training: dict[str, Any],
    since: datetime,
) -> None:
    """Check ``block`` field by field.

    Args:
        block: the ``provenance`` block a command wrote.
        argv: the arguments the command ran with (after ``st-glot``).
        backbone_path: the backbone folder it loaded.
        poolers: ``(method, pooler)`` of every pooler it trained (each method's options must equal the block's).
        files: each data file it read and the rows it holds.
        training: fields the block's ``training`` must hold, e.g. ``{"epochs": 1, "seeds": [0]}``.
        since: a moment before the command started.
    """
    assert block["schema"] == 1 and block["reconstructed"] is False
    assert block["st_glot"]["version"] == st_glot.__version__
    if (ROOT / ".git").exists():
        assert block["st_glot"]["commit"] == _git("log", "-1", "--format=%H")
        changed = subprocess.run(["git", "-C", str(ROOT), "diff-index", "--quiet", "HEAD", "--"]).returncode
        assert block["st_glot"]["dirty"] is (changed != 0)
    assert block["command"] == ["st-glot", *argv]
    assert block["script"] is None

    backbone = block["configuration"]["backbone"]
    assert backbone["path"] == backbone_path and backbone["requested"] == backbone_path
    assert backbone["id"] == os.path.basename(backbone_path)
    assert (backbone["dtype"], backbone["max_seq_length"], backbone["package"]) == ("float32", 128, None)
    methods = block["configuration"]["methods"]
    assert {method for method, _ in poolers} == set(methods)
    for method, pooler in poolers:
        options = methods[method]["options"]
        assert options == pooler.get_config_dict()
        assert methods[method]["pooler"] == type(pooler).__name__
        if method == "glot":
            assert options["anchor"] == pooler.anchor and options["tau"] == pooler.tau
    assert training.items() <= block["configuration"]["training"].items()

    by_path = {d["path"]: d for d in block["data"] if "path" in d}
    assert set(by_path) == {os.path.abspath(path) for path in files}
    for path, rows in files.items():
        entry = by_path[os.path.abspath(path)]
        assert entry["sha256"] == hashlib.sha256(Path(path).read_bytes()).hexdigest()
        assert entry["rows"] == rows

    host = block["machine"]
    assert (host["torch"], host["transformers"], host["sentence_transformers"]) == (
        torch.__version__,
        transformers.__version__,
        sentence_transformers.__version__,
    )
    assert (host["python"], host["cpu_count"], host["threads"]) == (
        platform.python_version(),
        os.cpu_count(),
        torch.get_num_threads(),
    )
    assert host["device"] == "cpu" and host["cpu"]
    started, finished = (datetime.fromisoformat(block[k].replace("Z", "+00:00")) for k in ("started", "finished"))
    # the process started before the test did; the block was made during it (ISO times keep whole seconds)
    assert started <= since.replace(microsecond=0) <= finished <= datetime.now(since.tzinfo)
