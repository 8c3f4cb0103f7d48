#!/usr/bin/env bash
# Regenerates docs/explanation-example.png, the example picture of the README: a GLOT pooler trained on the
# stress test (all-MiniLM-L6-v2, 50 % distractors, recommended preset) and what it sees in one held-out text.
# About a minute on a laptop CPU. Usage: docs/make_explanation_example.sh
# (ST_GLOT and PYTHON name the st-glot command and the Python to use; default: the ones on PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
ST=${ST_GLOT:-st-glot}
PY=${PYTHON:-python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
set -x
$ST stress-test --methods glot --preset recommended --ratios 0.5 --train-size 500 --eval-size 100 --epochs 5 --explain 1 --quiet \
  --output "$work"
# A 64-colour palette keeps the committed picture under 150 KB.
$PY -c 'import sys; from PIL import Image; Image.open(sys.argv[1]).convert("RGB").quantize(64).save(sys.argv[2], optimize=True)' \
  "$work"/explanations/000-*.png docs/explanation-example.png
