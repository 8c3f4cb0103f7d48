#!/usr/bin/env bash
# Table "Generalisation: SmolLM2-135M", rows "GLOT + anchor", in docs/benchmarks/generalisation.md: GLOT alone through
# `st-glot generalisation` as in generalisation_smollm2.sh (PromptEOL-templated states, bfloat16 backbone, 3 epochs,
# lr 2e-4, seeds 0, 1, 2), with the anchor: the template's last token, standardised with the training texts'
# statistics, kept beside GLOT's vector (--anchor auto, the default on a templated decoder). Variants: default
# (weight 0.5, with Banking77) and w1.0 (the anchor alone through the trained projection; seed 0 only), the ones the
# tables read; also w0.7 and epochs1 (one epoch instead of three, a stand-in for early stopping), whose results are
# not committed and no table reads.
# The untrained anchor: benchmarks/probes.sh anchor-smollm2.
#   benchmarks/generalisation_smollm2_anchor.sh [VARIANT ...]   (default: default w1.0)
# Results: results/generalisation/smollm2-glot-anchor/, results/generalisation/smollm2-glot-anchor-w1.0/
source "$(dirname "$0")/_preamble.sh" append-log
declare -A options=([default]="--banking77-limit 2000" [w0.7]="--anchor-weight 0.7 --no-banking77"
                    [w1.0]="--anchor-weight 1.0 --seeds 0 --no-banking77" [epochs1]="--epochs 1 --no-banking77")
declare -A folders=([default]=smollm2-glot-anchor [w0.7]=smollm2-glot-anchor-w0.7 [w1.0]=smollm2-glot-anchor-w1.0
                    [epochs1]=smollm2-glot-anchor-epochs1)
variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(default w1.0)
for variant in "${variants[@]}"; do
  set -x
  # shellcheck disable=SC2086  # the variant's options are words; the last --seeds / --epochs given wins
  $ST generalisation --backbone smollm2 --backbone-dtype bfloat16 --anchor auto --data-dir "$DATA" --pooling glot \
    --seeds 0,1,2 --epochs 3 --lr 2e-4 --quiet ${options[$variant]} \
    --output "benchmarks/results/generalisation/${folders[$variant]}"
  { set +x; } 2>/dev/null
done
