#!/usr/bin/env bash
# The demo of `make demo`: the whole pipeline on the embedded default.
#
#   1. the rule core alone: `mni assess` on the bundled example incidents;
#   2. a throwaway PostgreSQL, the librdkafka mock cluster and the schema registry on loopback
#      (scripts/mni-env), migrated, with the three workers (mni-ingest, mni-assess, mni-notify)
#      running, registering their schemas and framing with the registry's ids;
#   3. a BPO's week of incidents (examples/scenario): a misdirected batch mailing touching two
#      clients whose persons overlap, an insider case, an encrypted laptop theft, a line that is
#      not an event at all; later updates push the mailing past 100 distinct persons;
#   4. the state afterwards: cases, per-client and de-duplicated headcounts, deadlines, tasks,
#      documents, dead letters, and the mailing's case report as an HTML page.
# The environment is left running so that `bin/mni cases` and `bin/mni case ID` can be used
# afterwards; `scripts/mni-env down` stops it. The demo's clock for reminders and escalations
# is pinned (MNI_NOTIFY_CLOCK) so its output does not depend on the day it runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${MNI_BIN:-$PWD/bin}
export MNI_ENV_DIR=${MNI_ENV_DIR:-$PWD/.mni-env}
export MNI_NOTIFY_CLOCK=${MNI_NOTIFY_CLOCK:-2026-11-22T09:00:00+09:00}
export MNI_LOG_LEVEL=${MNI_LOG_LEVEL:-info}
started=$(date +%s)

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "1. The rule core: mni assess on examples/incidents"
for f in examples/incidents/*.json; do
  out=$("$bin/mni" assess --compact "$f")
  printf '%-40s %s %s %s\n' "$(basename "$f")" \
    "$(grep -o '"my_number":{"status":"[a-z]*","rules":\[[^]]*\]' <<<"$out" | sed 's/"my_number":{"status"://; s/"rules"://')" \
    "$(grep -o '"route":"[a-z_]*"' <<<"$out")" "$(grep -o '"final":"[0-9-]*"' <<<"$out" || true)"
done

say "2. Embedded environment: PostgreSQL + Kafka mock cluster, fresh"
scripts/mni-env down >/dev/null 2>&1 || true
scripts/mni-env up
# shellcheck disable=SC1091
. "$MNI_ENV_DIR/env"
"$bin/mni" db migrate
logs=$MNI_ENV_DIR/logs
mkdir -p "$logs"
# Each worker logs in as its own role (migration 0040) and signs the audit chain with a key
# the database never sees (0041).
export MNI_AUDIT_KEY_FILE=$MNI_ENV_DIR/audit.key
[ -f "$MNI_AUDIT_KEY_FILE" ] || "$bin/mni" token --generate-key "$MNI_AUDIT_KEY_FILE" >/dev/null
pids=()
for w in ingest assess notify; do
  role_conninfo=MNI_PG_CONNINFO_${w^^}
  MNI_PG_CONNINFO=${!role_conninfo} "$bin/mni-$w" >"$logs/$w.log" 2>&1 &
  pids+=($!)
done
stop_workers() { kill -TERM "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true; }
trap stop_workers EXIT
echo "workers started: mni-ingest mni-assess mni-notify (logs in $logs)"

sql() { psql "$MNI_PG_CONNINFO" -Atqc "$1"; }
# Waits until the query prints the expected value (90 s at most).
wait_for() {
  local what=$1 query=$2 want=$3 got=""
  for _ in $(seq 1 180); do
    got=$(sql "$query" 2>/dev/null || true)
    [ "$got" = "$want" ] && { echo "  ok: $what"; return 0; }
    sleep 0.5
  done
  echo "demo: timed out waiting for $what (want $want, got '$got'); worker logs:" >&2
  tail -n 20 "$logs"/*.log >&2
  exit 1
}
all_done="SELECT (SELECT count(*) FROM outbox_queue) + (SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL) = 0
          AND (SELECT count(*) FROM outbox WHERE topic = 'tasks')
            = (SELECT count(DISTINCT task_id) FROM deliveries)"

say "3a. First reports: 8 events, and one line that is not an event"
"$bin/mni" produce examples/scenario/01-first-reports.jsonl
"$bin/mni" produce --raw examples/scenario/03-bad-input.txt
wait_for "8 events applied" "SELECT count(*) FROM case_events" 8
wait_for "tasks relayed and rendered" "$all_done" t

say "3b. Later updates: the mailing's second batch passes 100 distinct persons"
"$bin/mni" produce examples/scenario/02-later-updates.jsonl
wait_for "11 events applied" "SELECT count(*) FROM case_events" 11
wait_for "tasks relayed and rendered" "$all_done" t
sleep 2 # one more sweeper tick for the new deadlines
wait_for "reminders and escalations rendered" "$all_done" t
stop_workers
trap - EXIT

say "4. Cases (mni cases)"
"$bin/mni" cases
say "The misdirected mailing (mni case INC-2026-0101)"
"$bin/mni" case INC-2026-0101
say "The insider case (mni case INC-2026-0102)"
"$bin/mni" case INC-2026-0102
say "Dead letters (mni dlq list)"
"$bin/mni" dlq list
say "The PPC report draft of the direct report (Markdown, first lines)"
sql "SELECT document FROM deliveries WHERE incident_id = 'INC-2026-0101' AND format = 'text'
     AND channel LIKE 'ppc%' ORDER BY delivery_id LIMIT 1" | sed -n '1,60p' # sed reads all: no SIGPIPE
say "Schema registry ($MNI_SCHEMA_REGISTRY_URL): the subjects our programs registered"
sql "SELECT subject || '  version ' || version || '  id ' || schema_id FROM registry_versions
     ORDER BY subject, version"
echo "  (kafkajs + @kafkajs/confluent-schema-registry, kafka-avro-console-consumer ... read the topics with it)"
say "The case as a page to file or print (mni report INC-2026-0101 --html)"
"$bin/mni" report INC-2026-0101 --html --as-of "$MNI_NOTIFY_CLOCK" --output "$logs/INC-2026-0101.html"
echo "  $logs/INC-2026-0101.html (deadlines as of $MNI_NOTIFY_CLOCK, the demo's clock)"
say "The audit log: hash chain and the workers' signatures (mni audit verify)"
"$bin/mni" audit verify
say "Done in $(( $(date +%s) - started )) s"
echo "The environment is still running: try 'bin/mni cases' or 'bin/mni case INC-2026-0103',"
echo "or 'bin/mni web' and open http://127.0.0.1:8080/ (the case list and pages, read-only);"
echo "stop it with 'scripts/mni-env down'."
