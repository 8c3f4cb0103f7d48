#!/usr/bin/env bash
# Table "GLUE-style: all-MiniLM-L6-v2" of docs/benchmarks/glue.md: the five pooling methods on 2000 rows of each split
# of CoLA, SST-2, STS-B and MRPC (a seeded, stratified sample; the committed run took the first 2000 rows, which
# --limit no longer does), one set of cached token states; GLOT with the paper's settings.
# 3 epochs, lr 2e-4, seed 42, batches grouped by length, as in the committed run.
# Usage: benchmarks/glue_minilm.sh [more st-glot glue options]; ST_GLOT names the st-glot command and
# ST_GLOT_DATA the offline data folder (cola/, sst2/, stsb/, mrpc/; default ../shared/data).
# Log: benchmarks/logs/glue_minilm.log (and the terminal).
source "$(dirname "$0")/_preamble.sh" log
set -x
$ST glue --task cola,sst2,stsb,mrpc --data-dir "$DATA" --limit 2000 --epochs 3 --batch-size 32 --lr 2e-4 --seed 42 \
  --paper-backbone BERT-base --preset paper \
  --group-by-length "$@" --output benchmarks/results/glue/minilm-limit2000
