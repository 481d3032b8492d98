-- 0096: audit rows appended as a set (issue 6, W3).
--
-- The chain trigger of 0005 runs once per row: it takes the advisory lock, reads the head of
-- the chain, hashes, in a SECURITY DEFINER plpgsql call each time. mni-assess appends one row
-- per applied event and one per new case version, so in W3 that trigger was the largest cost
-- of assess's transaction (about 13% of PostgreSQL's statement time). audit_log_append takes
-- a batch's rows (a JSON array, in order, of {action, incident_id, client_id, payload}), locks
-- and reads the head once, computes each row's seq, at, prev_hash and hash exactly as the
-- trigger does (audit_log_hash, clock_timestamp() per row under the lock), and inserts them
-- with one statement. The chain and `mni audit verify` do not change; a row's content is the
-- same whichever way it was appended. Returns the last seq (NULL for no rows).
--
-- The trigger now runs only for rows that come without a hash, so that the function's rows
-- are not hashed twice. Who may supply a hash is therefore restricted: the workers' roles may
-- insert only the five content columns themselves (the trigger fills the rest) and append
-- through this function, which runs as the owner; the owner could always bypass the trigger.
CREATE FUNCTION audit_log_append(p_actor text, p_rows jsonb) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    last_seq  bigint;
    last_hash bytea;
    row_at    timestamptz;
    k         integer := 0;
    item      record;
    seqs      bigint[] := '{}';
    ats       timestamptz[] := '{}';
    prevs     bytea[] := '{}';
    hashes    bytea[] := '{}';
BEGIN
    -- The trigger's lock (0005): held until this transaction ends.
    PERFORM pg_advisory_xact_lock(x'6d6e692d61756474'::bigint);
    SELECT a.seq, a.hash INTO last_seq, last_hash FROM audit_log a ORDER BY a.seq DESC LIMIT 1;
    last_seq  := coalesce(last_seq, 0);
    last_hash := coalesce(last_hash, decode(repeat('00', 32), 'hex'));
    -- One pass over the array (indexing p_rows would detoast it once per row).
    FOR item IN SELECT x.e ->> 'action' AS action, x.e ->> 'incident_id' AS incident_id,
                       x.e ->> 'client_id' AS client_id,
                       coalesce(x.e -> 'payload', '{}') AS payload
                  FROM jsonb_array_elements(p_rows) WITH ORDINALITY AS x(e, n) ORDER BY x.n LOOP
        k := k + 1;
        last_seq := last_seq + 1;
        row_at := clock_timestamp();
        prevs[k] := last_hash;
        last_hash := audit_log_hash(last_hash, last_seq, row_at, p_actor, item.action,
                                    item.incident_id, item.client_id, item.payload);
        seqs[k] := last_seq;
        ats[k] := row_at;
        hashes[k] := last_hash;
    END LOOP;
    INSERT INTO audit_log (seq, at, actor, action, incident_id, client_id, payload, prev_hash,
                           hash)
    SELECT s.seq, s.at, p_actor, x.e ->> 'action', x.e ->> 'incident_id', x.e ->> 'client_id',
           coalesce(x.e -> 'payload', '{}'), s.prev, s.hash
      FROM unnest(seqs, ats, prevs, hashes) WITH ORDINALITY AS s(seq, at, prev, hash, n)
      JOIN jsonb_array_elements(p_rows) WITH ORDINALITY AS x(e, n) ON x.n = s.n;
    RETURN CASE WHEN k > 0 THEN last_seq END;
END
$$;
REVOKE EXECUTE ON FUNCTION audit_log_append(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_log_append(text, jsonb) TO mni_assess, mni_notify;

DROP TRIGGER audit_log_chain ON audit_log;
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
    FOR EACH ROW WHEN (NEW.hash IS NULL) EXECUTE FUNCTION audit_log_chain();

REVOKE INSERT ON audit_log FROM mni_assess, mni_notify;
GRANT INSERT (actor, action, incident_id, client_id, payload) ON audit_log
    TO mni_assess, mni_notify;
