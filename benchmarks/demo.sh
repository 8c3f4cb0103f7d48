#!/usr/bin/env bash
# The demo table and timing of docs/getting-started.md ("The demo"): what `make demo` runs (`st-glot stress-test` with its
# defaults: all-MiniLM-L6-v2, the balanced generator, 1000 train / 400 eval texts per ratio, 5 epochs, seed 0),
# into results/demo/.
#   benchmarks/demo.sh [more st-glot stress-test options]; ST_GLOT names the st-glot command.
# Log: benchmarks/logs/demo.log (and the terminal).
source "$(dirname "$0")/_preamble.sh" log
set -x
$ST stress-test --output benchmarks/results/demo "$@"
