-- 0125: the relay claims from a narrow queue table; outbox rows are written once (issue 6, W3).
--
-- Until now the relay's claim marked every row it took published: UPDATE outbox SET
-- published_at = now(). That rewrote the whole row (payload and Avro record included) as a new
-- version with new entries in every index (no HOT update: published_at is in the predicate of
-- the partial index the claim reads), and the claim's index scan walked past the dead entries
-- of everything relayed since the last vacuum. In W3 it was the largest single cost of
-- PostgreSQL: a quarter of its statement time, about 70 us per row relayed.
--
-- outbox_queue holds one narrow row per outbox row not yet published and not failed: its
-- order key (created_at, task_id), its logical topic (the outbox gauge) and its client_id (row-
-- level security, as on every client-owned table). The trigger outbox_queue_insert adds it in
-- the statement that inserts the outbox row, whoever inserts (outbox_enqueue,
-- outbox_enqueue_staged, an owner's plain INSERT): the two commit together. The relay's claim
-- deletes the queue rows it takes (FOR UPDATE SKIP LOCKED, as before) and reads the outbox
-- rows by key; it commits only after Kafka acknowledged every message, so a crash or a
-- failed delivery rolls the delete back and the rows are claimed again. A row that could not
-- be encoded goes back to the queue in the same transaction; a row Kafka refuses for good gets
-- failed_at instead. An operator who sets failed_at back to NULL queues the row again
-- (trigger outbox_queue_requeue): deploy/RUNBOOK.md's procedure is unchanged.
--
-- So an outbox row's state is: pending while it has a queue row; failed when failed_at is set;
-- published otherwise (the relay committed it after Kafka's acknowledgement). published_at is
-- dropped, so that no reader is left reading a column nobody writes any more; the readers ask
-- outbox_queue (NOT EXISTS) instead. Rows pending at this migration are queued here.
CREATE TABLE outbox_queue (
    created_at timestamptz NOT NULL,
    task_id    text        NOT NULL,
    topic      text        NOT NULL,
    client_id  text,
    PRIMARY KEY (created_at, task_id)
);

INSERT INTO outbox_queue (created_at, task_id, topic, client_id)
SELECT created_at, task_id, topic, client_id FROM outbox
 WHERE published_at IS NULL AND failed_at IS NULL;

ALTER TABLE outbox DROP COLUMN published_at; -- drops outbox_pending (0095) with it

-- One statement-level trigger: the rows an INSERT added (its transition table; ON CONFLICT DO
-- NOTHING leaves out the ones it skipped), queued with one INSERT.
CREATE FUNCTION outbox_queue_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox_queue (created_at, task_id, topic, client_id)
    SELECT created_at, task_id, topic, client_id FROM outbox_added WHERE failed_at IS NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER outbox_queue_insert AFTER INSERT ON outbox
    REFERENCING NEW TABLE AS outbox_added FOR EACH STATEMENT EXECUTE FUNCTION outbox_queue_insert();

CREATE FUNCTION outbox_queue_requeue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox_queue (created_at, task_id, topic, client_id)
    VALUES (NEW.created_at, NEW.task_id, NEW.topic, NEW.client_id) ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER outbox_queue_requeue AFTER UPDATE OF failed_at ON outbox FOR EACH ROW
    WHEN (OLD.failed_at IS NOT NULL AND NEW.failed_at IS NULL)
    EXECUTE FUNCTION outbox_queue_requeue();

-- Row-level security as on every client-owned table (0040), and the grants of the outbox's
-- writers and readers (UPDATE only for the claim's FOR UPDATE: no statement updates a row).
ALTER TABLE outbox_queue ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY all_clients ON outbox_queue TO mni_all_clients USING (true) WITH CHECK (true);
CREATE POLICY own_client ON outbox_queue TO mni_client
    USING (client_id = (SELECT mni_client_id())) WITH CHECK (client_id = (SELECT mni_client_id()));
GRANT SELECT ON outbox_queue TO mni_client, mni_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON outbox_queue TO mni_assess, mni_notify;
