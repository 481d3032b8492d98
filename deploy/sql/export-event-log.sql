-- The accepted events as JSON lines, the form `mni produce` reads, in the order ingest accepted
-- them: to rebuild case state in a fresh database (docs/operators-guide.md "Backup, and
-- rebuilding case state from the event log"; tests/integration/test_rebuild.c runs it).
--
--   psql "$CONNINFO" -Atf deploy/sql/export-event-log.sql > events.jsonl
--
-- event_log_event(body, tokens) is the whole event as ingest decoded and checked it (a manifest's
-- tokens are kept as bytes beside the body, migration 0070; lib/model/events_json.h:
-- times in UTC, absent optional fields left out); jsonb's text form holds no line break (one
-- inside a string is written \n). An incident's events share one partition (they are keyed by
-- incident id), so within an incident this is the order its partition gave them; received_at
-- (the accepting transaction's time) orders the rest, also across a change of partition count
-- or a recreated log (src_epoch).
SELECT event_log_event(body, tokens)::text
FROM event_log
ORDER BY received_at, src_topic, src_partition, src_epoch, src_offset;
