#!/usr/bin/env bash
# The demo table and timing of docs/getting-started.md ("The demo"): what `make demo` runs (`st-glot stress-test` with its
# defaults: all-MiniLM-L6-v2, the balanced generator, 1000 train / 400 eval texts per ratio, 5 epochs, seed 0),
# into results/demo/; then the same command with PyTorch's plain CPU kernels (ATEN_CPU_CAPABILITY=default) instead of
# the ones it picks for this CPU, on an empty cache of its own, into results/demo-default-kernels/: how far the
# figures move between CPUs.
# Run it on a quiet machine with an empty token-state cache (e.g. HOME=$(mktemp -d)): the table gives its time.
#   benchmarks/demo.sh [more st-glot stress-test options]; ST_GLOT names the st-glot command.
# Log: benchmarks/logs/demo.log (and the terminal).
# Results: results/demo/, results/demo-default-kernels/
source "$(dirname "$0")/_preamble.sh" log
set -x
$ST stress-test --output benchmarks/results/demo "$@"
ATEN_CPU_CAPABILITY=default $ST stress-test --output benchmarks/results/demo-default-kernels --cache-dir "$(mktemp -d)" "$@"
