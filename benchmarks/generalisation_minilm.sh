#!/usr/bin/env bash
# Table "Generalisation: all-MiniLM-L6-v2" of docs/benchmarks/generalisation.md: `st-glot generalisation` (leave-one-genre-out
# STS-B, STS-B dev and zero-shot MRPC ROC-AUC for models trained with CoSENT on STS-B train, MNRL on positive
# pairs scored on STS-B dev and Banking77) for GLOT (recommended preset), AdaPool, mean, max and CLS, each trained
# (a projection for the parameter-free ones) 3 epochs at lr 2e-4, seeds 0, 1, 2; mean, max and CLS also
# untrained. Plain text (an encoder: --template auto leaves it plain). Banking77: a seeded, stratified sample of
# 2000 rows of each split, as for SmolLM2.
#   benchmarks/generalisation_minilm.sh [more st-glot generalisation options]
# ST_GLOT names the st-glot command, ST_GLOT_DATA the data folder (default ../shared/data).
source "$(dirname "$0")/_preamble.sh" log
set -x
$ST generalisation --data-dir "$DATA" --pooling glot,adapool,mean,max,cls --seeds 0,1,2 --epochs 3 --lr 2e-4 \
  --banking77-limit 2000 --quiet --output benchmarks/results/generalisation/minilm "$@"
