#!/usr/bin/env bash
# GLOT with input_norm="running" (statistics of every training token, the same in training and inference; it
# replaced "batchnorm", see st_glot/token_norm.py) on the stress grid, from the states cached by the earlier queues:
# MiniLM and SmolLM2 with the balanced generator, then SmolLM2 with the paper's generator, whose seed 2 also needs
# the baselines (seeds 0 and 1: smollm2-reference-recommended-seed*). Baselines have no input norm: unchanged.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=$(cd "${BIN:-.venv/bin}" && pwd)
out=benchmarks/results/stress
glot=(--methods glot --graph-norm center --input-norm running --tau 0.3 --ratios 0.2,0.5,0.8,0.9 --seeds 0,1,2
      --quiet --explain 0 "$@")
smol=(--backbone smollm2 --train-size 1000 --eval-size 300)
$BIN/st-glot stress-test "${glot[@]}" --train-size 2000 --eval-size 500 \
  --output "$out/minilm-balanced-lr1e-3-center-running-glot" > /dev/null 2>&1
$BIN/st-glot stress-test "${glot[@]}" "${smol[@]}" --output "$out/smollm2-balanced-center-running-glot" > /dev/null 2>&1
$BIN/st-glot stress-test "${glot[@]}" "${smol[@]}" --generator reference \
  --output "$out/smollm2-reference-center-running-glot" > /dev/null 2>&1
$BIN/st-glot stress-test "${smol[@]}" --generator reference --methods adapool,mean,max,cls --ratios 0.2,0.5,0.8,0.9 \
  --seeds 2 --quiet --explain 0 "$@" --output "$out/smollm2-reference-baselines-seed2" > /dev/null 2>&1
