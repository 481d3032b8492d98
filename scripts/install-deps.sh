#!/usr/bin/env bash
# Installs the Debian 12 packages mni needs to build, test and run its embedded default,
# only when one is missing (so a second run costs nothing). Needs root or sudo for apt-get.
#   scripts/install-deps.sh           what the build, the demo and the workers need, and the
#                                     unit tests (cmocka; python3-yaml for tests/deploy)
#   scripts/install-deps.sh --test    also what only the tests need: Debian's Chromium (the web
#                                     pages are tested in a headless browser), Japanese fonts
#                                     for its screenshots, and curl (a client nobody here wrote)
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
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "mni: installing missing Debian packages: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "mni: packages installed"
