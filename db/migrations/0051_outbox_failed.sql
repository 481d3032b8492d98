-- 0051: an outbox row Kafka refuses for good (issue 8: any one message may only cost itself).
--
-- A message Kafka refuses for what it is (too large, an invalid record:
-- kq_producer_take_refused) would be refused on every try; left unpublished, it made the relay
-- retry its batch forever and nothing behind it was delivered. The relay now retries such a
-- batch row by row and marks the culprit failed (lib/runtime/outbox.c): failed_at and the
-- producer's error in failure. A failed row is never claimed again, stays visible (`mni case`,
-- the outbox's state "failed"), and is counted (mni_outbox_failed_total); an operator fixes the
-- cause (the topic's max.message.bytes, a producer limit) and sets failed_at back to NULL to
-- have it relayed again.
ALTER TABLE outbox ADD COLUMN failed_at timestamptz, ADD COLUMN failure text;
CREATE INDEX outbox_failed ON outbox (failed_at) WHERE failed_at IS NOT NULL;
