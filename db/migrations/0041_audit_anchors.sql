-- 0041: the audit chain anchored outside the database's reach (issue 8, found item 5), and
-- appended with the owner's rights only.
--
-- The hash chain of 0005 shows a row edited, removed or inserted by someone who bypassed the
-- triggers, but not a chain re-hashed from an edited row on, nor a tail cut off: whoever can
-- write the table can recompute every later hash. So each worker that appends audit rows also
-- signs the new head of the chain, in the same transaction: audit_anchors holds
-- (seq, hash of that row, HMAC-SHA256 over both). The HMAC key is a file the workers hold
-- (config key audit.key_file) and the database never sees, so an anchor cannot be forged from
-- inside the database. `mni audit verify` (cli/cmd_audit.c) checks the chain row by row and
-- then every anchor: a signature that does not verify, an anchored row that is gone (the tail
-- cut) or that holds another hash (the chain re-hashed), rows after the last anchor (not
-- appended by a worker).
--
-- The MAC is computed by lib/runtime/audit_anchor.c over
--   "mni-audit-anchor-v1" || seq as 8 bytes big-endian || hash (32 bytes)
-- key_id names the key: the first 16 hex digits of SHA-256(key), so a rotated key is told
-- from a forged anchor.
--
-- Left: removing the anchors together with the tail they cover is not detected by the table
-- alone; a copy of the latest anchor outside PostgreSQL (a compacted topic) would close that.
CREATE TABLE audit_anchors (
    seq       bigint      PRIMARY KEY CHECK (seq > 0),
    hash      bytea       NOT NULL CHECK (octet_length(hash) = 32),
    key_id    text        NOT NULL CHECK (key_id ~ '^[0-9a-f]{16}$'),
    mac       bytea       NOT NULL CHECK (octet_length(mac) = 32),
    signer    text        NOT NULL DEFAULT current_user,
    signed_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER audit_anchors_append_only BEFORE UPDATE OR DELETE ON audit_anchors
    FOR EACH ROW EXECUTE FUNCTION mni_refuse_change();
CREATE TRIGGER audit_anchors_no_truncate BEFORE TRUNCATE ON audit_anchors
    FOR EACH STATEMENT EXECUTE FUNCTION mni_refuse_change();
GRANT SELECT ON audit_anchors TO mni_reader;
GRANT INSERT ON audit_anchors TO mni_assess, mni_notify;

-- The chain trigger reads the last row of audit_log: as the owner, so that writers need
-- INSERT on audit_log and nothing more.
ALTER FUNCTION audit_log_chain() SECURITY DEFINER SET search_path = public, pg_temp;

-- The head of the chain (its last row), for a writer about to sign it. As the owner, for the
-- same reason; the seq and hash it returns are no secret to a role that may append.
CREATE FUNCTION audit_log_head(OUT seq bigint, OUT hash bytea)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1
$$;
REVOKE EXECUTE ON FUNCTION audit_log_head() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_log_head() TO mni_assess, mni_notify;

-- The webhook's audit insert returns seq (notify/webhook.c).
GRANT SELECT (seq) ON audit_log TO mni_notify;
