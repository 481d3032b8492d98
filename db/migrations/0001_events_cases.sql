-- 0001: the event log, cases and case versions.
--
-- Applied by pgx_migrate (common/pgx.c) in one transaction with its schema_migrations row.
-- Migrations are immutable once applied anywhere: change the schema with a new file.
--
-- Conventions for every table of this schema:
--  * Identifiers (event, incident, tenant, client, task) are text as the producers send them.
--  * Every row that belongs to one client carries client_id, so that row-level security per
--    client role can be switched on later without reshaping tables (the BPO's role sees all).
--  * No raw My Number is ever stored: producers send person tokens (HMAC-SHA256 of a person
--    key), and ingest refuses any text holding a 12-digit number with a valid check digit
--    before it reaches a jsonb column here (dead-letter reason raw_my_number).
--  * Append-only tables refuse UPDATE, DELETE and TRUNCATE with a trigger. That stops mistakes
--    and application bugs; a superuser can still disable triggers, which is why the audit log
--    is hash-chained (0005) and the application role should lack the privilege as well.

-- Shared by every append-only table: refuses the change and names the table.
CREATE FUNCTION mni_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'rows of this table are evidence; record a correction as a new row';
END
$$;

-- event_log: every accepted incident event, as ingest received it. Append-only.
--  * event_id is the producer's id: a re-delivered event (producer retry, replay) is the same
--    row, so ingest inserts with ON CONFLICT DO NOTHING.
--  * (src_topic, src_partition, src_offset) is where the event was read; one Kafka record
--    yields at most one row.
--  * body is the decoded event body as JSON (person tokens, counts, facts), never raw My
--    Numbers; free-text fields are stored only after the My Number scan passed.
--  * client_id is set for client-scoped events (exposure manifest, exposure count).
CREATE TABLE event_log (
    event_id      text        PRIMARY KEY,
    incident_id   text        NOT NULL,
    tenant        text        NOT NULL,
    client_id     text,
    kind          text        NOT NULL,
    occurred_at   timestamptz NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    src_topic     text        NOT NULL,
    src_partition integer     NOT NULL CHECK (src_partition >= 0),
    src_offset    bigint      NOT NULL CHECK (src_offset >= 0),
    body          jsonb       NOT NULL,
    UNIQUE (src_topic, src_partition, src_offset)
);
CREATE INDEX event_log_incident ON event_log (incident_id, occurred_at);

CREATE TRIGGER event_log_append_only BEFORE UPDATE OR DELETE ON event_log
    FOR EACH ROW EXECUTE FUNCTION mni_refuse_change();
CREATE TRIGGER event_log_no_truncate BEFORE TRUNCATE ON event_log
    FOR EACH STATEMENT EXECUTE FUNCTION mni_refuse_change();

-- cases: the current state of each incident, one row per incident, updated in place by assess
-- in the same transaction as the version it derives from.
--  * version = the highest case_versions.version of the incident (0 before the first verdict);
--    it never decreases.
--  * facts is the merged fact set the rule core last assessed (JSON, the `mni assess` input).
--  * mandatory_since is when a reporting obligation first fired (e.g. the affected count
--    passing 100): the legal clocks start there. Once set it never moves, even when later
--    facts would no longer trigger the obligation (enforced below).
--  * persons_total is the exact de-duplicated number of persons over all clients
--    (= count(*) of incident_persons for the incident), kept by the same transaction that adds
--    tokens.
--  * status: open, closed (response finished) or withdrawn (it was not a leak); closed_at is set
--    with either of the last two.
CREATE TABLE cases (
    incident_id     text        PRIMARY KEY,
    tenant          text        NOT NULL,
    opened_at       timestamptz NOT NULL,
    known_at        timestamptz,
    status          text        NOT NULL DEFAULT 'open'
                                CHECK (status IN ('open', 'closed', 'withdrawn')),
    reportable      boolean     NOT NULL DEFAULT false,
    direct_report   boolean     NOT NULL DEFAULT false,
    version         integer     NOT NULL DEFAULT 0 CHECK (version >= 0),
    facts           jsonb       NOT NULL DEFAULT '{}',
    persons_total   bigint      NOT NULL DEFAULT 0 CHECK (persons_total >= 0),
    mandatory_since timestamptz,
    closed_at       timestamptz,
    last_event_id   text,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'open') = (closed_at IS NULL))
);
CREATE INDEX cases_open ON cases (tenant, opened_at) WHERE status = 'open';

CREATE FUNCTION cases_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.mandatory_since IS NOT NULL
       AND NEW.mandatory_since IS DISTINCT FROM OLD.mandatory_since THEN
        RAISE EXCEPTION 'cases %: mandatory_since is fixed once set (% -> %)',
            OLD.incident_id, OLD.mandatory_since, NEW.mandatory_since
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.version < OLD.version THEN
        RAISE EXCEPTION 'cases %: version cannot decrease (% -> %)',
            OLD.incident_id, OLD.version, NEW.version
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.incident_id <> OLD.incident_id THEN
        RAISE EXCEPTION 'cases %: incident_id cannot change', OLD.incident_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER cases_guard BEFORE UPDATE ON cases
    FOR EACH ROW EXECUTE FUNCTION cases_guard();

-- case_versions: every distinct verdict an incident went through. Append-only.
--  * A version is stored only when the verdict changes; versions are 1, 2, 3... per incident.
--  * verdict is the rule core's output (JSON, as `mni assess` prints it); rules lists the rule
--    ids that fired, for queries without parsing the JSON.
--  * cause_event_id is the event whose fact produced this verdict (NULL when time alone did,
--    e.g. a clock expiring). It refers to event_log.event_id but is not a foreign key: ingest
--    and assess commit independently.
CREATE TABLE case_versions (
    incident_id    text        NOT NULL REFERENCES cases (incident_id),
    version        integer     NOT NULL CHECK (version > 0),
    verdict        jsonb       NOT NULL,
    rules          text[]      NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL DEFAULT now(),
    cause_event_id text,
    PRIMARY KEY (incident_id, version)
);

CREATE TRIGGER case_versions_append_only BEFORE UPDATE OR DELETE ON case_versions
    FOR EACH ROW EXECUTE FUNCTION mni_refuse_change();
CREATE TRIGGER case_versions_no_truncate BEFORE TRUNCATE ON case_versions
    FOR EACH STATEMENT EXECUTE FUNCTION mni_refuse_change();
