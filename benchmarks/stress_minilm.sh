#!/usr/bin/env bash
# The committed MiniLM stress-test results: both generators, lr 1e-3 (ours) and 1e-4 (the paper's), 3 seeds.
set -euo pipefail
cd "$(dirname "$0")/.."
ST=${ST_GLOT:-st-glot}
out=benchmarks/results/stress
for generator in balanced reference; do
  for lr in 1e-3 1e-4; do
    $ST stress-test --generator "$generator" --lr "$lr" --seeds 0,1,2 --train-size 2000 --eval-size 500 --quiet --explain 4 \
      --output "$out/minilm-$generator-lr$lr" "$@"
  done
done
