-- 0004: consumer offsets kept in PostgreSQL, for effectively-once processing (DESIGN.md).
--
-- A worker stores the next offset to read of each partition in the same transaction as the
-- results of the batch, and on assignment seeks to the stored offsets (Kafka's own committed
-- offsets are not used: enable.auto.commit=false, no commits). The update is a compare-and-set
-- on the offset the batch started from:
--
--   UPDATE consumer_offsets SET next_offset = $batch_end, updated_at = now()
--    WHERE group_id = $1 AND topic = $2 AND partition = $3 AND next_offset = $batch_start;
--
-- One row updated: this member still owns the partition's progress; commit. Zero rows: another
-- member (after a rebalance this one has not seen yet) has moved it; roll back the whole batch
-- and let the rebalance callback re-seek. consumer_offset_advance() below wraps both steps,
-- including the first batch of a partition (no row yet).
CREATE TABLE consumer_offsets (
    group_id    text        NOT NULL,
    topic       text        NOT NULL,
    partition   integer     NOT NULL CHECK (partition >= 0),
    next_offset bigint      NOT NULL CHECK (next_offset >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, topic, partition)
);

-- Moves (group, topic, partition) from expected to next; true when this caller did it, false
-- when the stored offset is not expected (fenced: roll back). Creates the row when the
-- partition has none yet and expected is where the caller began, so the first batch needs no
-- special case. Must run inside the batch's transaction.
CREATE FUNCTION consumer_offset_advance(p_group text, p_topic text, p_partition integer,
                                        p_expected bigint, p_next bigint)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    moved integer;
BEGIN
    IF p_next < p_expected THEN
        RAISE EXCEPTION 'consumer_offset_advance %/%/%: next % is before expected %',
            p_group, p_topic, p_partition, p_next, p_expected
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO consumer_offsets (group_id, topic, partition, next_offset)
    VALUES (p_group, p_topic, p_partition, p_expected)
    ON CONFLICT DO NOTHING;
    UPDATE consumer_offsets SET next_offset = p_next, updated_at = now()
     WHERE group_id = p_group AND topic = p_topic AND partition = p_partition
       AND next_offset = p_expected;
    GET DIAGNOSTICS moved = ROW_COUNT;
    RETURN moved = 1;
END
$$;
