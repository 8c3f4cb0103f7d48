#!/usr/bin/env bash
# Table "Generalisation: SmolLM2-135M" of docs/benchmarks/generalisation.md: `st-glot generalisation` (leave-one-genre-out
# STS-B, STS-B dev and zero-shot MRPC ROC-AUC for models trained with CoSENT on STS-B train, MNRL on positive
# pairs scored on STS-B dev and Banking77) for GLOT (recommended preset without the anchor: --anchor none, the
# default when this table was measured; generalisation_smollm2_anchor.sh gives the default GLOT rows), AdaPool,
# mean, max and PromptEOL, each trained with a linear projection after the pooler, 3 epochs at lr 2e-4, seeds 0,
# 1, 2; mean, max and PromptEOL also untrained. The decoder reads every text in PromptEOL's template (the default, --template auto) and runs in
# bfloat16, as in glue_full_smollm2.sh (the same token-state cache). Banking77: a seeded, stratified sample of
# 2000 rows of each split.
#   benchmarks/generalisation_smollm2.sh [more st-glot generalisation options]
# ST_GLOT names the st-glot command, ST_GLOT_DATA the data folder (default ../shared/data).
source "$(dirname "$0")/_preamble.sh" log
set -x
$ST generalisation --backbone smollm2 --backbone-dtype bfloat16 --anchor none --data-dir "$DATA" \
  --pooling glot,adapool,mean,max,prompteol --seeds 0,1,2 --epochs 3 --lr 2e-4 --banking77-limit 2000 --quiet \
  --output benchmarks/results/generalisation/smollm2 "$@"
