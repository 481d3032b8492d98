#!/usr/bin/env bash
# Creates the pipeline's topics on a real Kafka cluster (idempotent: --if-not-exists).
#
#   deploy/create-topics.sh BOOTSTRAP [REPLICATION]
#
# Uses kafka-topics.sh from $KAFKA_HOME/bin (default /opt/kafka, as in the apache/kafka image).
# Names, partitions and compaction are those of lib/model/topics.c (tests/unit/test_topics.c
# checks this file against it; the embedded cluster takes its list from there too); more
# partitions allow more members per consumer group. The topic names are the defaults of the
# topic.* configuration keys: if you rename them there, rename them here too.
# case.assessments is compacted: it holds the latest assessment per incident (keyed by it).
# audit.anchors is compacted: the latest signed head of the audit chain per writer (keyed by the
# writer's role), a copy outside PostgreSQL that `mni audit verify` compares the chain with;
# hourly segments, so that compaction keeps what verify reads small (a few per worker role).
# Message sizes (README "Limits"): an event is at most 1 MiB framed; the workers' producers send
# at most 1,114,112 bytes (message.max.bytes, 1 MiB + 64 KiB for key and headers); every topic
# accepts 1,179,648 (max.message.bytes, 1 MiB + 128 KiB: the producer's limit plus the record
# batch's framing), so that whatever the producers may send, the broker takes.
set -euo pipefail
bootstrap=${1:?usage: create-topics.sh BOOTSTRAP [REPLICATION]}
replication=${2:-1}
topics_bin=${KAFKA_HOME:-/opt/kafka}/bin/kafka-topics.sh

create() {
  local name=$1 partitions=$2
  shift 2
  "$topics_bin" --bootstrap-server "$bootstrap" --create --if-not-exists --topic "$name" \
    --partitions "$partitions" --replication-factor "$replication" \
    --config max.message.bytes=1179648 "$@"
}

create incident.events 6
create incident.accepted 6
create incident.dlq 3
create case.assessments 6 --config cleanup.policy=compact
create notify.tasks 6
create tickets 3
create audit.anchors 1 --config cleanup.policy=compact --config segment.ms=3600000
"$topics_bin" --bootstrap-server "$bootstrap" --list
