-- 0014: outbox rows carry the bytes they will be sent as (issue 6: "what the relay encodes:
-- bytes ready to send, not JSON reparsed").
--
-- record: the Kafka message value, Confluent-framed Avro, encoded by the writer of the row in
-- the transaction that queued it. The relay sends it as it is. NULL for rows whose message can
-- only be made at relay time (an assessment: the verdict is put back together from its
-- version, and only the newest version of a case is sent to the compacted topic) and for rows
-- queued before this migration; the relay encodes those from payload as before. payload stays
-- the readable form of the same task, for operators and for mni case.
ALTER TABLE outbox ADD COLUMN record bytea;
