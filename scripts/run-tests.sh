#!/usr/bin/env bash
# Runs the cmocka test binaries of a build and ends with one summary over all of them.
#   scripts/run-tests.sh BUILD_DIR unit|integration|all|faults
# (faults: test_faults alone; `make faults` runs it with MNI_FAULTS=full)
# Unit tests need no services. Integration tests need PostgreSQL and the mock Kafka cluster:
# this script starts the embedded environment (scripts/mni-env) when MNI_PG_CONNINFO is not
# set, and stops it afterwards.
set -uo pipefail
build=${1:?build dir}
which=${2:-all}
cd "$(dirname "$0")/.."
export MNI_BIN="${MNI_BIN:-$PWD/$build/bin}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

unit=() integ=()
for t in "$build"/tests/test_*; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  if [ -f "tests/unit/$name.c" ]; then unit+=("$t"); else integ+=("$t"); fi
done
# Checks of deploy/ and docs/ against the code (Python's unittest, python3-yaml); they need the
# built programs ($MNI_BIN) but no services.
for t in tests/deploy/test_*.py; do
  [ -f "$t" ] && unit+=("$t")
done
run=()
case "$which" in
  unit) run=("${unit[@]}") ;;
  integration) run=("${integ[@]}") ;;
  all) run=("${unit[@]}" "${integ[@]}") ;;
  faults) for t in "${integ[@]}"; do [ "$(basename "$t")" = test_faults ] && run+=("$t"); done ;;
  *) echo "usage: $0 BUILD_DIR unit|integration|all|faults" >&2; exit 2 ;;
esac

started_env=0
if [ "$which" != unit ] && [ ${#integ[@]} -gt 0 ] && [ -z "${MNI_PG_CONNINFO:-}" ]; then
  export MNI_ENV_DIR="${MNI_ENV_DIR:-$PWD/.mni-env-test}"
  if scripts/mni-env up >/tmp/mni-env-up.$$ 2>&1; then
    started_env=1
    # shellcheck disable=SC1091
    . "$MNI_ENV_DIR/env"
    # Tests encode with the local id table unless they opt into the registry, which they find
    # in the env file (tests/support/testenv.h: testenv_registry_url).
    unset MNI_SCHEMA_REGISTRY_URL
  else
    cat /tmp/mni-env-up.$$ >&2
    echo "run-tests: could not start the embedded environment; integration tests will fail" >&2
  fi
  rm -f /tmp/mni-env-up.$$
fi

passed=0 failed=0 broken=()
for t in "${run[@]}"; do
  echo "=== $(basename "$t")"
  log=$(mktemp)
  case "$t" in
  *.py)
    python3 "$t" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    # unittest: "Ran N tests", then "OK" or "FAILED (failures=F, errors=E)".
    n=$(sed -n 's/^Ran \([0-9]*\) test.*/\1/p' "$log" | tail -1)
    f=$(grep -E '^FAILED \(' "$log" | grep -oE '(failures|errors)=[0-9]+' | cut -d= -f2 |
      awk '{s+=$1} END {print s+0}')
    p=$(( ${n:-0} - f ))
    ;;
  *)
    "$t" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    p=$(grep -E '^\[  PASSED  \] [0-9]+ test' "$log" | awk '{s+=$4} END {print s+0}')
    f=$(grep -E '^\[  FAILED  \] [0-9]+ test' "$log" | awk '{s+=$4} END {print s+0}')
    ;;
  esac
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # a crash or sanitizer report
  passed=$((passed + p)) failed=$((failed + f))
  [ "$rc" -ne 0 ] && broken+=("$(basename "$t") (exit $rc)")
  rm -f "$log"
done

[ "$started_env" -eq 1 ] && scripts/mni-env down >/dev/null 2>&1

echo
echo "==================== summary over ${#run[@]} test programs"
for b in "${broken[@]}"; do echo "[  FAILED  ] $b"; done
if [ ${#run[@]} -eq 0 ]; then echo "no test programs found in $build/tests" >&2; exit 1; fi
echo "[==========] $((passed + failed)) test(s) run."
echo "[  PASSED  ] $passed test(s)."
[ "$failed" -gt 0 ] && echo "[  FAILED  ] $failed test(s)."
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#broken[@]} -eq 0 ]
