#!/usr/bin/env bash
# Table "GLUE-style: SmolLM2-135M" of docs/benchmarks/glue.md (packaged GGUF decoder): the five pooling methods on
# 2000 rows of each split of CoLA, SST-2, STS-B and MRPC (a seeded, stratified sample; the committed run took the
# first 2000 rows, which --limit no longer does), one set of cached token states, 3 epochs, lr 2e-4, seed 42, plain
# text (--template none; the default is PromptEOL's template on decoders), batches grouped by length; GLOT with a
# centred graph, per-text standardised inputs and tau 0.3, as in the committed run (results/glue/smollm2-limit2000/).
# Usage: benchmarks/glue_smollm2.sh [more st-glot glue options]; ST_GLOT names the st-glot command and
# ST_GLOT_DATA the offline data folder (cola/, sst2/, stsb/, mrpc/; default ../shared/data).
# Log: benchmarks/logs/glue_smollm2.log (and the terminal).
source "$(dirname "$0")/_preamble.sh" log
out=benchmarks/results/glue
set -x
$ST glue --backbone smollm2 --template none --task cola,sst2,stsb,mrpc --data-dir "$DATA" --limit 2000 --epochs 3 \
  --batch-size 32 --lr 2e-4 --seed 42 --paper-backbone SmolLM2-360M --graph-norm center --input-norm standardize \
  --tau 0.3 --group-by-length "$@" --output "$out/smollm2-limit2000"
