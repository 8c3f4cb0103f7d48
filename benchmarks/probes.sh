#!/usr/bin/env bash
# The untrained probes of the documentation (docs/benchmarks/, docs/decoders.md): frozen backbones, no pooler
# trained, the baselines that trained runs are compared with. Each probe is one Python script and writes one results file:
#   anchor-smollm2, anchor-minilm   anchor_probe.py, the anchor alone: rows "…, untrained, standardised (probes.sh …)"
#                                   of "Generalisation: SmolLM2-135M" and "Generalisation: all-MiniLM-L6-v2";
#                                   results/generalisation/anchor-probe-smollm2.json,
#                                   results/generalisation/anchor-probe-minilm.json
#   layer-smollm2, layer-minilm     layer_probe.py, every hidden state: "Which layer to pool" (Generalisation);
#                                   results/generalisation/layer-probe-smollm2.json,
#                                   results/generalisation/layer-probe-minilm.json
#   cola-smollm2, cola-minilm       cola_probe.py, logistic regression on pooled vectors: "CoLA: the class prior,
#                                   the heads and the frozen features"; results/glue/cola-probe-smollm2.json,
#                                   results/glue/cola-probe-minilm.json
#   prompteol                       bench_prompteol.py on all 1,500 STS-B dev pairs: the untrained rows of "STS-B:
#                                   poolers on PromptEOL-templated SmolLM2-135M states" and docs/decoders.md's figures;
#                                   results/prompteol_SmolLM2-135M-Instruct.Q4_1_1500pairs.json
#   prompteol-300                   the same on the first 300 pairs (no table reads it);
#                                   results/prompteol_SmolLM2-135M-Instruct.Q4_1_300pairs.json
# The first three read SmolLM2-135M in bfloat16 on PromptEOL's template (their default, --template auto), as the
# trained runs beside them; bench_prompteol.py reads it in its default dtype, plain and templated, on one thread.
#   benchmarks/probes.sh [PROBE ...]   (default: all of them)
# PYTHON names the Python to use and ST_GLOT_DATA the offline data folder (default ../shared/data).
source "$(dirname "$0")/_preamble.sh" append-log
probes=("$@")
[ ${#probes[@]} -gt 0 ] || probes=(anchor-smollm2 anchor-minilm layer-smollm2 layer-minilm cola-smollm2 cola-minilm
                                   prompteol prompteol-300)
smollm2=(--backbone smollm2 --backbone-dtype bfloat16 --data-dir "$DATA")
stsb_dev=(--backbone smollm2 --data "$DATA/stsb/sts-dev.csv")
for probe in "${probes[@]}"; do
  case "$probe" in
    anchor-smollm2) run=($PY benchmarks/anchor_probe.py "${smollm2[@]}") ;;
    anchor-minilm) run=($PY benchmarks/anchor_probe.py --data-dir "$DATA") ;;
    layer-smollm2) run=($PY benchmarks/layer_probe.py "${smollm2[@]}") ;;
    layer-minilm) run=($PY benchmarks/layer_probe.py --data-dir "$DATA") ;;
    cola-smollm2) run=($PY benchmarks/cola_probe.py "${smollm2[@]}") ;;
    cola-minilm) run=($PY benchmarks/cola_probe.py --data-dir "$DATA") ;;
    prompteol) run=(env OMP_NUM_THREADS=1 $PY benchmarks/bench_prompteol.py "${stsb_dev[@]}" --pairs 1500) ;;
    prompteol-300) run=(env OMP_NUM_THREADS=1 $PY benchmarks/bench_prompteol.py "${stsb_dev[@]}" --pairs 300) ;;
    *) echo "probes.sh: unknown probe '$probe' (valid: anchor-smollm2 anchor-minilm layer-smollm2 layer-minilm" \
         "cola-smollm2 cola-minilm prompteol prompteol-300)" >&2
       exit 2 ;;
  esac
  set -x
  "${run[@]}"
  { set +x; } 2>/dev/null
done
