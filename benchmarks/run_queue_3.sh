#!/usr/bin/env bash
# After run_queue_2.sh: GLOT with the recommended graph (centred, input_norm="batchnorm", tau 0.3) on MiniLM at
# 20/50/80 %, 3 seeds, on the cached states of minilm-balanced-lr1e-3 (90 %: minilm-*-center-batchnorm-glot).
# The "batchnorm" result folders below were made with the former input_norm="batchnorm" (batch statistics in
# training), since replaced by "running" (see st_glot/token_norm.py); the script now passes "running".
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=$(cd "${BIN:-.venv/bin}" && pwd)
$BIN/st-glot stress-test --ratios 0.2,0.5,0.8 --seeds 0,1,2 --train-size 2000 --eval-size 500 --quiet --explain 0 \
  --methods glot --graph-norm center --input-norm running --tau 0.3 "$@" \
  --output benchmarks/results/stress/minilm-balanced-lr1e-3-center-batchnorm-glot-ratios > /dev/null 2>&1
