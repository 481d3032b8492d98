-- 0012: one client's view of a case version (issue 6: "a task names its incident, kind,
-- client and deadline; notify reads the snapshot it needs").
--
-- A notice to one client needs the verdict's top level and that client's entry, not the
-- entries of the incident's other clients: reading the whole verdict for each of a
-- 1,000-client incident's notices cost a thousand entries a thousand times. It is also all a
-- client may see of the case (issue 8, isolation).
--
-- case_verdict_of_client(id, version, client): case_verdict(id, version) with clients[] and
-- headcount.clients cut down to that client (empty when it is not one of the case's clients).
CREATE FUNCTION case_verdict_of_client(p_incident text, p_version integer, p_client text)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
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
                         WHERE key = p_client), '{}'::jsonb) END))
    FROM case_versions v
    LEFT JOIN LATERAL (
        SELECT entry FROM client_verdicts
         WHERE incident_id = p_incident AND client_id = p_client AND version <= p_version
         ORDER BY version DESC LIMIT 1
    ) e ON true
    WHERE v.incident_id = p_incident AND v.version = p_version
$$;
