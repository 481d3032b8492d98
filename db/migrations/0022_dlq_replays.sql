-- 0022: dead letters sent back to the events topic (`mni dlq replay`, cli/cmd_dlq.c), once each.
--
-- A dead letter is identified by where it sits on the dead-letter topic (topic, partition,
-- offset) AND by the digest of the message there (common/logcheck.h: SHA-256 over its
-- timestamp, key and value, 32 hex digits): offsets of a recreated topic repeat, its messages
-- do not. `mni dlq replay` inserts the row and produces the message in one transaction, and
-- commits only once the broker acknowledged every message: a dead letter with a row was
-- replayed; one without was not, or its replay failed and may be tried again. A crash between
-- the acknowledgement and the commit replays it a second time, which ingest absorbs (an event
-- id already in event_log changes nothing).
--
-- The row keeps what the dead letter said (reason, origin) and which incident and event it
-- carried (the message key, header mni.event_id), for the operator's record; never the value.
CREATE TABLE dlq_replays (
    dlq_topic        text        NOT NULL,
    dlq_partition    integer     NOT NULL CHECK (dlq_partition >= 0),
    dlq_offset       bigint      NOT NULL CHECK (dlq_offset >= 0),
    digest           text        NOT NULL CHECK (digest ~ '^[0-9a-f]{32}$'),
    reason           text        NOT NULL,
    origin_topic     text,
    origin_partition integer,
    origin_offset    bigint,
    incident_id      text,
    event_id         text,
    target_topic     text        NOT NULL,
    replayed_at      timestamptz NOT NULL DEFAULT now(),
    replayed_by      text        NOT NULL DEFAULT current_user,
    PRIMARY KEY (dlq_topic, dlq_partition, dlq_offset, digest)
);
CREATE INDEX dlq_replays_incident ON dlq_replays (incident_id);

CREATE TRIGGER dlq_replays_append_only BEFORE UPDATE OR DELETE ON dlq_replays
    FOR EACH ROW EXECUTE FUNCTION mni_refuse_change();
