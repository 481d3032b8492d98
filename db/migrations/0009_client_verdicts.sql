-- 0009: a case version costs what changed, not the number of clients (issue 6).
--
-- Before, every case version stored the whole verdict, with one entry per client: a manifest
-- of a 1,000-client incident wrote a 1,000-entry document, and 1,000 client notices copied it.
-- From now on a version stores the verdict without its per-client parts, and each client's
-- entry is stored on its own, at the version where it changed:
--
--   case_versions.verdict     the verdict without clients[] (and, when there are client
--                             verdicts, without headcount.clients);
--   client_verdicts           (incident, client, version): the client's entry of the verdict
--                             as of that version; append-only, like case_versions;
--   case_verdict(id, version) the whole document again: the version's verdict plus, for each
--                             client, its latest entry at or before that version. Versions
--                             stored before this migration hold their clients and come back
--                             as they are.
--
-- Readers (notify's snapshot, mni case, the outbox relay) read case_verdict(), never the
-- column, so the storage can change again without them.

CREATE TABLE client_verdicts (
    incident_id text    NOT NULL REFERENCES cases (incident_id),
    client_id   text    NOT NULL,
    version     integer NOT NULL CHECK (version > 0),
    entry       jsonb   NOT NULL,
    PRIMARY KEY (incident_id, client_id, version)
);

CREATE TRIGGER client_verdicts_append_only BEFORE UPDATE OR DELETE ON client_verdicts
    FOR EACH ROW EXECUTE FUNCTION mni_refuse_change();
CREATE TRIGGER client_verdicts_no_truncate BEFORE TRUNCATE ON client_verdicts
    FOR EACH STATEMENT EXECUTE FUNCTION mni_refuse_change();

CREATE FUNCTION case_verdict(p_incident text, p_version integer) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN v.verdict ? 'clients' THEN v.verdict ELSE
        v.verdict
        || jsonb_build_object('clients', coalesce(c.entries, '[]'::jsonb))
        || jsonb_build_object('headcount', (v.verdict -> 'headcount')
               || jsonb_build_object('clients', coalesce(c.counts, v.verdict -> 'headcount' -> 'clients',
                                                         '{}'::jsonb)))
    END
    FROM case_versions v
    LEFT JOIN LATERAL (
        SELECT jsonb_agg(entry ORDER BY client_id COLLATE "C") AS entries,
               jsonb_object_agg(client_id, entry -> 'headcount') AS counts
          FROM (SELECT DISTINCT ON (client_id) client_id, entry
                  FROM client_verdicts
                 WHERE incident_id = p_incident AND version <= p_version
                 ORDER BY client_id, version DESC) latest
    ) c ON true
    WHERE v.incident_id = p_incident AND v.version = p_version
$$;
