-- 0146: which manifest added each person to an incident's set (issue 6, W2).
--
-- mni-assess merges a large batch's per-incident set on a second session of its own, in
-- parallel with the per-client set on the batch's (assess/token_merge.h): the two merges were
-- 80% of W2's statement time, one after the other on one backend while the other core idled.
-- That second session commits before the batch does, so its rows may outlive a batch that
-- rolls back. added_by makes them safe to keep: the first 8 bytes of SHA-256 of the event id of
-- the manifest that added the person, as a signed bigint. When the batch is applied again, the
-- merge's ON CONFLICT counts a row added by the same manifest as new again, so each manifest is
-- still credited exactly the persons that were new at its place in the stream; a manifest that
-- ends up not applied (refused, dead-lettered) has its rows deleted in the batch's transaction
-- (incident_persons_forget).
-- Rows from before this migration (and the bench floor's) have none: a later manifest never
-- matches them, as before.
ALTER TABLE incident_persons ADD COLUMN added_by bigint;

-- The merge's ON CONFLICT ... DO UPDATE SET added_by (a no-op write that returns the row).
GRANT UPDATE (added_by) ON incident_persons TO mni_assess;

-- The forgetting: the persons of p_tokens (64 hex digits each, one string) that the manifest
-- p_added_by added to p_incident's set, and no other row; how many went. A function, so that
-- mni-assess gets no DELETE on the set (tests/integration/test_rls.c, least privilege).
CREATE FUNCTION incident_persons_forget(p_incident text, p_added_by bigint, p_tokens text)
RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH gone AS (
        DELETE FROM incident_persons
         WHERE incident_id = p_incident AND added_by = p_added_by
           AND token = ANY (ARRAY(SELECT decode(substr(p_tokens, i * 64 + 1, 64), 'hex')
                                    FROM generate_series(0, length(p_tokens) / 64 - 1) AS i))
        RETURNING 1)
    SELECT count(*) FROM gone
$$;
REVOKE EXECUTE ON FUNCTION incident_persons_forget(text, bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION incident_persons_forget(text, bigint, text) TO mni_assess;
