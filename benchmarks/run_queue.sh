#!/usr/bin/env bash
# This round's result runs, one after another (2-core machine: parallel runs oversubscribe the cores).
# 1. MiniLM at 90 %, 5 epochs: the baselines beside GLOT's 5-epoch runs (minilm-*-ep5-*-glot).
# 2. Long inputs with the grouped auto path. 3. GLUE-style on SmolLM2-135M.
# 4. SmolLM2-135M at 90 %, seeds 1 and 2 (seed 0: smollm2-balanced-*). 5. MiniLM, reference generator, seeds 1, 2.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=$(cd "${BIN:-.venv/bin}" && pwd)
export ST_GLOT="$BIN/st-glot"
out=benchmarks/results
stress=(--quiet --explain 0 "$@")
$BIN/st-glot stress-test --ratios 0.9 --methods adapool,mean,max,cls --seeds 0,1,2 --epochs 5 --train-size 2000 \
  --eval-size 500 "${stress[@]}" --output "$out/stress/minilm-balanced-lr1e-3-ep5-baselines" > /dev/null 2>&1
(cd benchmarks && $BIN/python bench_long.py --threads 2) > "$out/long.txt" 2>&1
benchmarks/run_glue_smollm2.sh "$@" > "$out/glue-smollm2.txt" 2>&1
smol=(--backbone smollm2 --ratios 0.9 --seeds 1,2 --train-size 1000 --eval-size 300 "${stress[@]}")
$BIN/st-glot stress-test "${smol[@]}" --methods glot --graph-norm center --input-norm standardize --tau 0.3 \
  --output "$out/stress/smollm2-balanced-center-inputstd-tau0.3-seeds12" > /dev/null 2>&1
$BIN/st-glot stress-test "${smol[@]}" --methods adapool,mean,max,cls \
  --output "$out/stress/smollm2-balanced-baselines-seeds12" > /dev/null 2>&1
$BIN/st-glot stress-test --generator reference --ratios 0.2,0.9 --seeds 1,2 --train-size 2000 --eval-size 500 \
  "${stress[@]}" --output "$out/stress/minilm-reference-lr1e-3-seeds12" > /dev/null 2>&1
