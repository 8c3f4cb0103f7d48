#!/usr/bin/env bash
# The paper's generator on MiniLM at 50 and 80 %, 3 seeds, all five methods (20/90 %: minilm-reference-lr1e-3*).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=$(cd "${BIN:-.venv/bin}" && pwd)
$BIN/st-glot stress-test --generator reference --ratios 0.5,0.8 --seeds 0,1,2 --train-size 2000 --eval-size 500 \
  --quiet --explain 0 "$@" --output benchmarks/results/stress/minilm-reference-lr1e-3-ratios50-80 > /dev/null 2>&1
