#!/usr/bin/env bash
# Rows "GLOT, default (anchor)" of the table "GLUE at full size: SmolLM2-135M" in docs/benchmarks/glue.md: GLOT alone in
# its default configuration on a templated decoder (recommended preset, --anchor auto = the template's last token,
# weight 0.5), with the tuning of glue_full_smollm2.sh (its grid and epochs, seeds 0, 1, 2). The other rows of that
# table are glue_full_smollm2.sh's, whose GLOT row is the same pooler without the anchor (--anchor none).
# sst2-sample: the 10,000-row SST-2 sample of glue_smollm2_sst2_sample.sh (its grid, seed 0).
#   benchmarks/glue_smollm2_anchor.sh [TASK ...]   (default: stsb cola mrpc sst2-sample)
# ST_GLOT names the st-glot command, ST_GLOT_DATA the data folder (default ../shared/data).
# Results: results/glue/smollm2-full-stsb-glot-anchor/, results/glue/smollm2-full-cola-glot-anchor/,
#   results/glue/smollm2-full-mrpc-glot-anchor/, results/glue/smollm2-sst2-limit10000-glot-anchor/
source "$(dirname "$0")/_preamble.sh" append-log
tasks=("$@")
[ ${#tasks[@]} -gt 0 ] || tasks=(stsb cola mrpc sst2-sample)
for task in "${tasks[@]}"; do
  run=(--task "$task" --seeds 0,1,2 --lr-grid 1e-4,3e-4,1e-3 --epochs 5 --paper-backbone SmolLM2-360M)
  out=smollm2-full-$task-glot-anchor
  [ "$task" = cola ] && run=(--task cola --seeds 0,1,2 --lr-grid 3e-4,1e-3,3e-3 --epochs 8 --paper-backbone SmolLM2-360M)
  [ "$task" = sst2-sample ] && run=(--task sst2 --limit 10000 --seeds 0 --lr-grid 3e-4,1e-3 --epochs 3) \
    out=smollm2-sst2-limit10000-glot-anchor
  set -x
  $ST glue --backbone smollm2 --backbone-dtype bfloat16 --template prompteol --data-dir "$DATA" --pooling glot \
    --anchor auto "${run[@]}" --validation-fraction 0.1 --quiet --output "benchmarks/results/glue/$out"
  { set +x; } 2>/dev/null
done
