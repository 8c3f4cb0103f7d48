#!/usr/bin/env bash
# Table "Stress test: all-MiniLM-L6-v2, balanced generator" of docs/benchmarks/stress.md: all five methods with the
# paper's GLOT settings, GLOT with the recommended preset, and the paper's learning rate (1e-4) at 90 %.
# 2000 train / 500 eval texts, 3 epochs, seeds 0,1,2; batches grouped by length, as in the committed runs.
# Usage: benchmarks/stress_minilm.sh [more st-glot stress-test options]; ST_GLOT names the st-glot command.
# Log: benchmarks/logs/stress_minilm.log (and the terminal).
# Results: results/stress/minilm-balanced-lr1e-3/, results/stress/minilm-balanced-lr1e-3-center-running-glot/,
#   results/stress/minilm-balanced-lr1e-4/, results/stress/minilm-balanced-lr1e-4-seeds12/
source "$(dirname "$0")/_preamble.sh" log
out=benchmarks/results/stress
set -x
common=(--generator balanced --train-size 2000 --eval-size 500 --epochs 3 --batch-size 32 --group-by-length --quiet --explain 0 "$@")
$ST stress-test "${common[@]}" --lr 1e-3 --ratios 0.2,0.5,0.8,0.9 --seeds 0,1,2 --preset paper \
  --output "$out/minilm-balanced-lr1e-3"
$ST stress-test "${common[@]}" --lr 1e-3 --ratios 0.2,0.5,0.8,0.9 --seeds 0,1,2 --methods glot --preset recommended \
  --output "$out/minilm-balanced-lr1e-3-center-running-glot"
$ST stress-test "${common[@]}" --lr 1e-4 --ratios 0.9 --seeds 0 --preset paper --output "$out/minilm-balanced-lr1e-4"
$ST stress-test "${common[@]}" --lr 1e-4 --ratios 0.9 --seeds 1,2 --preset paper --output "$out/minilm-balanced-lr1e-4-seeds12"
