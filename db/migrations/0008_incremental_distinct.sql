-- The incident's distinct person tokens, kept incrementally: each manifest merge adds the rows
-- it inserted into incident_persons (ON CONFLICT DO NOTHING counts only new persons), in the
-- same transaction. Re-counting incident_persons on every event would grow with the incident
-- (millions of tokens); this stays exact and costs nothing per event.
ALTER TABLE cases ADD COLUMN distinct_tokens bigint NOT NULL DEFAULT 0
    CHECK (distinct_tokens >= 0);
UPDATE cases c SET distinct_tokens = (SELECT count(*) FROM incident_persons p
                                      WHERE p.incident_id = c.incident_id);
