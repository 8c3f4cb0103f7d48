"""benchmarks/*.sh: every script starts with the shared preamble, parses, and every committed result has a script
that names it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"
PREAMBLE = BENCHMARKS / "_preamble.sh"
SCRIPTS = sorted(path for path in BENCHMARKS.glob("*.sh") if path != PREAMBLE)
SOURCE = re.compile(r'source "\$\(dirname "\$0"\)/_preamble\.sh" (log|append-log|no-log)')


def first_command(script: Path) -> str:
    """The first line of ``script`` that is neither blank nor a comment."""
    return next(line for line in script.read_text(encoding="utf-8").splitlines() if line.strip()[:1] not in ("", "#"))


def result_entries(results: Path) -> list[str]:
    """What the scripts wrote under ``results``, as ``results/...`` paths: each run folder (one holding a
    ``results.json``) and each file outside one; charts (``*.png``, never committed) are left out."""
    runs = {path.parent for path in results.rglob("results.json")}
    entries = {
        next((folder for folder in path.parents if folder in runs), path)
        for path in results.rglob("*")
        if path.is_file() and path.suffix != ".png"
    }
    return sorted("results/" + entry.relative_to(results).as_posix() for entry in entries)


def orphans(results: Path, scripts: list[Path]) -> list[str]:
    """The result entries that no script's text names in full (``results/glue/x`` does not name ``.../x-y``)."""
    text = "\n".join(script.read_text(encoding="utf-8") for script in scripts)
    return [entry for entry in result_entries(results) if not re.search(re.escape(entry) + r"(?![\w.-])", text)]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_every_script_starts_with_the_preamble_and_parses(script: Path):
    assert SOURCE.fullmatch(first_command(script)), f"{script.name}: first command is {first_command(script)!r}"
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_every_committed_result_is_named_by_a_script():
    assert len(SCRIPTS) > 1
    missing = orphans(BENCHMARKS / "results", SCRIPTS)
    assert not missing, f"no script in benchmarks/ names these results: {missing}"


def test_a_result_no_script_names_is_an_orphan(tmp_path: Path):
    results = tmp_path / "results"
    for run in ("glue/run", "glue/run-longer"):
        (results / run).mkdir(parents=True)
        (results / run / "results.json").write_text("{}")
    (results / "glue" / "run" / "chart.png").write_text("")
    (results / "timing.json").write_text("{}")
    (results / "timing.png").write_text("")
    script = tmp_path / "x.sh"
    script.write_text("python bench.py  # writes results/timing.json\nst-glot glue --output results/glue/run-longer\n")

    assert result_entries(results) == ["results/glue/run", "results/glue/run-longer", "results/timing.json"]
    assert orphans(results, [script]) == ["results/glue/run"]


def run_script(folder: Path, mode: str, text: str, **env: str) -> subprocess.CompletedProcess:
    """Run ``folder/benchmarks/probe.sh``, which sources a copy of the preamble with ``mode`` and prints ``text``."""
    (folder / "benchmarks").mkdir(exist_ok=True)
    shutil.copy(PREAMBLE, folder / "benchmarks" / "_preamble.sh")
    script = folder / "benchmarks" / "probe.sh"
    script.write_text(f'source "$(dirname "$0")/_preamble.sh" {mode}\necho "{text} $PWD $ST $PY $DATA"\n')
    environment = {"PATH": "/usr/bin:/bin", **env}
    return subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=30, cwd="/", env=environment)


def test_the_preamble_sets_the_commands_and_the_log(tmp_path: Path):
    log = tmp_path / "benchmarks" / "logs" / "probe.log"

    first = run_script(tmp_path, "log", "one")
    assert first.returncode == 0, first.stderr
    assert first.stdout == f"one {tmp_path} st-glot python ../shared/data\n"
    assert log.read_text() == first.stdout

    second = run_script(tmp_path, "log", "two", ST_GLOT="my-st-glot", PYTHON="py3", ST_GLOT_DATA="/data")
    assert second.stdout == f"two {tmp_path} my-st-glot py3 /data\n"
    assert log.read_text() == second.stdout  # rewritten

    third = run_script(tmp_path, "append-log", "three")
    assert log.read_text() == second.stdout + third.stdout  # appended

    log.unlink()
    assert run_script(tmp_path, "no-log", "four").stdout.startswith("four ")
    assert not log.exists()


def test_the_preamble_rejects_an_unknown_log_mode(tmp_path: Path):
    result = run_script(tmp_path, "verbose", "never")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "unknown log mode 'verbose' (valid: log, append-log, no-log)" in result.stderr
