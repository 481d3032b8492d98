#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz (built by `make fuzz-build` into build/fuzz/fuzz/),
# one after the other, each for MNI_FUZZ_SECONDS (default 15), and reports each as one test in
# the cmocka summary form that scripts/run-tests.sh counts:
#   scripts/fuzz.sh [TARGET...]     fuzz (all targets when none is named: event, wire, ...)
#   scripts/fuzz.sh --merge         add what the last kept run found to tests/fuzz/corpus
# A run first replays every input of tests/fuzz/corpus/TARGET and tests/fuzz/regressions/TARGET
# (any crash, leak or sanitizer report there fails it at once), then mutates. New inputs go to a
# scratch directory (build/fuzz/work/TARGET with MNI_FUZZ_KEEP=1, for --merge), never into the
# checked-in corpus. A finding fails the target, and the input that caused it is copied to
# build/fuzz/findings/TARGET/; tests/fuzz/README.md says how it becomes a regression input.
set -uo pipefail
cd "$(dirname "$0")/.."
bindir=${MNI_FUZZ_BIN:-build/fuzz/fuzz}
seconds=${MNI_FUZZ_SECONDS:-15}
export MNI_SCHEMAS_DIR="${MNI_SCHEMAS_DIR:-$PWD/schemas}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

merge=0
if [ "${1:-}" = --merge ]; then merge=1; shift; fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for b in "$bindir"/fuzz_*; do [ -x "$b" ] && targets+=("$(basename "$b" | sed 's/^fuzz_//')"); done
fi
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no targets in $bindir (make fuzz-build)" >&2
  echo "[  FAILED  ] 1 test(s), listed below:"
  exit 1
fi

failed=0
for t in "${targets[@]}"; do
  bin="$bindir/fuzz_$t"
  corpus="tests/fuzz/corpus/$t" regress="tests/fuzz/regressions/$t"
  mkdir -p "$corpus" "$regress"
  if [ "$merge" -eq 1 ]; then
    work="build/fuzz/work/$t"
    [ -d "$work" ] || { echo "fuzz: $work: nothing kept to merge (make fuzz)"; continue; }
    "$bin" -merge=1 "$corpus" "$work" 2>&1 | tail -n 2
    "$bindir/make_seeds" --scrub "$corpus"   # no My Number pattern is ever checked in
    continue
  fi
  echo "[ RUN      ] fuzz_$t (${seconds} s)"
  if [ "${MNI_FUZZ_KEEP:-0}" = 1 ]; then work="build/fuzz/work/$t"; mkdir -p "$work"
  else work=$(mktemp -d); fi
  findings="build/fuzz/findings/$t"
  art=$(mktemp -d)
  log=$(mktemp)
  # -timeout: one input that takes 10 s is a finding (a loop); -rss_limit_mb: so is 2 GB.
  "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$art/" "$work" "$corpus" "$regress" >"$log" 2>&1
  rc=$?
  grep -E '^(#[0-9]+ +DONE|Done [0-9]+ runs|stat::number_of_executed_units|INFO: seed corpus)' "$log"
  crashes=$(find "$art" -type f | wc -l)
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    failed=$((failed + 1))
    tail -n 60 "$log"
    mkdir -p "$findings"
    find "$art" -type f -exec cp {} "$findings/" \;
    echo "fuzz_$t: exit $rc, finding(s) copied to $findings/ (tests/fuzz/README.md: make each a regression input)"
    echo "[  FAILED  ] fuzz_$t"
  else
    echo "[       OK ] fuzz_$t"
  fi
  rm -rf "$art" "$log"
  [ "${MNI_FUZZ_KEEP:-0}" = 1 ] || rm -rf "$work"
done
[ "$merge" -eq 1 ] && exit 0
n=${#targets[@]}
echo "[==========] $n fuzz target(s) run."
echo "[  PASSED  ] $((n - failed)) test(s)."
[ "$failed" -gt 0 ] && echo "[  FAILED  ] $failed test(s), listed above."
[ "$failed" -eq 0 ]
