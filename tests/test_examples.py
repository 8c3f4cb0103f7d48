"""Every script in examples/ runs, in its quick mode, as a newcomer would run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
#: What each example prints when it worked.
EXPECTED = {
    "quickstart.py": "reloaded encodings differ by 0.0e+00",
    "train_stsb.py": "eval_spearman_cosine",
    "mteb_local.py": "| LocalSTS-sts-dev | test |",
    "stress_test.py": "results in",
    "decoder_backbone.py": "",
}


def test_every_example_is_covered():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_example_runs_in_quick_mode(script, tmp_path):
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
    assert EXPECTED[script] in done.stdout, done.stdout[-3000:]
