-- 0133: audit_log_append hashes the chain over contents computed as a set (issue 6, W3).
--
-- 0096's function walked the batch's rows in a PL/pgSQL loop: per row a cursor fetch, the
-- row's fields taken out of the JSON, clock_timestamp(), audit_log_hash's JSON text and digest
-- and four array appends, then a second pass over the JSON to insert. In W3's statement
-- profile it is the largest single statement (bench/README.md "PostgreSQL's writes per W3
-- event"), though of its 10 to 13 us of CPU a row about 7 are the INSERT itself. Only the
-- digest is sequential: each row's hash covers its predecessor's. So one statement now takes
-- every row's fields out of the JSON, gives it its at (clock_timestamp(), row by row in array
-- order) and builds the bytes the digest covers, exactly audit_log_hash's (0005):
--
--   convert_to(jsonb_build_array(seq, at in UTC with microseconds, actor, action, incident_id,
--                                client_id, payload)::text, 'UTF8')
--
-- the loop does nothing but hash = sha256(prev_hash || bytes), and one INSERT writes the rows
-- from the arrays. The chain's definition, its lock (taken first, held until the transaction
-- ends: appends stay one line in commit order, 0005), the head read, at never decreasing
-- along seq and the return value (the new head's seq, NULL for no rows) are unchanged;
-- audit_log_verify() and `mni audit verify` check the same formula. tests/integration/
-- test_db.c (audit_chain_links, audit_append_large_batch) recomputes it independently. The
-- gain is small: about 1 us a row of 10 to 13, measured alone (bench/writes_micro.py).
CREATE OR REPLACE FUNCTION audit_log_append(p_actor text, p_rows jsonb) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    last_seq  bigint;
    last_hash bytea;
    n         integer;
    ats       timestamptz[];
    actions   text[];
    incidents text[];
    clients   text[];
    payloads  jsonb[];
    contents  bytea[];
    hashes    bytea[];
BEGIN
    -- The trigger's lock (0005): held until this transaction ends.
    PERFORM pg_advisory_xact_lock(x'6d6e692d61756474'::bigint);
    SELECT a.seq, a.hash INTO last_seq, last_hash FROM audit_log a ORDER BY a.seq DESC LIMIT 1;
    last_seq  := coalesce(last_seq, 0);
    last_hash := coalesce(last_hash, decode(repeat('00', 32), 'hex'));
    -- OFFSET 0 keeps the subquery apart, so clock_timestamp() is taken as its rows come out
    -- of the array, in order (before the aggregates sort by n, which they find sorted).
    SELECT count(*), array_agg(r.at ORDER BY r.n), array_agg(r.action ORDER BY r.n),
           array_agg(r.incident_id ORDER BY r.n), array_agg(r.client_id ORDER BY r.n),
           array_agg(r.payload ORDER BY r.n),
           array_agg(convert_to(jsonb_build_array(
               last_seq + r.n,
               to_char(r.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
               p_actor, r.action, r.incident_id, r.client_id, r.payload)::text, 'UTF8')
               ORDER BY r.n)
      INTO n, ats, actions, incidents, clients, payloads, contents
      FROM (SELECT x.n, x.e ->> 'action' AS action, x.e ->> 'incident_id' AS incident_id,
                   x.e ->> 'client_id' AS client_id, coalesce(x.e -> 'payload', '{}') AS payload,
                   clock_timestamp() AS at
              FROM jsonb_array_elements(p_rows) WITH ORDINALITY AS x(e, n) OFFSET 0) r;
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    -- hashes[k] is row k's prev_hash, hashes[k + 1] its hash.
    hashes := array_fill(NULL::bytea, ARRAY[n + 1]);
    hashes[1] := last_hash;
    FOR k IN 1..n LOOP
        last_hash := sha256(last_hash || contents[k]);
        hashes[k + 1] := last_hash;
    END LOOP;
    INSERT INTO audit_log (seq, at, actor, action, incident_id, client_id, payload, prev_hash,
                           hash)
    SELECT last_seq + r.n, r.at, p_actor, r.action, r.incident_id, r.client_id, r.payload,
           r.prev_hash, r.hash
      FROM unnest(ats, actions, incidents, clients, payloads, hashes[1:n], hashes[2:n + 1])
           WITH ORDINALITY AS r(at, action, incident_id, client_id, payload, prev_hash, hash, n);
    RETURN last_seq + n;
END
$$;
