#!/usr/bin/env bash
# SmolLM2-135M, the rest of the stress grid at 1000/300 texts, one output folder per seed so each lands on its own:
# the balanced generator at 20/50/80 % (90 %: smollm2-balanced-center-batchnorm-tau0.3 and its baselines), then
# the paper's generator at all four ratios. GLOT with the recommended graph; all four baselines on the same states.
# GLOT in these folders ran with the former input_norm="batchnorm" (batch statistics in training), since replaced
# by "running" (st_glot/token_norm.py); the script now passes "running". Of the reference generator only seed 0
# finished here (seed 1 was stopped once "running" replaced "batchnorm"); its reruns: run_queue_6.sh, run_queue_7.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=$(cd "${BIN:-.venv/bin}" && pwd)
out=benchmarks/results/stress
common=(--backbone smollm2 --methods glot,adapool,mean,max,cls --graph-norm center --input-norm running --tau 0.3
        --train-size 1000 --eval-size 300 --quiet --explain 0 "$@")
for seed in 0 1 2; do
  $BIN/st-glot stress-test "${common[@]}" --ratios 0.2,0.5,0.8 --seeds $seed \
    --output "$out/smollm2-balanced-recommended-ratios-seed$seed" > /dev/null 2>&1
done
for seed in 0 1 2; do
  $BIN/st-glot stress-test "${common[@]}" --generator reference --ratios 0.2,0.5,0.8,0.9 --seeds $seed \
    --output "$out/smollm2-reference-recommended-seed$seed" > /dev/null 2>&1
done
