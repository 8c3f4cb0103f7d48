"""The provenance block: its parts against values found another way, the benchmark scripts' writers, and the
committed results (each carries a block, live or reconstructed)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
import torch
from provenance_checks import ROOT

from st_glot.utils import provenance as prov

BENCHMARKS = ROOT / "benchmarks"
#: The keys of every block, live or reconstructed (a reconstructed one may add a ``note``).
KEYS = {"schema", "reconstructed", "st_glot", "command", "script", "configuration", "data", "machine"}
KEYS |= {"started", "finished"}


def test_file_source_hashes_the_bytes_and_keeps_the_callers_rows(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"a,b\n1,2\n" * 100_000)  # more than one read block
    assert prov.file_source(path, 100_000) == {
        "path": str(path),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "rows": 100_000,
    }


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="st_glot is not imported from a git checkout")
def test_checkout_names_the_commit_and_whether_tracked_files_changed(tmp_path):
    block = prov.checkout()
    head = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%H"], capture_output=True, text=True)
    assert block["commit"] == head.stdout.strip()
    changed = subprocess.run(["git", "-C", str(ROOT), "diff-index", "--quiet", "HEAD", "--"]).returncode != 0
    assert block["dirty"] is changed


def test_hub_revision_is_the_cached_main_commit(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    assert prov.hub_source("owner/data", "cfg", "train")["revision"] is None  # nothing cached
    refs = tmp_path / "datasets--owner--data" / "refs"
    refs.mkdir(parents=True)
    (refs / "main").write_text("0123abcd" * 5)
    assert prov.hub_source("owner/data", "cfg", "train") == {
        "hub": "owner/data",
        "config": "cfg",
        "split": "train",
        "revision": "0123abcd" * 5,
    }


def test_script_is_a_benchmark_file_of_the_command():
    assert prov.benchmark_script(["python", str(BENCHMARKS / "bench_flops.py"), "--threads", "2"]) == (
        "benchmarks/bench_flops.py"
    )
    assert prov.benchmark_script([str(ROOT / "st_glot" / "__main__.py"), "glue"]) is None  # not a benchmark


def test_configuration_is_stored_as_json_holds_it():
    block = prov.provenance(configuration={"output": Path("/a/b"), "sizes": (1, 2)}, command=["x"])
    assert block["configuration"] == {"output": "/a/b", "sizes": [1, 2]}
    json.dumps(block)


@pytest.fixture()
def benchmarks_importable(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))


def test_benchmark_results_carry_the_block(benchmarks_importable, tmp_path, monkeypatch):
    import _common

    monkeypatch.setattr(_common, "RESULTS", tmp_path)
    path = _common.write_results("x", {"rows": [1]}, configuration={"settings": {"a": 1}})
    payload = json.loads(path.read_text())
    assert list(payload) == ["machine", "rows", "provenance"]
    block = payload["provenance"]
    assert set(block) == KEYS
    assert block["command"] == sys.argv and block["configuration"] == {"settings": {"a": 1}}
    assert block["machine"]["device"] == "cpu" and block["machine"]["threads"] == torch.get_num_threads()


def test_prompteol_benchmark_records_its_data_and_backbones(
    benchmarks_importable, tiny_llama_dir, tmp_path, monkeypatch
):
    import bench_prompteol

    words = ["red", "blue", "green", "fox", "mat"]
    rows = ["sentence1,sentence2,score\n"] + [
        f"the cat {words[i % 5]},a dog {words[i % 3]},{i % 6}\n" for i in range(9)
    ]
    data = tmp_path / "sts.csv"
    data.write_text("".join(rows))
    monkeypatch.setattr(bench_prompteol, "RESULTS_DIR", tmp_path)
    argv = ["bench_prompteol.py", "--backbone", tiny_llama_dir, "--data", str(data), "--pairs", "6"]
    monkeypatch.setattr(sys, "argv", argv)
    since = datetime.now(timezone.utc)
    bench_prompteol.main()
    (written,) = tmp_path.glob("prompteol_*_6pairs.json")
    block = json.loads(written.read_text())["provenance"]
    assert block["command"] == argv
    assert block["data"] == [
        {"path": str(data), "sha256": hashlib.sha256(data.read_bytes()).hexdigest(), "rows": 9}  # all read, 6 used
    ]
    backbones = block["configuration"]["backbones"]
    assert backbones["plain"]["template"] is None
    assert backbones["templated"]["template"] == block["configuration"]["settings"]["template_text"]
    assert backbones["plain"]["path"] == tiny_llama_dir
    assert since.replace(microsecond=0) <= datetime.fromisoformat(block["finished"].replace("Z", "+00:00"))


def _committed_results() -> list[Path]:
    """Every results JSON under benchmarks/results/, less what the runs write beside it and git ignores
    (``explanations/``: per-text pages, not results)."""
    return sorted(p for p in (BENCHMARKS / "results").rglob("*.json") if "explanations" not in p.parts)


@pytest.mark.parametrize("path", _committed_results(), ids=lambda p: str(p.relative_to(BENCHMARKS / "results")))
def test_every_committed_result_says_how_it_was_made(path):
    block = json.loads(path.read_text(encoding="utf-8"))["provenance"]
    assert KEYS <= set(block) and block["schema"] == prov.SCHEMA
    if block["reconstructed"]:  # made before the block existed: how each field was found, and any caveat
        assert "reconstruction" in block and set(block) - KEYS <= {"reconstruction", "note"}
    else:
        assert set(block) == KEYS
    assert block["command"], "every result names the command that made it"
    assert set(block["machine"]) == set(prov.machine())


def test_the_default_anchor_of_the_reconstructed_glot_anchor_run(tiny_llama_dir):
    """Its settings record ``anchor: null`` (the default, auto) on a decoder reading the default template (auto):
    the block names the anchor that make_pooler gives such a backbone."""
    from st_glot.models.backbones import load_backbone
    from st_glot.models.factory import make_pooler

    payload = json.loads((BENCHMARKS / "results/generalisation/smollm2-glot-anchor/results.json").read_text())
    settings, block = payload["settings"], payload["provenance"]
    assert (settings["anchor"], settings["template"], settings["preset"]) == (None, "auto", "recommended")
    templated_decoder = load_backbone(tiny_llama_dir, template=settings["template"])
    built = make_pooler("glot", templated_decoder, preset=settings["preset"])
    options = block["configuration"]["methods"]["glot"]["options"]
    assert options["anchor"] == built.anchor == "last"
    assert options["anchor_weight"] == built.anchor_weight
