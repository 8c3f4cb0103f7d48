#!/usr/bin/env bash
# Column "SST-2 acc (full)" (mean and max) of the table "GLUE at full size: SmolLM2-135M" in docs/benchmarks/glue.md:
# the full SST-2 training set (67,349 texts), scored on the dev set (872), as glue_full_smollm2.sh (templated text,
# bfloat16 backbone) but with a smaller grid, for time: each method's learning rate from {3e-4, 1e-3} and its epochs (up
# to 3) chosen on 10 % of the training set, then seeds 0, 1, 2 trained on all of it. GLOT in its default configuration
# on a templated decoder (recommended preset with the anchor, --anchor auto). Two runs on one token-state cache: GLOT,
# AdaPool and PromptEOL (results/glue/smollm2-full-sst2/, not committed; no table reads it), then mean and max
# (results/glue/smollm2-full-sst2-mean-max/).
#   benchmarks/glue_full_smollm2_sst2.sh [more st-glot glue options]
# ST_GLOT names the st-glot command, ST_GLOT_DATA the data folder (default ../shared/data).
# Log: benchmarks/logs/glue_full_smollm2_sst2.log (and the terminal).
source "$(dirname "$0")/_preamble.sh" append-log
out=benchmarks/results/glue
set -x
sst2=(--backbone smollm2 --backbone-dtype bfloat16 --template prompteol --anchor auto --task sst2 --data-dir "$DATA"
      --seeds 0,1,2 --lr-grid 3e-4,1e-3 --epochs 3 --validation-fraction 0.1 --paper-backbone SmolLM2-360M --quiet "$@")
$ST glue "${sst2[@]}" --pooling glot,adapool,prompteol --output "$out/smollm2-full-sst2"
$ST glue "${sst2[@]}" --pooling mean,max --output "$out/smollm2-full-sst2-mean-max"
