#!/usr/bin/env bash
# Tables "Performance" of benchmarks/README.md: GLOTPooling against the research code's per-sequence PyG loop
# on real mixed-length batches (vs_reference_real.json) and on full windows (vs_reference.json), training-step FLOP/s against this machine's matmul (flops.json), model.encode throughput
# (encode.json), the pooler eager against torch.compile (compile.json), filling the cache on 1 and 2 processes (cache_processes.json) and long inputs (long.json); then
# prints every JSON file as tables (summarize.py). Run it on a quiet machine: the figures are timings.
# Usage: benchmarks/performance.sh; PYTHON names the Python to use and ST_GLOT_DATA the offline data folder
# (stsb/; default ../shared/data). Log: benchmarks/logs/performance.log (and the terminal).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
DATA=${ST_GLOT_DATA:-../shared/data}
mkdir -p benchmarks/logs
exec > >(tee benchmarks/logs/performance.log) 2>&1
set -x
$PY benchmarks/bench_vs_reference.py --real --batches 5 --threads 1 --data-dir "$DATA"
$PY benchmarks/bench_vs_reference.py --repeats 3 --threads 2
$PY benchmarks/bench_flops.py --threads 2
$PY benchmarks/bench_encode.py --threads 2
OMP_NUM_THREADS=1 $PY benchmarks/bench_compile.py --threads 1
$PY benchmarks/bench_cache_processes.py --data-dir "$DATA" --processes 1,2
$PY benchmarks/bench_long.py --threads 2
$PY benchmarks/summarize.py
