#!/usr/bin/env bash
# The GPU check (issue 18, section 3), in one script that fits in 8 minutes on a CUDA machine:
#   (a) the device tests: pytest -m cuda tests/test_cuda.py (pooler forward/backward, dense = pyg, fit on cached
#       states with training on the device, save/load across devices), each compared with the CPU;
#   (b) benchmarks/bench_gpu.py: GLOTPooling forward+backward (and the Adam step) at d=4096, B=32, L=128, tau 0.3,
#       recommended configuration, fp32 and bf16, against the paper's 13.4 ms per step on Mistral-7B; then GLOT
#       against LoRA (st-glot's r=8 on the attention projections, and the paper's r=64 on every linear map): one
#       training step each on a random-weight 4-layer Llama decoder of width 4096 (Mistral-7B's proportions), the
#       paper's 13.4 ms against 1,454 ms; and its
#       inference forward, eager against torch.compile(dynamic=True) (compile time, graphs, speed-up);
#   (c) one JSON with the device name, torch version, figures and test counts:
#       benchmarks/results/gpu_check.json, or the path given as the first argument.
# Without a GPU it says so and runs the same steps on the CPU at toy size (d=64, B=4, L=32, 2 layers), the tests with
# ST_GLOT_TEST_DEVICE=cpu, and writes ${TMPDIR:-/tmp}/st-glot-gpu_check-cpu.json (never the committed GPU result).
# Exits non-zero when a device test fails, after writing the JSON.
#   benchmarks/gpu_check.sh [OUTPUT.json]        PYTHON=... picks the interpreter (default .venv/bin/python, else python3)
source "$(dirname "$0")/_preamble.sh" no-log
PYTHON=${PYTHON:-.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
log() { echo "[gpu_check $(date +%H:%M:%S)] $*"; }

if "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  device=cuda
  sizes=(--dim 4096 --batch-size 32 --length 128 --repeats 50 --decoder-layers 4)
  output=${1:-benchmarks/results/gpu_check.json}
  log "GPU found: $("$PYTHON" -c 'import torch; print(torch.cuda.get_device_name())')"
else
  device=cpu
  sizes=(--dim 64 --batch-size 4 --length 32 --repeats 20 --decoder-layers 2)
  output=${1:-${TMPDIR:-/tmp}/st-glot-gpu_check-cpu.json}
  export ST_GLOT_TEST_DEVICE=cpu
  log "no GPU found: running every step on the CPU at toy size"
fi
log "python $("$PYTHON" -c 'import sys, torch; print(sys.version.split()[0], "torch", torch.__version__)')"

junit=$(mktemp "${TMPDIR:-/tmp}/gpu_check-junit.XXXXXX")
trap 'rm -f "$junit"' EXIT
log "(a) device tests on $device: pytest -m cuda tests/test_cuda.py"
tests_rc=0
"$PYTHON" -m pytest -q -rs -p no:cacheprovider -m cuda tests/test_cuda.py --junitxml="$junit" || tests_rc=$?
log "(a) pytest exit code $tests_rc"

log "(b) timing GLOTPooling, then GLOT against LoRA on a random decoder, on $device: ${sizes[*]}"
"$PYTHON" benchmarks/bench_gpu.py --device "$device" "${sizes[@]}" --output "$output" \
  --junit "$junit" --tests-exit-code "$tests_rc"
log "(c) wrote $output"
if [ "$tests_rc" -ne 0 ]; then
  log "FAILED: the device tests failed (pytest exit code $tests_rc)"
  exit "$tests_rc"
fi
log "done"
