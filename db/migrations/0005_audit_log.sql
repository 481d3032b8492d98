-- 0005: the audit log: append-only, hash-chained evidence of case changes, rendered documents
-- and deliveries.
--
-- Each row's hash covers its own content and the previous row's hash:
--
--   hash = sha256(prev_hash || convert_to(jsonb_build_array(seq, at in UTC with microseconds,
--                                          actor, action, incident_id, client_id, payload)::text,
--                                          'UTF8'))
--
-- (audit_log_hash below; sha256() is built into PostgreSQL 11+, no extension needed). The first
-- row's prev_hash is 32 zero bytes. Changing, removing or inserting a row anywhere breaks every
-- later link, which audit_log_verify() finds; the triggers refuse UPDATE, DELETE and TRUNCATE
-- outright, so the chain can only break by someone bypassing them (a superuser disabling
-- triggers), and then it shows.
--
-- Writers insert (actor, action, incident_id, client_id, payload) only; the BEFORE INSERT
-- trigger assigns seq, at, prev_hash and hash. To keep the chain one line, the trigger takes a
-- transaction-level advisory lock before reading the last row, so audit appends are serialized
-- until their transactions commit: append audit rows late in a transaction, once per batch
-- rather than per row where possible. Under READ COMMITTED (the default) a waiting writer sees
-- the previous writer's row once the lock is granted; under REPEATABLE READ or SERIALIZABLE it
-- may not, and then its insert fails on the seq primary key instead of forking the chain
-- (retry the transaction).
--
-- payload is JSON of identifiers, digests and outcomes (version numbers, rule ids, document
-- sha256, channel, recipient kind), never free text from events.
CREATE TABLE audit_log (
    seq         bigint      PRIMARY KEY CHECK (seq > 0),
    at          timestamptz NOT NULL,
    actor       text        NOT NULL,
    action      text        NOT NULL,
    incident_id text,
    client_id   text,
    payload     jsonb       NOT NULL DEFAULT '{}',
    prev_hash   bytea       NOT NULL CHECK (octet_length(prev_hash) = 32),
    hash        bytea       NOT NULL UNIQUE CHECK (octet_length(hash) = 32)
);
CREATE INDEX audit_log_incident ON audit_log (incident_id, seq);

-- The hash of one row given the previous row's hash. STABLE, not IMMUTABLE: to_char and the
-- jsonb text form are fixed for a given server version, but not promised forever.
CREATE FUNCTION audit_log_hash(p_prev bytea, p_seq bigint, p_at timestamptz, p_actor text,
                               p_action text, p_incident_id text, p_client_id text,
                               p_payload jsonb)
RETURNS bytea
LANGUAGE sql STABLE AS $$
    SELECT sha256(p_prev || convert_to(jsonb_build_array(
               p_seq,
               to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
               p_actor, p_action, p_incident_id, p_client_id, p_payload)::text, 'UTF8'))
$$;

CREATE FUNCTION audit_log_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    last_seq  bigint;
    last_hash bytea;
BEGIN
    -- The key is "mni-audt"; held until this transaction ends.
    PERFORM pg_advisory_xact_lock(x'6d6e692d61756474'::bigint);
    SELECT seq, hash INTO last_seq, last_hash FROM audit_log ORDER BY seq DESC LIMIT 1;
    NEW.seq       := coalesce(last_seq, 0) + 1;
    NEW.prev_hash := coalesce(last_hash, decode(repeat('00', 32), 'hex'));
    -- clock_timestamp(), not now(): taken under the lock, so at never decreases along seq.
    NEW.at        := clock_timestamp();
    NEW.payload   := coalesce(NEW.payload, '{}');
    NEW.hash      := audit_log_hash(NEW.prev_hash, NEW.seq, NEW.at, NEW.actor, NEW.action,
                                    NEW.incident_id, NEW.client_id, NEW.payload);
    RETURN NEW;
END
$$;

CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_chain();
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION mni_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION mni_refuse_change();

-- Checks the whole chain: NULL when intact, else the seq of the first row whose prev_hash does
-- not match its predecessor's hash, whose hash does not match its content, or that follows a
-- gap in seq.
CREATE FUNCTION audit_log_verify() RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT min(seq) FROM (
        SELECT seq, prev_hash, hash,
               lag(hash) OVER w AS prev_row_hash,
               lag(seq) OVER w AS prev_seq,
               audit_log_hash(prev_hash, seq, at, actor, action, incident_id, client_id,
                              payload) AS expected
          FROM audit_log
        WINDOW w AS (ORDER BY seq)
    ) chain
    WHERE hash <> expected
       OR prev_hash <> coalesce(prev_row_hash, decode(repeat('00', 32), 'hex'))
       OR seq <> coalesce(prev_seq, 0) + 1
$$;
