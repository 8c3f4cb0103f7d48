#!/usr/bin/env bash
# The ablation table of "GLUE at full size: SmolLM2-135M" in docs/benchmarks/glue.md: GLOT on STS-B and CoLA as in
# glue_full_smollm2.sh (templated text, bfloat16 backbone, full training sets, seeds 0, 1, 2), at the learning rate
# and epochs the fair tuning chose for GLOT there (STS-B: lr 3e-4, 4 epochs; CoLA: lr 3e-3, 7 epochs), with one part
# changed: the readout alone on the normalised states (--num-layers 0: no graph), no input normalisation
# (--input-norm none), and the paper's preset (raw-cosine graph on raw states, --preset paper).
#   benchmarks/glue_smollm2_ablations.sh [more st-glot glue options]
# Results: results/glue/smollm2-full-stsb-glot-readout-only/, results/glue/smollm2-full-stsb-glot-no-input-norm/,
#   results/glue/smollm2-full-stsb-glot-paper-preset/, results/glue/smollm2-full-cola-glot-readout-only/,
#   results/glue/smollm2-full-cola-glot-no-input-norm/, results/glue/smollm2-full-cola-glot-paper-preset/
source "$(dirname "$0")/_preamble.sh" append-log
declare -A ablation=([readout-only]="--num-layers 0" [no-input-norm]="--input-norm none" [paper-preset]="--preset paper")
declare -A recipe=([stsb]="--lr 3e-4 --epochs 4" [cola]="--lr 3e-3 --epochs 7")
for task in stsb cola; do
  for name in readout-only no-input-norm paper-preset; do
    set -x
    # shellcheck disable=SC2086  # the options are words
    $ST glue --backbone smollm2 --backbone-dtype bfloat16 --template prompteol --anchor none --task "$task" --data-dir "$DATA" \
      --pooling glot --seeds 0,1,2 ${recipe[$task]} ${ablation[$name]} --quiet \
      --output "benchmarks/results/glue/smollm2-full-$task-glot-$name" "$@"
    { set +x; } 2>/dev/null
  done
done
