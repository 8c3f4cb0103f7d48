#!/usr/bin/env bash
# Rows "GLOT, default (anchor)" of the table "GLUE at full size: SmolLM2-135M" in benchmarks/README.md: GLOT alone in
# its default configuration on a templated decoder (recommended preset, --anchor auto = the template's last token,
# weight 0.5), with the tuning of glue_full_smollm2.sh (its grid and epochs, seeds 0, 1, 2). The other rows of that
# table are glue_full_smollm2.sh's, whose GLOT row is the same pooler without the anchor (--anchor none).
#   benchmarks/glue_smollm2_anchor.sh [TASK ...]   (default: stsb cola mrpc)
# ST_GLOT names the st-glot command, ST_GLOT_DATA the data folder (default ../shared/data).
set -euo pipefail
cd "$(dirname "$0")/.."
ST=${ST_GLOT:-st-glot}
DATA=${ST_GLOT_DATA:-../shared/data}
mkdir -p benchmarks/logs
exec > >(tee -a benchmarks/logs/glue_smollm2_anchor.log) 2>&1
tasks=("$@")
[ ${#tasks[@]} -gt 0 ] || tasks=(stsb cola mrpc)
for task in "${tasks[@]}"; do
  grid=1e-4,3e-4,1e-3 epochs=5
  [ "$task" = cola ] && grid=3e-4,1e-3,3e-3 epochs=8
  set -x
  $ST glue --backbone smollm2 --backbone-dtype bfloat16 --template prompteol --task "$task" --data-dir "$DATA" \
    --pooling glot --anchor auto --seeds 0,1,2 --lr-grid "$grid" --epochs "$epochs" --validation-fraction 0.1 \
    --paper-backbone SmolLM2-360M --quiet --output "benchmarks/results/glue/smollm2-full-$task-glot-anchor"
  { set +x; } 2>/dev/null
done
