#!/usr/bin/env bash
# Table "Stress test: SmolLM2-135M, balanced generator" of docs/benchmarks/stress.md (packaged GGUF decoder):
# GLOT with the recommended preset (random batches), then the four baselines (batches grouped by length, as in
# the committed runs). 1000 train / 300 eval texts, lr 1e-3, 3 epochs, seeds 0,1,2, all on one set of cached
# token states, plain text (--template none). Each method is seeded on its own, so the baselines do not depend on which other methods ran.
# Usage: benchmarks/stress_smollm2.sh [more st-glot stress-test options]; ST_GLOT names the st-glot command.
# Log: benchmarks/logs/stress_smollm2.log (and the terminal).
# Results: results/stress/smollm2-balanced-center-running-glot/, results/stress/smollm2-balanced-baselines/,
#   results/stress/smollm2-balanced-baselines-seeds12/, results/stress/smollm2-balanced-baselines-ratios/
source "$(dirname "$0")/_preamble.sh" log
out=benchmarks/results/stress
set -x
smol=(--backbone smollm2 --template none --generator balanced --train-size 1000 --eval-size 300 --epochs 3 --batch-size 32 --lr 1e-3 --quiet --explain 0 "$@")
baselines=(--methods adapool,mean,max,cls --group-by-length)
$ST stress-test "${smol[@]}" --methods glot --preset recommended --ratios 0.2,0.5,0.8,0.9 --seeds 0,1,2 \
  --output "$out/smollm2-balanced-center-running-glot"
$ST stress-test "${smol[@]}" "${baselines[@]}" --ratios 0.9 --seeds 0 --output "$out/smollm2-balanced-baselines"
$ST stress-test "${smol[@]}" "${baselines[@]}" --ratios 0.9 --seeds 1,2 --output "$out/smollm2-balanced-baselines-seeds12"
# The 20/50/80 % baselines. Until this folder is committed, the table reads the baselines of
# benchmarks/archive/stress/smollm2-balanced-center-batchnorm-and-baselines-seed{0,1,2}, runs that also trained
# GLOT with a removed input norm (benchmarks/archive/README.md).
$ST stress-test "${smol[@]}" "${baselines[@]}" --ratios 0.2,0.5,0.8 --seeds 0,1,2 \
  --output "$out/smollm2-balanced-baselines-ratios"
