-- 0011: which Kafka log a group's stored offsets belong to, and the events a group found gone
-- from the broker (common/logcheck.h, deploy/RUNBOOK.md).
--
-- consumer_offsets.last_digest identifies the message a group consumed last on a partition (at
-- next_offset - 1): the first 32 hex digits of a SHA-256 over its timestamp, key and value. On
-- assignment the worker reads that message again and compares; a different message there means
-- the topic or broker was recreated and the stored offsets belong to a log that is gone. NULL:
-- nothing to compare (rows written before this migration, a partition never read, right after
-- an operator accepted a new log).
--
-- consumer_offsets.log_epoch counts the logs an operator accepted on the partition (`mni
-- accept-new-log`): 0 for the first. Ingest records it with each event (event_log.src_epoch),
-- so that offsets of a new log may repeat those of the old one: an event's origin is
-- (src_topic, src_partition, src_epoch, src_offset).
ALTER TABLE consumer_offsets
    ADD COLUMN last_digest text CHECK (last_digest ~ '^[0-9a-f]{32}$'),
    ADD COLUMN log_epoch integer NOT NULL DEFAULT 0 CHECK (log_epoch >= 0);

ALTER TABLE event_log ADD COLUMN src_epoch integer NOT NULL DEFAULT 0 CHECK (src_epoch >= 0);
ALTER TABLE event_log DROP CONSTRAINT event_log_src_topic_src_partition_src_offset_key;
ALTER TABLE event_log ADD CONSTRAINT event_log_src_key
    UNIQUE (src_topic, src_partition, src_epoch, src_offset);

-- consumer_gaps: events gone from the broker before a group consumed them (retention, the mock
-- cluster's 5 MiB per partition, a group's first start on a log that no longer begins at 0):
-- offsets [first_offset, end_offset) of one partition. A worker with an unacknowledged row for
-- its group reports itself degraded on /healthz until an operator acknowledges the loss
-- (`mni ack-loss`). The worker writes the row and moves the group's offset past the gap in one
-- transaction; seeing the same gap again (a crash before that commit) updates the same row.
CREATE TABLE consumer_gaps (
    id              bigserial   PRIMARY KEY,
    group_id        text        NOT NULL,
    topic           text        NOT NULL,
    partition       integer     NOT NULL CHECK (partition >= 0),
    log_epoch       integer     NOT NULL DEFAULT 0 CHECK (log_epoch >= 0),
    first_offset    bigint      NOT NULL CHECK (first_offset >= 0),
    end_offset      bigint      NOT NULL,
    detected_at     timestamptz NOT NULL DEFAULT now(),
    acknowledged_at timestamptz,
    acknowledged_by text,
    CHECK (end_offset > first_offset),
    CHECK ((acknowledged_at IS NULL) = (acknowledged_by IS NULL)),
    UNIQUE (group_id, topic, partition, log_epoch, first_offset)
);
CREATE INDEX consumer_gaps_open ON consumer_gaps (group_id) WHERE acknowledged_at IS NULL;
