-- 0080: consumer_offset_advance() becomes the one statement that moves consumer offsets
-- (db/README.md: one writer per table). The workers' batch commit and the broker-log check
-- both call it through lib/runtime/offsets.c; it now also stores the digest that identifies
-- the log at the new offset (0011), and p_expected NULL means "this member found no row".
--
--   p_expected NULL:  insert the partition's first row at p_next; false when a row exists
--                     (another member got there first: fenced).
--   p_expected set:   compare-and-set from p_expected to p_next (a missing row is created at
--                     p_expected first, so a first batch that knows where it began needs no
--                     special case); false when the stored offset is not p_expected.
-- p_next before p_expected is refused (offsets never move backwards here; a new log is
-- accepted by `mni accept-new-log`, which starts a new log epoch instead).
DROP FUNCTION consumer_offset_advance(text, text, integer, bigint, bigint);

CREATE FUNCTION consumer_offset_advance(p_group text, p_topic text, p_partition integer,
                                        p_expected bigint, p_next bigint,
                                        p_digest text DEFAULT NULL)
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
    IF p_expected IS NULL THEN
        INSERT INTO consumer_offsets (group_id, topic, partition, next_offset, last_digest)
        VALUES (p_group, p_topic, p_partition, p_next, p_digest)
        ON CONFLICT DO NOTHING;
        GET DIAGNOSTICS moved = ROW_COUNT;
        RETURN moved = 1;
    END IF;
    INSERT INTO consumer_offsets (group_id, topic, partition, next_offset)
    VALUES (p_group, p_topic, p_partition, p_expected)
    ON CONFLICT DO NOTHING;
    UPDATE consumer_offsets SET next_offset = p_next, last_digest = p_digest, updated_at = now()
     WHERE group_id = p_group AND topic = p_topic AND partition = p_partition
       AND next_offset = p_expected;
    GET DIAGNOSTICS moved = ROW_COUNT;
    RETURN moved = 1;
END
$$;
