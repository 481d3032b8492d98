-- 0095: the relay claims unpublished outbox rows in the order of an index (issue 6, W3).
--
-- The relay's claim (lib/runtime/outbox.c, outbox.claim) takes the oldest unpublished rows,
-- ORDER BY created_at, task_id LIMIT n. outbox_unpublished (0003) is keyed by (topic,
-- created_at), which cannot give that order: the claim read every entry of the index through a
-- bitmap, sorted them and kept n. Every row is inserted unpublished and updated once relayed,
-- so until vacuum runs the index holds an entry for each row relayed lately as well: measured
-- in W3, 31,000 entries and 2,100 heap pages read to claim 330 rows (20 ms a claim, the
-- largest single cost of PostgreSQL in that workload). Keyed by the claim's order, a plain
-- index scan stops after n live rows and marks the dead entries it meets, so later scans skip
-- them: the claim costs in proportion to what it claims. The outbox gauge
-- (lib/runtime/worker.c: unpublished rows per topic) reads the same partial index.
DROP INDEX outbox_unpublished;
CREATE INDEX outbox_pending ON outbox (created_at, task_id) WHERE published_at IS NULL;
