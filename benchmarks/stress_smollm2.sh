#!/usr/bin/env bash
# SmolLM2-135M (packaged GGUF) on the stress test at 90 % distractors: the paper's graph (raw cosine)
# against per-text centring, then the baselines, all on one set of cached token states.
set -euo pipefail
cd "$(dirname "$0")/.."
ST=${ST_GLOT:-st-glot}
out=benchmarks/results/stress
common=(--backbone smollm2 --ratios 0.9 --train-size 1000 --eval-size 300 --quiet --explain 4 "$@")
$ST stress-test "${common[@]}" --methods glot --graph-norm center --tau 0.3 --output "$out/smollm2-balanced-center-tau0.3"
$ST stress-test "${common[@]}" --methods glot --graph-norm none --tau 0.6 --output "$out/smollm2-balanced-none-tau0.6"
$ST stress-test "${common[@]}" --methods adapool,mean,max,cls --output "$out/smollm2-balanced-baselines"
