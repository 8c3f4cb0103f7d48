#!/usr/bin/env bash
# Table "What the graph adds: stress test at 90 %" of docs/benchmarks/stress.md (issue 26): GLOT's default
# configuration with only the graph changed (--graph empty: each token only with itself; complete; random: the
# threshold graph's edge count placed at random; --num-layers 0: the readout alone), and NV-Embed's latent-attention
# pooling, beside GLOT's default (the threshold graph), at 90 % distractors, seeds 0,1,2, each backbone with the
# settings of its committed stress-test table (SmolLM2: stress_smollm2.sh; all-MiniLM-L6-v2: stress_minilm.sh).
# Usage: benchmarks/ablation_stress.sh [smollm2|minilm ...]   (default: smollm2 minilm)
# Log: benchmarks/logs/ablation_stress.log (and the terminal).
# Results: results/ablation/smollm2-threshold/, results/ablation/smollm2-empty/, results/ablation/smollm2-complete/,
#   results/ablation/smollm2-random/, results/ablation/smollm2-readout-only/, results/ablation/smollm2-latent/,
#   results/ablation/minilm-threshold/, results/ablation/minilm-empty/, results/ablation/minilm-complete/,
#   results/ablation/minilm-random/, results/ablation/minilm-readout-only/, results/ablation/minilm-latent/
source "$(dirname "$0")/_preamble.sh" append-log
out=benchmarks/results/ablation
declare -A setup=(
  [smollm2]="--backbone smollm2 --template none --generator balanced --train-size 1000 --eval-size 300"
  [minilm]="--generator balanced --train-size 2000 --eval-size 500 --group-by-length"
)
declare -A variant=([threshold]="--methods glot" [empty]="--methods glot --graph empty"
                    [complete]="--methods glot --graph complete" [random]="--methods glot --graph random"
                    [readout-only]="--methods glot --num-layers 0" [latent]="--methods latent")
backbones=("$@")
[ ${#backbones[@]} -gt 0 ] || backbones=(smollm2 minilm)
for backbone in "${backbones[@]}"; do
  for name in threshold empty complete random readout-only latent; do
    set -x
    # shellcheck disable=SC2086  # the set-up and variant options are words
    $ST stress-test ${setup[$backbone]} ${variant[$name]} --epochs 3 --batch-size 32 --lr 1e-3 --ratios 0.9 \
      --seeds 0,1,2 --quiet --explain 0 --output "$out/$backbone-$name"
    { set +x; } 2>/dev/null
  done
done
