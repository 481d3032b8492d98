#!/usr/bin/env bash
# Installs the Debian 12 packages mni needs to build, test and run its embedded default,
# only when one is missing (so a second run costs nothing). Needs root or sudo for apt-get.
#   scripts/install-deps.sh           what the build, the demo and the workers need, and the
#                                     unit tests (cmocka; python3-yaml for tests/deploy)
#   scripts/install-deps.sh --test    also what only the tests need: Debian's Chromium (the web
#                                     pages are tested in a headless browser), Japanese fonts
#                                     for its screenshots, curl (a client nobody here wrote),
#                                     Node.js with npm and the npm packages of tests/node (a
#                                     Kafka consumer nobody here wrote: kafkajs and
#                                     @kafkajs/confluent-schema-registry, versions pinned in its
#                                     package-lock.json, installed with `npm ci`)
#   scripts/install-deps.sh --bench   what `make bench` needs besides: Debian's Python with
#                                     the packages of its drivers and Python baseline (bench/)
set -euo pipefail
packages=(gcc make pkg-config librdkafka-dev libavro-dev libpq-dev postgresql postgresql-client
          libcmocka-dev libjansson-dev libssl-dev libmicrohttpd-dev libcurl4-openssl-dev
          python3 python3-yaml)
if [ "${1:-}" = --test ]; then
  packages+=(chromium fonts-noto-cjk curl)
elif [ "${1:-}" = --bench ]; then
  packages=(python3 python3-psycopg2 python3-confluent-kafka)
fi
# Node.js: Debian's nodejs and npm, unless a node with npm is already installed (for example
# NodeSource's nodejs, which bundles npm and conflicts with Debian's npm package).
if [ "${1:-}" = --test ] && ! { command -v node && command -v npm; } >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi
# The npm packages of tests/node, once node is there (after the apt step below).
node_modules() {
  [ "${1:-}" = --test ] || return 0
  local dir
  dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../tests/node" && pwd)
  [ -f "$dir/node_modules/.package-lock.json" ] && [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ] && return 0
  echo "mni: installing the npm packages of tests/node (npm ci)"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  node_modules "${1:-}"
  exit 0
fi
echo "mni: installing missing Debian packages: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "mni: packages installed"
node_modules "${1:-}"
