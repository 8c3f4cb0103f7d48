#!/usr/bin/env bash
# Table "STS-B: poolers on PromptEOL-templated SmolLM2-135M states" (docs/benchmarks/glue.md):
# every pooler trained on the token states of the text wrapped in PromptEOL's template
# (`This sentence : "{text}" means in one word:"`), STS-B train (seeded stratified 2000-pair sample), full
# STS-B dev (1500 pairs), recommended GLOT preset, 3 epochs, lr 2e-4, seed 0. Parameter-free poolers
# (mean, PromptEOL = last token) train a linear projection, as in the paper's STS-B set-up.
#   benchmarks/stsb_smollm2_prompteol.sh [extra st-glot options]
source "$(dirname "$0")/_preamble.sh" log
set -x
$ST glue --task stsb --data-dir "$DATA" --limit 2000 --backbone smollm2 --template prompteol --anchor none \
  --pooling glot,adapool,mean,prompteol --epochs 3 --lr 2e-4 --seed 0 \
  --output benchmarks/results/glue/smollm2-prompteol-stsb-limit2000 "$@"
