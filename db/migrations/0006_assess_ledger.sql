-- What the assess worker keeps beside the case itself.
--
-- case_events: every event the assess worker has applied, by event id. It is how a replayed or
-- re-delivered event is recognised and skipped (the worker inserts here first, ON CONFLICT DO
-- NOTHING, and applies the event only when the row is new), in the same transaction as the
-- event's effects and the consumer offsets.
CREATE TABLE case_events (
    event_id      text        PRIMARY KEY,
    incident_id   text        NOT NULL,
    kind          text        NOT NULL,
    occurred_at   timestamptz NOT NULL,
    applied_at    timestamptz NOT NULL DEFAULT now(),
    version_after integer     NOT NULL DEFAULT 0
);
CREATE INDEX case_events_incident ON case_events (incident_id, occurred_at);
CREATE TRIGGER case_events_append_only BEFORE UPDATE OR DELETE ON case_events
    FOR EACH ROW EXECUTE FUNCTION mni_refuse_change();

-- case_steps: the response steps of RULES.md §5 as they are completed (first completion
-- wins; a later report of the same step is kept in the event log only).
CREATE TABLE case_steps (
    incident_id  text        NOT NULL REFERENCES cases (incident_id),
    step         text        NOT NULL CHECK (step IN ('internal_report_containment',
                             'fact_investigation', 'scope_of_impact', 'preventive_measures',
                             'contact_persons', 'publication')),
    completed_at timestamptz NOT NULL,
    event_id     text        NOT NULL,
    PRIMARY KEY (incident_id, step)
);

-- case_filings: reports and notices the BPO says it filed; they meet the deadline of the same
-- kind (deadlines.met_at).
CREATE TABLE case_filings (
    event_id    text        PRIMARY KEY,
    incident_id text        NOT NULL REFERENCES cases (incident_id),
    report      text        NOT NULL,
    client_id   text,
    filed_at    timestamptz NOT NULL,
    reference   text        NOT NULL DEFAULT ''
);
CREATE INDEX case_filings_incident ON case_filings (incident_id);

-- A contract may ask for notice at once: 0 hours is a valid clock (the rule core accepts it).
ALTER TABLE client_exposure DROP CONSTRAINT IF EXISTS client_exposure_contract_notice_hours_check;
ALTER TABLE client_exposure ADD CONSTRAINT client_exposure_contract_notice_hours_check
    CHECK (contract_notice_hours >= 0);
