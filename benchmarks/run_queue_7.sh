#!/usr/bin/env bash
# After run_queue_6.sh: the baselines of the paper's generator on SmolLM2, seeds 0 and 1, with the random batches
# that fit() now uses by default (seed 2: run_queue_6.sh; the grouped-batch runs: smollm2-reference-recommended-seed*),
# then the paper's generator on MiniLM, all five methods, paper GLOT settings, 3 seeds, random batches (the
# grouped-batch runs: minilm-reference-lr1e-3*).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=$(cd "${BIN:-.venv/bin}" && pwd)
$BIN/st-glot stress-test --backbone smollm2 --train-size 1000 --eval-size 300 --generator reference \
  --methods adapool,mean,max,cls --ratios 0.2,0.5,0.8,0.9 --seeds 0,1 --quiet --explain 0 "$@" \
  --output benchmarks/results/stress/smollm2-reference-baselines-seeds01 > /dev/null 2>&1
$BIN/st-glot stress-test --generator reference --seeds 0,1,2 --train-size 2000 --eval-size 500 --quiet --explain 0 "$@" \
  --output benchmarks/results/stress/minilm-reference-lr1e-3-random-batches > /dev/null 2>&1
