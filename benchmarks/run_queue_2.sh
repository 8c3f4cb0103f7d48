#!/usr/bin/env bash
# Second half of this round's runs (after run_queue.sh), one after another:
# GLOT with input_norm="batchnorm" (per-dimension statistics over the batch's tokens) at 90 % on SmolLM2-135M and
# MiniLM, 3 seeds; the whole grid against the research code's baseline (d=2048, L=512 included, a baseline out of
# memory reported as such); MiniLM at the paper's lr 1e-4, seeds 1 and 2; SmolLM2-135M at 20/50/80 %, seed 0
# (500/200 texts: the backbone is slow on this CPU); the readout alone (K=0) with batchnorm on GLUE.
# (GLOT with batchnorm on GLUE, glue/smollm2-limit2000-glot-batchnorm, was run by hand with the readout run's
# options and K=2.)
# The "batchnorm" result folders below were made with the former input_norm="batchnorm" (batch statistics in
# training), since replaced by "running" (see st_glot/token_norm.py); the script now passes "running".
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=$(cd "${BIN:-.venv/bin}" && pwd)
out=benchmarks/results
stress=(--quiet --explain 0 "$@")
bn=(--methods glot --graph-norm center --input-norm running --tau 0.3)
$BIN/st-glot stress-test --backbone smollm2 --ratios 0.9 --seeds 0,1,2 --train-size 1000 --eval-size 300 "${stress[@]}" \
  "${bn[@]}" --output "$out/stress/smollm2-balanced-center-batchnorm-tau0.3" > /dev/null 2>&1
$BIN/st-glot stress-test --ratios 0.9 --seeds 0,1,2 --train-size 2000 --eval-size 500 "${stress[@]}" "${bn[@]}" \
  --output "$out/stress/minilm-balanced-lr1e-3-center-batchnorm-glot" > /dev/null 2>&1
(cd benchmarks && $BIN/python bench_vs_reference.py --repeats 3 --threads 2) > "$out/vs_reference.txt" 2>&1
$BIN/st-glot stress-test --lr 1e-4 --ratios 0.9 --seeds 1,2 --train-size 2000 --eval-size 500 "${stress[@]}" \
  --output "$out/stress/minilm-balanced-lr1e-4-seeds12" > /dev/null 2>&1
smol=(--backbone smollm2 --ratios 0.2,0.5,0.8 --seeds 0 --train-size 500 --eval-size 200 "${stress[@]}")
$BIN/st-glot stress-test "${smol[@]}" "${bn[@]}" --output "$out/stress/smollm2-balanced-center-batchnorm-tau0.3-ratios" \
  > /dev/null 2>&1
$BIN/st-glot stress-test "${smol[@]}" --methods adapool,mean,max,cls --output "$out/stress/smollm2-balanced-baselines-ratios" \
  > /dev/null 2>&1
$BIN/st-glot stress-test "${smol[@]}" --methods glot --graph-norm center --input-norm standardize --tau 0.3 \
  --output "$out/stress/smollm2-balanced-center-inputstd-tau0.3-ratios" > /dev/null 2>&1
glue=(--backbone smollm2 --task cola,sst2,stsb,mrpc --data-dir "${ST_GLOT_DATA:-../shared/data}" --limit 2000 --pooling glot
      --graph-norm center --input-norm running --tau 0.3 "$@")
$BIN/st-glot glue "${glue[@]}" --num-layers 0 --output "$out/glue/smollm2-limit2000-readout-batchnorm" \
  > "$out/glue-smollm2-readout-batchnorm.txt" 2>&1
