#!/usr/bin/env bash
# Table "Stress test: SmolLM2-135M, the paper's generator" of docs/benchmarks/stress.md (packaged GGUF decoder):
# GLOT with the recommended preset and the four baselines, 1000 train / 300 eval texts, lr 1e-3, 3 epochs,
# seeds 0,1,2, random batches, all on one set of cached token states.
# Usage: benchmarks/stress_smollm2_reference.sh [more st-glot stress-test options]; ST_GLOT names the st-glot command.
# Log: benchmarks/logs/stress_smollm2_reference.log (and the terminal).
# Results: results/stress/smollm2-reference-center-running-glot/, results/stress/smollm2-reference-baselines-seeds01/,
#   results/stress/smollm2-reference-baselines-seed2/
source "$(dirname "$0")/_preamble.sh" log
out=benchmarks/results/stress
set -x
smol=(--backbone smollm2 --template none --generator reference --train-size 1000 --eval-size 300 --epochs 3 --batch-size 32 --lr 1e-3 --quiet --explain 0 "$@")
$ST stress-test "${smol[@]}" --methods glot --preset recommended --ratios 0.2,0.5,0.8,0.9 --seeds 0,1,2 \
  --output "$out/smollm2-reference-center-running-glot"
$ST stress-test "${smol[@]}" --methods adapool,mean,max,cls --ratios 0.2,0.5,0.8,0.9 --seeds 0,1 \
  --output "$out/smollm2-reference-baselines-seeds01"
$ST stress-test "${smol[@]}" --methods adapool,mean,max,cls --ratios 0.2,0.5,0.8,0.9 --seeds 2 \
  --output "$out/smollm2-reference-baselines-seed2"
