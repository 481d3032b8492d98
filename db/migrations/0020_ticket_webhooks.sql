-- 0020: tickets delivered over HTTP (issue 9, "Tickets over HTTP"; notify/webhook.h).
--
-- With notify.webhook.url set, each ticket notify opens is also POSTed to that URL, with the
-- ticket id as the Idempotency-Key header, retried with exponential backoff and jitter until
-- the receiver answers 2xx, or until it refuses it for good or the attempts run out: then the
-- ticket's webhook state is 'failed', shown by `mni case` and the case page, never dropped.
-- The Kafka topic carries every ticket as before; the webhook is a second, optional channel.
--
-- tickets.webhook_state: NULL (no webhook when the ticket was opened) -> pending -> delivered
--                        | failed. webhook_attempts counts the attempts recorded;
--                        webhook_next_at is when the next attempt is due (while pending; a
--                        sender pushes it forward by a lease while its attempt is in flight, so
--                        another notify member does not send the same ticket at the same time);
--                        webhook_done_at is when it was delivered or given up.
ALTER TABLE tickets
    ADD COLUMN webhook_state    text CHECK (webhook_state IN ('pending', 'delivered', 'failed')),
    ADD COLUMN webhook_attempts integer NOT NULL DEFAULT 0 CHECK (webhook_attempts >= 0),
    ADD COLUMN webhook_next_at  timestamptz,
    ADD COLUMN webhook_done_at  timestamptz,
    ADD CONSTRAINT tickets_webhook_next CHECK ((webhook_state = 'pending') = (webhook_next_at IS NOT NULL));
CREATE INDEX tickets_webhook_due ON tickets (webhook_next_at) WHERE webhook_state = 'pending';

-- ticket_webhook_attempts: one row per attempt, as evidence of what was sent and what came
-- back. Append-only. http_status is NULL when no HTTP answer came (connection refused, timeout,
-- TLS failure: error says which). outcome: delivered (2xx), retry (a new attempt is scheduled),
-- failed (refused for good, or the last attempt allowed). client_id as on the ticket (row-level
-- security per client, issue 8).
CREATE TABLE ticket_webhook_attempts (
    ticket_id   text        NOT NULL REFERENCES tickets (ticket_id),
    attempt     integer     NOT NULL CHECK (attempt > 0),
    incident_id text        NOT NULL,
    client_id   text,
    started_at  timestamptz NOT NULL,
    latency_ms  integer     NOT NULL CHECK (latency_ms >= 0),
    http_status integer     CHECK (http_status BETWEEN 100 AND 599),
    error       text,
    outcome     text        NOT NULL CHECK (outcome IN ('delivered', 'retry', 'failed')),
    next_at     timestamptz,
    PRIMARY KEY (ticket_id, attempt),
    CHECK ((outcome = 'retry') = (next_at IS NOT NULL))
);
CREATE INDEX ticket_webhook_attempts_incident ON ticket_webhook_attempts (incident_id);

CREATE TRIGGER ticket_webhook_attempts_append_only BEFORE UPDATE OR DELETE
    ON ticket_webhook_attempts FOR EACH ROW EXECUTE FUNCTION mni_refuse_change();
CREATE TRIGGER ticket_webhook_attempts_no_truncate BEFORE TRUNCATE ON ticket_webhook_attempts
    FOR EACH STATEMENT EXECUTE FUNCTION mni_refuse_change();
