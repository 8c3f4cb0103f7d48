"""Every Python block of the README and of the documentation (docs/) runs, so no snippet goes stale.

The blocks of one page run in order in one namespace of their own (a later block uses what an earlier one
built, as a reader would), in an empty folder; all pages run in one process (torch and sentence-transformers
are imported once), offline, with a temporary home (the token-state and MTEB caches land there), on the
embedded all-MiniLM-L6-v2 where a block names it by its Hub id. A page's include of a README section
(``--8<-- "README.md:quickstart"``) runs that section's blocks in its place, as the site shows them; a
traceback names the file and line a failing block is written at.

A block that cannot run here says why in the line before it: ``<!-- snippet: skip (needs the Hub) -->``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(["README.md", *(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").rglob("*.md"))])
HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"

FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
SKIP = re.compile(r"<!-- snippet: skip \((?P<why>[^)]+)\) -->\s*$")
MARKER = re.compile(r"<!-- snippet:.*-->")
INCLUDE = re.compile(r'^--8<-- "(?P<file>[^":]+):(?P<section>[a-z_-]+)"[ \t]*$', re.MULTILINE)
SECTION = r"^[^\n]*--8<-- \[start:{0}\][^\n]*\n(?P<body>.*?)^[^\n]*--8<-- \[end:{0}\]"

# Runs every page in its own folder and namespace, each block compiled under the name and line of the file it
# is written in (so a traceback points there); writes {page: None, or the traceback of its failing block}.
RUNNER = """
import json, os, sys, traceback
pages, report = json.load(open(sys.argv[1], encoding="utf-8")), {}
for number, (page, blocks) in enumerate(pages.items()):
    os.makedirs(str(number))
    os.chdir(str(number))
    namespace, report[page] = {"__name__": "__main__"}, None
    try:
        for block in blocks:
            exec(compile("\\n" * (block["line"] - 1) + block["code"], block["page"], "exec"), namespace)
    except Exception:
        report[page] = traceback.format_exc()
    os.chdir("..")
json.dump(report, open(sys.argv[2], "w", encoding="utf-8"))
"""


@dataclass(frozen=True)
class Block:
    page: str
    line: int  # the block's first code line in ``page``
    code: str
    skip: str | None  # why it does not run, or None


def fenced(page: str, text: str, start: int, end: int) -> list[Block]:
    """The Python blocks of ``text[start:end]`` (the text of ``page``), each with its skip reason, if any."""
    found = []
    for match in FENCE.finditer(text, start, end):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = SKIP.search(before)
        assert marker or not MARKER.search(before), f"{page}: a snippet marker reads {before!r}: write skip (why)"
        if match[1] == "python":
            line = text.count("\n", 0, match.start(2)) + 1
            found.append(Block(page, line, match[2], marker["why"] if marker else None))
    return found


def blocks(page: str) -> list[Block]:
    """The Python blocks of ``page`` in order, an included section's blocks in the include's place (named by
    the file and line they are written in)."""
    text = (ROOT / page).read_text(encoding="utf-8")
    found, start = [], 0
    for include in [*INCLUDE.finditer(text), None]:
        found += fenced(page, text, start, include.start() if include else len(text))
        if include:
            source = (ROOT / include["file"]).read_text(encoding="utf-8")
            section = re.search(SECTION.format(re.escape(include["section"])), source, re.MULTILINE | re.DOTALL)
            assert section, f"{include['file']} has no section {include['section']!r} (--8<-- [start:…] … [end:…])"
            found += fenced(include["file"], source, section.start("body"), section.end("body"))
            start = include.end()
    return found


def runnable(page: str) -> list[Block]:
    return [b for b in blocks(page) if b.skip is None]


def test_pages_are_found():
    assert {"README.md", "docs/getting-started.md", "docs/training.md", "docs/evaluation.md"} <= set(PAGES)
    assert len(runnable("README.md")) == 2  # the Quickstart and training on your own data


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str | None]:
    """Run every page's runnable blocks; ``{page: None, or the traceback of its failing block}``."""
    from st_glot import default_backbone_path

    tmp = tmp_path_factory.mktemp("snippets")
    embedded = default_backbone_path()
    pages = {
        page: [{"page": b.page, "line": b.line, "code": b.code.replace(HUB_ID, embedded)} for b in runnable(page)]
        for page in PAGES
        if runnable(page)
    }
    (tmp / "blocks.json").write_text(json.dumps(pages), encoding="utf-8")
    work, home = tmp / "work", tmp / "home"
    work.mkdir()
    home.mkdir()
    env = {
        **os.environ,
        "HOME": str(home),
        "MTEB_CACHE": str(home / "mteb"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(
        [sys.executable, "-c", RUNNER, str(tmp / "blocks.json"), str(tmp / "report.json")],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads((tmp / "report.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", [p for p in PAGES if runnable(p)])
def test_every_python_block_runs(page: str, outcomes: dict[str, str | None]):
    assert outcomes[page] is None, f"a Python block of {page} failed:\n{outcomes[page]}"


def test_every_skipped_block_says_why():
    skipped = [b for p in PAGES for b in blocks(p) if b.skip is not None]
    assert skipped, "the pages hold blocks that need the Hub or the data folder"
    for block in skipped:
        assert len(block.skip.split()) >= 3, f"{block.page}:{block.line}: say why the block cannot run here"


def test_the_quickstart_uses_the_hub_id_the_test_replaces():
    """The README's Quickstart names all-MiniLM-L6-v2 by its Hub id, which the test runs on the embedded copy."""
    assert HUB_ID in runnable("README.md")[0].code


def test_the_runner_reports_the_page_and_line_of_a_failing_block(tmp_path: Path):
    """A failing block is reported with the file and line it is written at; the next page still runs."""
    pages = {
        "docs/a.md": [
            {"page": "docs/a.md", "line": 7, "code": "x = 1\n"},
            {"page": "README.md", "line": 40, "code": "x / 0\n"},
        ],
        "docs/b.md": [{"page": "docs/b.md", "line": 3, "code": "assert 'x' not in dir()\n"}],
    }
    (tmp_path / "blocks.json").write_text(json.dumps(pages), encoding="utf-8")
    subprocess.run([sys.executable, "-c", RUNNER, "blocks.json", "report.json"], cwd=tmp_path, check=True, timeout=60)
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["docs/b.md"] is None  # its own namespace: no x from docs/a.md
    assert 'File "README.md", line 40' in report["docs/a.md"]
    assert "ZeroDivisionError" in report["docs/a.md"]
