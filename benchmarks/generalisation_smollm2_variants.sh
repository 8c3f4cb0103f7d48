#!/usr/bin/env bash
# Table "Generalisation: GLOT variants on SmolLM2-135M" of docs/benchmarks/generalisation.md: GLOT alone through
# `st-glot generalisation`, as in generalisation_smollm2.sh (PromptEOL-templated states, bfloat16 backbone, 3 epochs,
# lr 2e-4, seeds 0, 1, 2), with one change each aimed at generalising beyond the training data: a smaller GNN
# (hidden 32), dropout 0.1 on the GNN outputs, AdamW weight decay 0.01, and the readout alone on the normalised
# states (no graph, --num-layers 0). No Banking77 (time).
#   benchmarks/generalisation_smollm2_variants.sh [VARIANT ...]   (default: hidden32 dropout0.1 wd0.01 readout-only)
# Results: results/generalisation/smollm2-glot-hidden32/, results/generalisation/smollm2-glot-dropout0.1/,
#   results/generalisation/smollm2-glot-wd0.01/, results/generalisation/smollm2-glot-readout-only/
source "$(dirname "$0")/_preamble.sh" append-log
declare -A options=([hidden32]="--hidden-dim 32" [dropout0.1]="--dropout 0.1" [wd0.01]="--weight-decay 0.01"
                    [readout-only]="--num-layers 0")
variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(hidden32 dropout0.1 wd0.01 readout-only)
for variant in "${variants[@]}"; do
  set -x
  # shellcheck disable=SC2086  # the variant's options are words
  $ST generalisation --backbone smollm2 --backbone-dtype bfloat16 --anchor none --data-dir "$DATA" --pooling glot --seeds 0,1,2 \
    --epochs 3 --lr 2e-4 --no-banking77 --quiet ${options[$variant]} \
    --output "benchmarks/results/generalisation/smollm2-glot-$variant"
  { set +x; } 2>/dev/null
done
