#!/usr/bin/env bash
# The benchmarks of `make bench` (release build in bin/ and build/rel/bench/): bench/run.py
# runs the rule core, then the pipeline end to end on an embedded environment of its own
# (scripts/mni-env in $MNI_BENCH_ENV_DIR, default .mni-env-bench/, created fresh and removed
# at the end), and prints every figure with its baseline and its target. MNI_BENCH_SCALE=0.1
# (make bench-quick) runs each workload at a tenth of its size; bench/README.md says more.
# Debian's Python (/usr/bin/python3) on purpose: its python3-psycopg2 and
# python3-confluent-kafka are what the harness and the Python baseline use.
set -euo pipefail
cd "$(dirname "$0")/.."
export MNI_ENV_DIR="${MNI_BENCH_ENV_DIR:-$PWD/.mni-env-bench}"
# One run per environment: a second one would take the first's environment down under it (the
# `mni-env down` below) and both would end on a harness error. flock -o holds the lock in flock
# itself, so that no daemon the run starts keeps it after the run.
lock="$MNI_ENV_DIR.lock"
if [ "${MNI_BENCH_LOCKED:-}" != 1 ]; then
  rc=0
  MNI_BENCH_LOCKED=1 flock -n -o -E 75 "$lock" "$0" "$@" || rc=$?
  if [ "$rc" -eq 75 ]; then
    echo "bench: another run uses $MNI_ENV_DIR (it holds $lock): wait for it to end, or set" \
      "MNI_BENCH_ENV_DIR and MNI_PG_PORT to run beside it (the figures of both will suffer)" >&2
  fi
  exit "$rc"
fi
scripts/mni-env down >/dev/null 2>&1 || true
exec /usr/bin/python3 bench/run.py
