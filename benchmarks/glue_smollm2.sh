#!/usr/bin/env bash
# GLUE-style comparison on the packaged SmolLM2-135M (GGUF): first 2000 rows of each split, all five
# pooling methods on one set of cached token states; GLOT with the decoder setting (centred graph,
# standardised inputs, tau 0.3), the baselines on the raw states. Data folder: $ST_GLOT_DATA.
set -euo pipefail
cd "$(dirname "$0")/.."
ST=${ST_GLOT:-st-glot}
DATA=${ST_GLOT_DATA:-../shared/data}
$ST glue --backbone smollm2 --task cola,sst2,stsb,mrpc --data-dir "$DATA" --limit 2000 --paper-backbone SmolLM2-360M \
  --graph-norm center --input-norm standardize --tau 0.3 --output benchmarks/results/glue/smollm2-limit2000 "$@"
