#!/usr/bin/env bash
# The benchmarks of `make bench` (release build). The rule core needs nothing; the manifest
# merge needs PostgreSQL, so an embedded environment of its own is started and stopped here
# unless MNI_PG_CONNINFO is already set. Figures are rates and ratios to a baseline measured in
# the same run on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== rule core"
build/rel/bench/bench_rules
echo
echo "== manifest merge (PostgreSQL)"
started=0
if [ -z "${MNI_PG_CONNINFO:-}" ]; then
  export MNI_ENV_DIR="$PWD/.mni-env-bench"
  scripts/mni-env up >/dev/null
  started=1
  # shellcheck disable=SC1091
  . "$MNI_ENV_DIR/env"
fi
rc=0
build/rel/bench/bench_manifest "${MNI_BENCH_TOKENS:-200000}" || rc=$?
[ "$started" -eq 1 ] && scripts/mni-env down >/dev/null
exit "$rc"
