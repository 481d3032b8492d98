-- 0118: case_verdict() and case_verdict_of_client() in PL/pgSQL, so their plans are kept
-- (issue 6, W3).
--
-- As SQL functions that cannot be inlined (a FROM clause, a recursive CTE), both planned their
-- whole query at every call made by its own statement: notify calls case_verdict_of_client()
-- once per task it renders (notify/snapshot.c) and case_verdict() for a whole-case task, the
-- relay for an assessment without its record, mni case and the web view per version. Measured
-- on this machine, 1,000 calls of case_verdict() each in its own statement: 1.6 to 4.5 s as
-- SQL, 0.6 to 1.7 s as PL/pgSQL, which plans the query once per session and keeps the plan.
-- The queries are those of 0111 and 0013, unchanged; the documents are the same.
CREATE OR REPLACE FUNCTION case_verdict(p_incident text, p_version integer) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
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
    );
END
$$;

CREATE OR REPLACE FUNCTION case_verdict_of_client(p_incident text, p_version integer,
                                                  p_client text)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
        SELECT v.verdict
            || jsonb_build_object('clients', CASE
                   WHEN v.verdict ? 'clients' THEN coalesce(
                       (SELECT jsonb_agg(c) FROM jsonb_array_elements(v.verdict -> 'clients') c
                         WHERE c ->> 'client_id' = p_client), '[]'::jsonb)
                   WHEN e.entry IS NOT NULL THEN jsonb_build_array(e.entry)
                   ELSE '[]'::jsonb END)
            || jsonb_build_object('headcount', (v.verdict -> 'headcount') || jsonb_build_object(
                   'clients', CASE
                       WHEN e.entry IS NOT NULL THEN jsonb_build_object(p_client, e.entry -> 'headcount')
                       ELSE coalesce(
                           (SELECT jsonb_object_agg(key, value)
                              FROM jsonb_each(v.verdict -> 'headcount' -> 'clients')
                             WHERE key = p_client), '{}'::jsonb) END)
                   || CASE WHEN e.entry ? 'headcount_known'
                           THEN jsonb_build_object('clients_known', jsonb_build_object(
                                    p_client, e.entry -> 'headcount_known'))
                           WHEN v.verdict -> 'headcount' ? 'clients_known'
                           THEN jsonb_build_object('clients_known', coalesce(
                                    (SELECT jsonb_object_agg(key, value)
                                       FROM jsonb_each(v.verdict -> 'headcount' -> 'clients_known')
                                      WHERE key = p_client), '{}'::jsonb))
                           ELSE '{}'::jsonb END)
        FROM case_versions v
        LEFT JOIN LATERAL (
            SELECT entry FROM client_verdicts
             WHERE incident_id = p_incident AND client_id = p_client AND version <= p_version
             ORDER BY version DESC LIMIT 1
        ) e ON true
        WHERE v.incident_id = p_incident AND v.version = p_version
    );
END
$$;
