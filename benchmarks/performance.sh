#!/usr/bin/env bash
# Tables "Performance" of docs/benchmarks/performance.md: GLOTPooling against the research code's per-sequence PyG loop
# on real mixed-length batches (results/vs_reference_real.json) and on full windows (results/vs_reference.json),
# training-step FLOP/s against this machine's matmul (results/flops.json), model.encode throughput
# (results/encode.json), the pooler eager against torch.compile (results/compile.json), filling the cache on 1 and 2 processes (results/cache_processes.json), long inputs
# (results/long.json) and where a training step goes, one epoch of fit under cProfile on one thread
# (results/training_profile.json, results/training_profile.md); then prints every JSON file as tables
# (summarize.py). Run it on a quiet machine: the figures are timings.
# The ONNX and OpenVINO backends need an environment of their own: benchmarks/backends.sh.
# Usage: benchmarks/performance.sh; PYTHON names the Python to use and ST_GLOT_DATA the offline data folder
# (stsb/; default ../shared/data). Log: benchmarks/logs/performance.log (and the terminal).
source "$(dirname "$0")/_preamble.sh" log
set -x
$PY benchmarks/bench_vs_reference.py --real --batches 5 --threads 1 --data-dir "$DATA"
$PY benchmarks/bench_vs_reference.py --repeats 3 --threads 2
$PY benchmarks/bench_flops.py --threads 2
$PY benchmarks/bench_encode.py --threads 2
OMP_NUM_THREADS=1 $PY benchmarks/bench_compile.py --threads 1
$PY benchmarks/bench_cache_processes.py --data-dir "$DATA" --processes 1,2
$PY benchmarks/bench_long.py --threads 2
OMP_NUM_THREADS=1 $PY benchmarks/bench_training.py --profile --cache-dir ~/.cache/st_glot --data-dir "$DATA"
$PY benchmarks/summarize.py
