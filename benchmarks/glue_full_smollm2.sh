#!/usr/bin/env bash
# Table "GLUE at full size: SmolLM2-135M" of docs/benchmarks/glue.md (packaged GGUF decoder, frozen): the full
# training sets of CoLA (8551), STS-B (5749) and MRPC (3576), scored on the same evaluation splits as before (full
# SST-2: glue_full_smollm2_sst2.sh). The backbone runs in bfloat16, the poolers train in float32. Every text is read in PromptEOL's template, so
# "prompteol" is the last token of the same states (with a trained head/projection) and no separate "cls" row
# is needed. Fair tuning: each method's learning rate from {1e-4, 3e-4, 1e-3} and its epochs (up to 5) are chosen
# on 10 % of the training set (seed 0); CoLA: from {3e-4, 1e-3, 3e-3} and up to 8 epochs (with the first grid
# the best rate was the grid's largest and the training loss stayed near the class prior's entropy: see
# docs/benchmarks/glue.md); then seeds 0, 1, 2 train on all of it. GLOT: the recommended preset without the anchor
# (--anchor none, the default when this table was measured; glue_smollm2_anchor.sh adds the default GLOT rows).
# One `st-glot glue` per task, so each task's results land as soon as it finishes.
#   benchmarks/glue_full_smollm2.sh [TASK ...]      (default: stsb cola mrpc)
# ST_GLOT names the st-glot command, ST_GLOT_DATA the data folder (default ../shared/data).
# Log: benchmarks/logs/glue_full_smollm2.log. Table: python benchmarks/glue_table.py benchmarks/results/glue/smollm2-full-*
# Results: results/glue/smollm2-full-stsb/, results/glue/smollm2-full-cola/, results/glue/smollm2-full-mrpc/
source "$(dirname "$0")/_preamble.sh" append-log
tasks=("$@")
[ ${#tasks[@]} -gt 0 ] || tasks=(stsb cola mrpc)
for task in "${tasks[@]}"; do
  seeds=0,1,2 grid=1e-4,3e-4,1e-3 epochs=5
  case "$task" in
    stsb | mrpc) ;;
    cola) grid=3e-4,1e-3,3e-3 epochs=8 ;;  # CoLA's heads underfit at 5 epochs and lr <= 1e-3
    *) echo "glue_full_smollm2.sh: unknown task '$task' (valid: stsb cola mrpc; SST-2: glue_full_smollm2_sst2.sh)" >&2
       exit 2 ;;
  esac
  set -x
  $ST glue --backbone smollm2 --backbone-dtype bfloat16 --template prompteol --anchor none --task "$task" --data-dir "$DATA" \
    --pooling glot,adapool,mean,max,prompteol --seeds "$seeds" --lr-grid "$grid" --epochs "$epochs" \
    --validation-fraction 0.1 --paper-backbone SmolLM2-360M --quiet --output "benchmarks/results/glue/smollm2-full-$task"
  { set +x; } 2>/dev/null
done
