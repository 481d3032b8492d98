-- 0013: facts of one client alone (issue 7), kept with the client's exposure, and the known
-- count of each client put back into whole verdicts.
--
-- client_exposure gains the facts an exposure event may state for its client (schema version
-- 3, ClientFacts); each overrides the incident's value for that client's own verdict. NULL /
-- false: not stated, the incident's value applies.
ALTER TABLE client_exposure
    ADD COLUMN systems             integer CHECK (systems >= 0),
    ADD COLUMN appi_persons        bigint  CHECK (appi_persons >= 0),
    ADD COLUMN public_body         boolean NOT NULL DEFAULT false,
    ADD COLUMN local_government    boolean NOT NULL DEFAULT false,
    ADD COLUMN ordinance_sensitive boolean NOT NULL DEFAULT false;

-- headcount.clients_known (each client's known count, beside headcount.clients, its possible
-- maximum) is per client too: a stored version leaves it out like headcount.clients, and the
-- whole document gets it back from the clients' entries (headcount_known).
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
        SELECT jsonb_agg(entry ORDER BY client_id COLLATE "C") AS entries,
               jsonb_object_agg(client_id, entry -> 'headcount') AS counts,
               jsonb_object_agg(client_id, entry -> 'headcount_known')
                   FILTER (WHERE entry ? 'headcount_known') AS known
          FROM (SELECT DISTINCT ON (client_id) client_id, entry
                  FROM client_verdicts
                 WHERE incident_id = p_incident AND version <= p_version
                 ORDER BY client_id, version DESC) latest
    ) c ON true
    WHERE v.incident_id = p_incident AND v.version = p_version
$$;

CREATE OR REPLACE FUNCTION case_verdict_of_client(p_incident text, p_version integer,
                                                  p_client text)
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
$$;
