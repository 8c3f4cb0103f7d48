#!/usr/bin/env bash
# CoLA on SmolLM2-135M with a wider grid (docs/benchmarks/glue.md, "GLUE at full size: SmolLM2-135M"): with
# {3e-4, 1e-3, 3e-3} and up to 8 epochs (glue_full_smollm2.sh, glue_smollm2_anchor.sh) four of six methods chose
# the grid's largest rate or its last epoch. Here every method, GLOT in its default configuration (the anchor),
# gets {1e-3, 3e-3, 1e-2} and up to 12 epochs, chosen on 10 % of the training set (seed 0); seeds 0, 1, 2.
# Same backbone set-up as those scripts (PromptEOL's template, bfloat16, frozen).
#   benchmarks/glue_smollm2_cola_wide.sh
source "$(dirname "$0")/_preamble.sh" append-log
set -x
$ST glue --backbone smollm2 --backbone-dtype bfloat16 --template prompteol --anchor auto --task cola --data-dir "$DATA" \
  --pooling glot,adapool,mean,max,prompteol --seeds 0,1,2 --lr-grid 1e-3,3e-3,1e-2 --epochs 12 \
  --validation-fraction 0.1 --paper-backbone SmolLM2-360M --quiet --output benchmarks/results/glue/smollm2-full-cola-wide-grid
