"""benchmarks/tables.py: the committed documents match what it writes, and ``--check`` catches an edited table."""

from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TABLES = ROOT / "benchmarks" / "tables.py"
DOCUMENTS = ("README.md", "benchmarks/README.md")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TABLES), *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the two documents beside links to the committed results."""
    for document in DOCUMENTS:
        (tmp_path / document).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / document, tmp_path / document)
    for folder in ("results", "archive"):
        (tmp_path / "benchmarks" / folder).symlink_to(ROOT / "benchmarks" / folder)
    return tmp_path


def test_the_committed_documents_are_up_to_date():
    result = run("--check")
    assert result.returncode == 0, result.stderr


def test_check_names_an_edited_table_and_the_generator_restores_it(checkout: Path):
    path = checkout / "benchmarks/README.md"
    original = path.read_text(encoding="utf-8")
    row = next(line for line in original.split("\n") if line.startswith("| AdaPool | 0.950 ± "))
    path.write_text(original.replace(row, row.replace("0.950 ± ", "0.951 ± ", 1)), encoding="utf-8")

    result = run("--check", "--root", str(checkout))
    assert result.returncode == 1
    assert "benchmarks/README.md: table 'stress-minilm-balanced' differs" in result.stderr
    assert "+| AdaPool | 0.950 ± " in result.stderr  # the diff shows what the generator would write

    assert run("--root", str(checkout)).returncode == 0
    assert path.read_text(encoding="utf-8") == original
    assert run("--check", "--root", str(checkout)).returncode == 0


def test_check_names_a_renamed_block(checkout: Path):
    readme = checkout / "README.md"
    text = readme.read_text(encoding="utf-8")
    renamed = text.replace("<!-- table: readme-prompteol -->", "<!-- table: readme-unknown -->")
    readme.write_text(renamed, encoding="utf-8")

    result = run("--check", "--root", str(checkout))
    assert result.returncode == 1
    assert "README.md: table 'readme-unknown' has no section" in result.stderr
    assert "README.md: table 'readme-prompteol' is missing" in result.stderr


def test_check_names_a_section_whose_source_is_missing(checkout: Path):
    (checkout / "benchmarks" / "results").unlink()
    (checkout / "benchmarks" / "results").mkdir()

    result = run("--check", "--root", str(checkout))
    assert result.returncode == 1
    assert "benchmarks/README.md: table 'stress-minilm-balanced' cannot be built: FileNotFoundError" in result.stderr
    assert re.search(
        r"stress/minilm-balanced-lr1e-3\S*/results.json: a source of this section is missing", result.stderr
    )


def test_the_std_of_a_table_is_the_sample_std_of_the_per_seed_records():
    """The GLOT row of the MiniLM stress table, recomputed by hand from its per-seed records."""
    records = json.loads(
        (ROOT / "benchmarks/results/stress/minilm-balanced-lr1e-3-center-running-glot/results.json").read_text()
    )
    accuracies = [r["accuracy"] for r in sorted(records["records"], key=lambda r: r["seed"]) if r["ratio"] == 0.9]
    mean = sum(accuracies) / len(accuracies)
    sample_std = (sum((a - mean) ** 2 for a in accuracies) / (len(accuracies) - 1)) ** 0.5
    assert sample_std == pytest.approx(statistics.stdev(accuracies))
    expected = f"**{mean:.3f} ± {sample_std:.3f}** (" + ", ".join(f"{a:.3f}" for a in accuracies) + ")"
    assert expected in (ROOT / "benchmarks/README.md").read_text(encoding="utf-8")
