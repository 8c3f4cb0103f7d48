#!/usr/bin/env bash
# Table "GLUE-style: SmolLM2-135M" of benchmarks/README.md (packaged GGUF decoder): the five pooling methods on
# the first 2000 rows of each split of CoLA, SST-2, STS-B and MRPC, one set of cached token states, 3 epochs,
# lr 2e-4, seed 42, plain text (--template none; the default is PromptEOL's template on decoders). First the committed run (GLOT: centred graph, per-text standardised inputs, tau 0.3; batches
# grouped by length), then GLOT with the recommended preset and random batches.
# Usage: benchmarks/glue_smollm2.sh [more st-glot glue options]; ST_GLOT names the st-glot command and
# ST_GLOT_DATA the offline data folder (cola/, sst2/, stsb/, mrpc/; default ../shared/data).
# Log: benchmarks/logs/glue_smollm2.log (and the terminal).
set -euo pipefail
cd "$(dirname "$0")/.."
ST=${ST_GLOT:-st-glot}
DATA=${ST_GLOT_DATA:-../shared/data}
out=benchmarks/results/glue
mkdir -p benchmarks/logs
exec > >(tee benchmarks/logs/glue_smollm2.log) 2>&1
set -x
common=(--backbone smollm2 --template none --task cola,sst2,stsb,mrpc --data-dir "$DATA" --limit 2000 --epochs 3 --batch-size 32 --lr 2e-4 --seed 42
        "$@")
$ST glue "${common[@]}" --paper-backbone SmolLM2-360M --graph-norm center --input-norm standardize --tau 0.3 \
  --group-by-length --output "$out/smollm2-limit2000"
$ST glue "${common[@]}" --pooling glot --preset recommended --output "$out/smollm2-limit2000-glot-running"
