-- case_verdict() in proportion to the incident's clients, not to its history (issue 6).
--
-- 0013 found each client's latest entry with DISTINCT ON over every client_verdicts row of the
-- incident up to the version: a 1,000-client incident with thousands of versions read them all
-- on each call, and the outbox relay calls it once per claim for the newest assessment. Now a
-- loose index scan over the primary key (incident_id, client_id, version): one descent to the
-- next client id, one to that client's newest entry at or before the version; a client whose
-- entries all come later has none and is left out, as before. Same document, same order.
CREATE OR REPLACE FUNCTION case_verdict(p_incident text, p_version integer) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN v.verdict ? 'clients' THEN v.verdict ELSE
        v.verdict
        || jsonb_build_object('clients', coalesce(c.entries, '[]'::jsonb))
        || jsonb_build_object('headcount', (v.verdict -> 'headcount')
               || jsonb_build_object('clients', coalesce(c.counts, v.verdict -> 'headcount' -> 'clients',
                                                         '{}'::jsonb))
               || CASE WHEN c.known IS NOT NULL
                       THEN jsonb_build_object('clients_known', c.known)
                       ELSE '{}'::jsonb END)
    END
    FROM case_versions v
    LEFT JOIN LATERAL (
        WITH RECURSIVE ids (client_id) AS (
            (SELECT client_id FROM client_verdicts
              WHERE incident_id = p_incident ORDER BY client_id LIMIT 1)
            UNION ALL
            SELECT (SELECT n.client_id FROM client_verdicts n
                     WHERE n.incident_id = p_incident AND n.client_id > ids.client_id
                     ORDER BY n.client_id LIMIT 1)
              FROM ids WHERE ids.client_id IS NOT NULL
        )
        SELECT jsonb_agg(latest.entry ORDER BY latest.client_id COLLATE "C") AS entries,
               jsonb_object_agg(latest.client_id, latest.entry -> 'headcount') AS counts,
               jsonb_object_agg(latest.client_id, latest.entry -> 'headcount_known')
                   FILTER (WHERE latest.entry ? 'headcount_known') AS known
          FROM (SELECT ids.client_id, e.entry
                  FROM ids
                 CROSS JOIN LATERAL (
                       SELECT cv.entry FROM client_verdicts cv
                        WHERE cv.incident_id = p_incident AND cv.client_id = ids.client_id
                          AND cv.version <= p_version
                        ORDER BY cv.version DESC LIMIT 1) e) latest
    ) c ON true
    WHERE v.incident_id = p_incident AND v.version = p_version
$$;
