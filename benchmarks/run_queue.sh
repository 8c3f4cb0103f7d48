#!/usr/bin/env bash
# The remaining result runs of this round, one after another (2-core machine): training costs, the pooler
# against the research code and the machine's matmul peak, the GLUE-style comparison on MiniLM, and
# single-seed stress tests for the reference generator and lr 1e-4.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=$(cd "${BIN:-.venv/bin}" && pwd)
DATA=${ST_GLOT_DATA:-../shared/data}
out=benchmarks/results
$BIN/python benchmarks/bench_training.py --data-dir "$DATA" --backbones minilm,smollm2 --steps 8 --epochs 3 \
  > "$out/training.txt" 2>&1
(cd benchmarks && $BIN/python bench_vs_reference.py --repeats 3 --threads 2 && $BIN/python bench_flops.py --threads 2 \
  && $BIN/python bench_encode.py --threads 2 && $BIN/python summarize.py) > "$out/performance.txt" 2>&1
$BIN/python benchmarks/bench_cache_processes.py --data-dir "$DATA" --processes 1,2 > "$out/cache_processes.txt" 2>&1
$BIN/st-glot glue --task cola,sst2,stsb,mrpc --data-dir "$DATA" --limit 2000 --paper-backbone BERT-base \
  --output "$out/glue/minilm-limit2000" "$@" > "$out/glue-minilm.txt" 2>&1
$BIN/st-glot stress-test --generator reference --lr 1e-3 --seeds 0 --quiet --explain 0 \
  --train-size 2000 --eval-size 500 --output "$out/stress/minilm-reference-lr1e-3" "$@" > /dev/null 2>&1
$BIN/st-glot stress-test --generator balanced --lr 1e-4 --seeds 0 --quiet --explain 0 \
  --train-size 2000 --eval-size 500 --output "$out/stress/minilm-balanced-lr1e-4" "$@" > /dev/null 2>&1
