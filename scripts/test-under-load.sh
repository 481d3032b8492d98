#!/usr/bin/env bash
# The whole suite, several rounds in a row, while other processes keep every core busy: the
# check that no test depends on having the machine to itself (a test waits for conditions,
# never for a time). `make test-under-load` builds first, then runs this.
#   scripts/test-under-load.sh [ROUNDS]   (default 3; MNI_LOAD_BURNERS: busy processes,
#                                          default one per core)
# Each burner is a shell busy loop at normal priority. Prints each round's summary line and
# ends with one line per round; exits non-zero when any round failed.
set -uo pipefail
rounds=${1:-3}
burners=${MNI_LOAD_BURNERS:-$(nproc)}
cd "$(dirname "$0")/.."

pids=()
stop_burners() { [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null; }
trap stop_burners EXIT
for _ in $(seq "$burners"); do
  (while :; do :; done) &
  pids+=($!)
done
echo "test-under-load: $burners busy processes, $rounds rounds"

results=() failed=0
for r in $(seq "$rounds"); do
  started=$(date +%s)
  log=$(mktemp /tmp/mni-test-round.XXXXXX)
  scripts/run-tests.sh build/san all 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
  rm -f "$log"
  results+=("round $r: exit $rc in $(($(date +%s) - started)) s; $summary")
  [ "$rc" -eq 0 ] || failed=1
done
echo "== test-under-load: $burners busy processes"
printf '%s\n' "${results[@]}"
exit $failed
