#!/usr/bin/env bash
# The demo of `make demo`: assesses the bundled example incidents with `mni assess` and prints
# each verdict. (The pipeline demo replaces this once the workers land.)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${MNI_BIN:-bin}
for f in examples/incidents/*.json; do
  echo "=== $f"
  "$bin/mni" assess "$f"
done
