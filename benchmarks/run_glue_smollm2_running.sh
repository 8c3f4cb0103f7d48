#!/usr/bin/env bash
# GLOT with the recommended graph (centred, input_norm="running", tau 0.3) on four GLUE tasks, SmolLM2-135M,
# first 2000 rows of each split; the same settings as glue/smollm2-limit2000-glot-batchnorm except the input norm,
# batches grouped by length as in all the committed GLUE runs.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=$(cd "${BIN:-.venv/bin}" && pwd)
$BIN/st-glot glue --backbone smollm2 --task cola,sst2,stsb,mrpc --data-dir "${ST_GLOT_DATA:-../shared/data}" --limit 2000 \
  --pooling glot --graph-norm center --input-norm running --tau 0.3 --group-by-length "$@" \
  --output benchmarks/results/glue/smollm2-limit2000-glot-running > /dev/null 2>&1
