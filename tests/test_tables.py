"""benchmarks/tables.py: the committed documents (README.md and the documentation's pages) match what it writes,
and ``--check`` catches an edited table."""

from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
from tolerance import approx

ROOT = Path(__file__).resolve().parent.parent
TABLES = ROOT / "benchmarks" / "tables.py"
STRESS_PAGE = "docs/benchmarks/stress.md"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TABLES), *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the README and the documentation's pages beside links to the committed results."""
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    shutil.copytree(ROOT / "docs", tmp_path / "docs", ignore=shutil.ignore_patterns("*.png", "hooks"))
    (tmp_path / "benchmarks").mkdir()
    for folder in ("results", "archive"):
        (tmp_path / "benchmarks" / folder).symlink_to(ROOT / "benchmarks" / folder)
    return tmp_path


def test_the_committed_documents_are_up_to_date():
    result = run("--check")
    assert result.returncode == 0, result.stderr


def test_check_names_an_edited_table_and_the_generator_restores_it(checkout: Path):
    path = checkout / STRESS_PAGE
    original = path.read_text(encoding="utf-8")
    row = next(line for line in original.split("\n") if line.startswith("| AdaPool | 0.950 ± "))
    path.write_text(original.replace(row, row.replace("0.950 ± ", "0.951 ± ", 1)), encoding="utf-8")

    result = run("--check", "--root", str(checkout))
    assert result.returncode == 1
    assert f"{STRESS_PAGE}: table 'stress-minilm-balanced' differs" in result.stderr
    assert "+| AdaPool | 0.950 ± " in result.stderr  # the diff shows what the generator would write

    assert run("--root", str(checkout)).returncode == 0
    assert path.read_text(encoding="utf-8") == original
    assert run("--check", "--root", str(checkout)).returncode == 0


def test_check_names_a_renamed_block(checkout: Path):
    readme = checkout / "README.md"
    text = readme.read_text(encoding="utf-8")
    renamed = text.replace("<!-- table: compare-decoder -->", "<!-- table: readme-unknown -->")
    readme.write_text(renamed, encoding="utf-8")

    result = run("--check", "--root", str(checkout))
    assert result.returncode == 1
    assert "README.md: table 'readme-unknown' has no section" in result.stderr
    assert "README.md: table 'compare-decoder' is missing" in result.stderr


def test_check_names_a_block_typed_into_a_page_that_holds_no_generated_section(checkout: Path):
    """Every page of docs/ is checked, not only those the registry writes into: a figure block there that no
    section writes (typed by hand) fails."""
    page = checkout / "docs" / "training.md"
    page.write_text(page.read_text(encoding="utf-8") + "\n<!-- table: typed -->\n\n0.97\n\n<!-- /table -->\n")

    result = run("--check", "--root", str(checkout))
    assert result.returncode == 1
    assert "docs/training.md: table 'typed' has no section" in result.stderr


def test_a_section_in_two_documents_links_relative_to_each():
    """The stress summary is in the README and in the documentation's comparison page; its link to the stress
    table resolves from each."""
    anchor = "#stress-test-all-minilm-l6-v2-balanced-generator"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    compare = (ROOT / "docs/benchmarks/index.md").read_text(encoding="utf-8")
    assert f"(docs/benchmarks/stress.md{anchor})" in readme
    assert f"(stress.md{anchor})" in compare
    for document, link in (("README.md", "docs/benchmarks/stress.md"), ("docs/benchmarks/index.md", "stress.md")):
        assert ((ROOT / document).parent / link).resolve() == (ROOT / STRESS_PAGE).resolve()


def test_check_names_a_section_whose_source_is_missing(checkout: Path):
    (checkout / "benchmarks" / "results").unlink()
    (checkout / "benchmarks" / "results").mkdir()

    result = run("--check", "--root", str(checkout))
    assert result.returncode == 1
    assert f"{STRESS_PAGE}: table 'stress-minilm-balanced' cannot be built: FileNotFoundError" in result.stderr
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
    # statistics.stdev is correctly rounded. By hand: the mean (n terms), then the deviations, their squares,
    # their sum (n terms) and the root, each rounding on a scale at most max|a| (the std of values in [0, max|a|])
    n = len(accuracies)
    assert sample_std == approx(statistics.stdev(accuracies), scale=max(accuracies), terms=2 * n + 2)
    expected = f"**{mean:.3f} ± {sample_std:.3f}** (" + ", ".join(f"{a:.3f}" for a in accuracies) + ")"
    assert expected in (ROOT / STRESS_PAGE).read_text(encoding="utf-8")
