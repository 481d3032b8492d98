-- 0145: the relay's claim reads only the topics it may send (issue 6, W3 at full size).
--
-- While mni-notify is behind, the relay holds the tasks topic (outbox_pace.h) and its claim
-- leaves the tasks rows queued (topic <> ALL (closed)). Ordered by the primary key
-- (created_at, task_id), that claim read every held row to find the few of the other topics:
-- at full size tens of thousands of tasks wait, and the claim, run after every assess batch
-- and every 50 ms while the topic waits, was a third of PostgreSQL's statement time in W3
-- (bench/README.md). By topic, each topic's oldest rows are an index range: a claim with a
-- topic held reads the topics present (a skip scan) and only the oldest rows of the others.
CREATE INDEX outbox_queue_topic ON outbox_queue (topic, created_at, task_id);
