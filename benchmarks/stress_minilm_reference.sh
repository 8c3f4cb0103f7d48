#!/usr/bin/env bash
# Tables "Stress test: all-MiniLM-L6-v2, the paper's generator" of docs/benchmarks/stress.md: all five methods with
# the paper's GLOT settings, 2000 train / 500 eval texts, lr 1e-3, 3 epochs, seeds 0,1,2, random batches; then the
# same with batches grouped by length, in the three runs of the committed grouped table (seed 0 at 90 and 20 %,
# seeds 1 and 2 at 20 and 90 %, every seed at 50 and 80 %).
# Usage: benchmarks/stress_minilm_reference.sh [more st-glot stress-test options]; ST_GLOT names the st-glot command.
# Log: benchmarks/logs/stress_minilm_reference.log (and the terminal).
# Results: results/stress/minilm-reference-lr1e-3-random-batches/, results/stress/minilm-reference-lr1e-3/,
#   results/stress/minilm-reference-lr1e-3-seeds12/, results/stress/minilm-reference-lr1e-3-ratios50-80/
source "$(dirname "$0")/_preamble.sh" log
out=benchmarks/results/stress
set -x
common=(--generator reference --train-size 2000 --eval-size 500 --epochs 3 --batch-size 32 --lr 1e-3 --preset paper
        --quiet --explain 0 "$@")
$ST stress-test "${common[@]}" --ratios 0.2,0.5,0.8,0.9 --seeds 0,1,2 --output "$out/minilm-reference-lr1e-3-random-batches"
$ST stress-test "${common[@]}" --group-by-length --ratios 0.9,0.2 --seeds 0 --output "$out/minilm-reference-lr1e-3"
$ST stress-test "${common[@]}" --group-by-length --ratios 0.2,0.9 --seeds 1,2 --output "$out/minilm-reference-lr1e-3-seeds12"
$ST stress-test "${common[@]}" --group-by-length --ratios 0.5,0.8 --seeds 0,1,2 \
  --output "$out/minilm-reference-lr1e-3-ratios50-80"
