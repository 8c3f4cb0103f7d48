# The common start of every benchmark script, sourced as its first command:
#   source "$(dirname "$0")/_preamble.sh" log|append-log|no-log
# Stops at the first failing command (also inside a pipe), works from the repository root, and sets
#   ST    the st-glot command (ST_GLOT, default st-glot)
#   PY    the Python interpreter (PYTHON, default python)
#   DATA  the offline data folder (ST_GLOT_DATA, default ../shared/data)
# With log, everything the script prints also goes to benchmarks/logs/<script>.log, rewritten on each run; with
# append-log it is added to that file, for scripts whose variants run one at a time; no-log keeps no log.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ST=${ST_GLOT:-st-glot}
PY=${PYTHON:-python}
DATA=${ST_GLOT_DATA:-../shared/data}
case "${1:-}" in
  log | append-log)
    mkdir -p benchmarks/logs
    log_file=benchmarks/logs/$(basename "$0" .sh).log
    if [ "$1" = log ]; then exec > >(tee "$log_file") 2>&1; else exec > >(tee -a "$log_file") 2>&1; fi
    ;;
  no-log) ;;
  *) echo "_preamble.sh: unknown log mode '${1:-}' (valid: log, append-log, no-log)" >&2; exit 2 ;;
esac
