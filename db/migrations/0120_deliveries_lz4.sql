-- 0120: deliveries.document compressed with lz4 instead of pglz (issue 6).
--
-- Notify stores every rendered document (1.7 to 11 KB for test_notify's documents; above about
-- 2 KB PostgreSQL compresses it), and pglz was 8% of notify's backend in W2. Inserting 6,000
-- of those documents: 0.67 to 1.28 s with lz4 against 0.94 to 2.33 s with pglz, lz4 faster in
-- each of six alternated pairs; stored 10% larger (11 MB against 10 MB); reading them back no
-- slower (bench/README.md "Three small PostgreSQL levers"). Only new values are compressed
-- with lz4; stored ones stay pglz, and PostgreSQL reads both. A server built without lz4
-- (Debian's is built with it: pg_config --configure has --with-lz4) keeps pglz.
DO $$
BEGIN
    ALTER TABLE deliveries ALTER COLUMN document SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'deliveries.document keeps pglz: %', SQLERRM;
END
$$;
