#!/usr/bin/env bash
# Row "SST-2 (10,000-row sample)" of "GLUE at full size: SmolLM2-135M" in docs/benchmarks/glue.md: SST-2 on a seeded,
# stratified sample of 10,000 training rows (the full 67,349 would take about 1.5 hours of this CPU), scored on the
# whole dev set (872), otherwise as glue_full_smollm2.sh: templated text, bfloat16 backbone, each method's learning
# rate from {3e-4, 1e-3} and its epochs (up to 3) chosen on 10 % of the sample, seed 0.
#   benchmarks/glue_smollm2_sst2_sample.sh [more st-glot glue options]
source "$(dirname "$0")/_preamble.sh" log
set -x
$ST glue --backbone smollm2 --backbone-dtype bfloat16 --template prompteol --anchor none --task sst2 --data-dir "$DATA" \
  --limit 10000 --pooling glot,adapool,mean,max,prompteol --seeds 0 --lr-grid 3e-4,1e-3 --epochs 3 \
  --validation-fraction 0.1 --quiet --output benchmarks/results/glue/smollm2-sst2-limit10000 "$@"
