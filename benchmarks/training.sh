#!/usr/bin/env bash
# Table "Training costs" of docs/benchmarks/performance.md: ms per training step of GLOT on cached states, with the
# backbone recomputed, with full fine-tuning and with LoRA, on all-MiniLM-L6-v2 and SmolLM2-135M; the cache's
# size on STS-B; STS-B dev Spearman of a trained GLOT pooler (training.json).
# Usage: benchmarks/training.sh; PYTHON names the Python to use and ST_GLOT_DATA the offline data folder
# (stsb/; default ../shared/data). Log: benchmarks/logs/training.log (and the terminal).
# Results: results/training.json
source "$(dirname "$0")/_preamble.sh" log
set -x
$PY benchmarks/bench_training.py --data-dir "$DATA"
