#!/usr/bin/env bash
# Table "Generalisation: SmolLM2-135M", rows "GLOT + anchor", in benchmarks/README.md: GLOT alone through
# `st-glot generalisation` as in generalisation_smollm2.sh (PromptEOL-templated states, bfloat16 backbone, 3 epochs,
# lr 2e-4, seeds 0, 1, 2), with the anchor: the template's last token, standardised with the training texts'
# statistics, kept beside GLOT's vector (--anchor auto, the default on a templated decoder). Weights: 0.5 (the
# default, with Banking77), 0.7, and 1.0 (the anchor alone through the trained projection; seed 0 only).
# The untrained anchor: python benchmarks/anchor_probe.py --backbone smollm2 --backbone-dtype bfloat16 --data-dir DIR
#   benchmarks/generalisation_smollm2_anchor.sh [WEIGHT ...]   (default: 0.5 0.7 1.0)
set -euo pipefail
cd "$(dirname "$0")/.."
ST=${ST_GLOT:-st-glot}
DATA=${ST_GLOT_DATA:-../shared/data}
mkdir -p benchmarks/logs
exec > >(tee -a benchmarks/logs/generalisation_smollm2_anchor.log) 2>&1
weights=("$@")
[ ${#weights[@]} -gt 0 ] || weights=(0.5 0.7 1.0)
for weight in "${weights[@]}"; do
  extra=(--no-banking77) seeds=0,1,2 out=smollm2-glot-anchor-w$weight
  [ "$weight" = 0.5 ] && extra=(--banking77-limit 2000) out=smollm2-glot-anchor
  [ "$weight" = 1.0 ] && seeds=0  # no GLOT share in the cosine: seeds differ only in the projection's start
  set -x
  $ST generalisation --backbone smollm2 --backbone-dtype bfloat16 --anchor auto --anchor-weight "$weight" \
    --data-dir "$DATA" --pooling glot --seeds "$seeds" --epochs 3 --lr 2e-4 --quiet "${extra[@]}" \
    --output "benchmarks/results/generalisation/$out"
  { set +x; } 2>/dev/null
done
