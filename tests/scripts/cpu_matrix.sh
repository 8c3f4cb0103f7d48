#!/usr/bin/env bash
# The numerical tests again under every CPU kernel set this CPU has, with 1 and with 3 threads.
# PyTorch picks its CPU kernels by instruction set; ATEN_CPU_CAPABILITY forces one (forcing one the CPU
# lacks crashes), and the thread count changes how sums are split. Results may differ by rounding only:
# the tests' tolerances (tests/tolerance.py) say how much.
# Usage: tests/scripts/cpu_matrix.sh [PYTHON]
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${1:-python}
# The files whose tests compare float results of two computations, and test_lora.py's three that do (the rest of
# that file trains and times, under every kernel set alike).
files=(tests/test_pooling.py tests/test_backends.py tests/test_graph.py tests/test_anchor.py
  tests/test_row_packing.py tests/test_reliability.py tests/test_graph_modes.py
  tests/test_lora.py::test_encoder_lora_is_the_mean_of_the_adapted_backbone
  tests/test_lora.py::test_decoder_lora_is_the_last_token_of_the_templated_text
  tests/test_lora.py::test_a_saved_lora_model_loads_as_a_plain_model_with_the_same_vectors)
# What the CPU supports (DEFAULT, AVX2 or AVX512 on x86-64), asked without any forced capability.
best=$(env -u ATEN_CPU_CAPABILITY "$python" -c 'import torch; print(torch.backends.cpu.get_cpu_capability())')
case $best in
  AVX512) capabilities="default avx2 avx512" ;;
  AVX2) capabilities="default avx2" ;;
  *) capabilities="default" ;;
esac
for capability in $capabilities; do
  for threads in 1 3; do
    echo "== ATEN_CPU_CAPABILITY=$capability, $threads thread(s)"
    ATEN_CPU_CAPABILITY=$capability OMP_NUM_THREADS=$threads "$python" -m pytest -q -m "not slow" "${files[@]}"
  done
done
