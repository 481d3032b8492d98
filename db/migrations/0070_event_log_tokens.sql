-- 0070: an exposure manifest's person tokens in event_log as bytes, not as JSON text.
--
-- Before, body held every token as 64 hex digits in body.body.tokens: a 67 KB jsonb per
-- manifest of 1,000 tokens that PostgreSQL parsed, built and tried to compress in every ingest
-- batch (5.5 s of a W2 benchmark's profile). Now ingest writes a manifest's body without its
-- tokens and the tokens in `tokens`: 32 bytes each, in the manifest's order, 32 KB for 1,000.
--  * tokens is NULL for every other kind, and for manifests stored before this migration (their
--    body still holds the tokens: both forms are read the same way, below).
--  * Storage EXTERNAL: out of line when large, never compressed (HMAC output does not compress;
--    trying costs CPU on every row).
--  * event_log_event(body, tokens) gives the whole event as before, the tokens back in
--    body.tokens as 64 lowercase hex digits: what a reader of whole events (`mni_event_from_json`,
--    the comparison of a replayed event with the stored one) uses. Readers of other fields
--    (title, description) read body as before.
ALTER TABLE event_log ADD COLUMN tokens bytea CHECK (length(tokens) % 32 = 0);
ALTER TABLE event_log ALTER COLUMN tokens SET STORAGE EXTERNAL;

CREATE FUNCTION event_log_event(body jsonb, tokens bytea) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN tokens IS NULL THEN body
           ELSE jsonb_set(body, '{body,tokens}',
                          (SELECT coalesce(jsonb_agg(encode(substring(tokens FROM i * 32 + 1
                                                                      FOR 32), 'hex')
                                                     ORDER BY i), '[]'::jsonb)
                           FROM generate_series(0, length(tokens) / 32 - 1) AS i))
           END
$$;
