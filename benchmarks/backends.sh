#!/usr/bin/env bash
# Table "ONNX and OpenVINO" of docs/benchmarks/performance.md: model.encode of a saved GLOT model under
# sentence-transformers' ONNX and OpenVINO backends against torch (results/backends.json). A backend whose packages do
# not import is recorded with its error. sentence-transformers[openvino] (optimum-intel) needs transformers < 5.6 and
# torchvision, so run this with the Python of an environment of its own that has it:
#   PYTHON=/path/to/openvino-env/bin/python benchmarks/backends.sh
# Log: benchmarks/logs/backends.log (and the terminal).
source "$(dirname "$0")/_preamble.sh" log
set -x
OMP_NUM_THREADS=1 $PY benchmarks/bench_backends.py --threads 1
