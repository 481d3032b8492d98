-- 0050: events that wait for their incident to be opened (issue 8, "Out of order is normal").
--
-- Producers are independent systems: a manifest exporter may send before the helpdesk opens
-- the incident. Ingest stores such an event in event_log like any accepted event, and parks it
-- here instead of forwarding it; when the incident's incident_opened is accepted, ingest
-- forwards the opening event and right after it every event waiting for that incident, in
-- order of occurred_at (ties: where they were read, src_epoch, src_partition, src_offset), and
-- deletes their rows, in the same transaction as its consumer offsets (ingest/waiting_store.h).
--
--  * payload is the original framed message, forwarded byte for byte as it came (the writer's
--    schema id and encoding), like every forward of ingest. It passed every admission test
--    (no raw My Number).
--  * occurred_at and the origin are event_log's (the row references it); they are repeated here
--    so that the release reads one table in the order it forwards.
--  * waiting_since is when ingest parked it: the age `mni case` and the worker's metrics show.
--    reported_at is set once the wait passed ingest.waiting.warn.after and was logged: the
--    event still waits, it is never dropped.
CREATE TABLE waiting_events (
    event_id      text        PRIMARY KEY REFERENCES event_log (event_id),
    incident_id   text        NOT NULL,
    kind          text        NOT NULL,
    occurred_at   timestamptz NOT NULL,
    src_epoch     integer     NOT NULL,
    src_partition integer     NOT NULL CHECK (src_partition >= 0),
    src_offset    bigint      NOT NULL CHECK (src_offset >= 0),
    payload       bytea       NOT NULL,
    waiting_since timestamptz NOT NULL DEFAULT now(),
    reported_at   timestamptz
);
CREATE INDEX waiting_events_incident
    ON waiting_events (incident_id, occurred_at, src_epoch, src_partition, src_offset);
CREATE INDEX waiting_events_since ON waiting_events (waiting_since);
