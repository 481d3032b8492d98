-- 0003: obligations in time (deadlines), the task outbox, and what notify produced from the
-- tasks (deliveries of rendered documents, tickets for downstream systems).

-- deadlines: one row per obligation of an incident, or of one client of an incident.
--  * kind names the obligation (client_notice, ppc_preliminary, ppc_final, person_notice,
--    publication, ...); client_id is NULL for incident-wide obligations. One row per
--    (incident, client, kind): re-assessment updates the row, it never adds a second clock.
--  * due_date for obligations counted in days (calendar rules, Japanese holidays applied by the
--    rule core), due_at for those counted in hours (contract notice hours); at least one is set.
--  * met_at: when the obligation was fulfilled (the report filed, the notice delivered).
--    reminded_at / escalated_at: when the sweeper last reminded / escalated, so a restart
--    does not repeat them.
CREATE TABLE deadlines (
    deadline_id  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id  text        NOT NULL REFERENCES cases (incident_id),
    client_id    text,
    kind         text        NOT NULL,
    due_date     date,
    due_at       timestamptz,
    met_at       timestamptz,
    reminded_at  timestamptz,
    escalated_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (due_date IS NOT NULL OR due_at IS NOT NULL),
    UNIQUE NULLS NOT DISTINCT (incident_id, client_id, kind)
);
-- The sweeper's scan: open obligations by due time.
CREATE INDEX deadlines_open_at ON deadlines (due_at) WHERE met_at IS NULL AND due_at IS NOT NULL;
CREATE INDEX deadlines_open_date ON deadlines (due_date)
    WHERE met_at IS NULL AND due_date IS NOT NULL;

-- outbox: tasks to publish, written in the same transaction as the state that caused them
-- (DESIGN.md "Outbox").
--  * task_id is deterministic for the obligation it serves (consumers de-duplicate by it, and
--    a replayed batch inserts with ON CONFLICT DO NOTHING).
--  * topic is the logical topic (the suffix of the config key topic.<name>: tasks, tickets).
--  * published_at is NULL until the relay has seen the broker acknowledge the message. The
--    relay claims rows with SELECT ... WHERE published_at IS NULL ORDER BY created_at
--    FOR UPDATE SKIP LOCKED, never by a serial high-water mark (rows commit out of order).
CREATE TABLE outbox (
    task_id      text        PRIMARY KEY,
    topic        text        NOT NULL DEFAULT 'tasks',
    incident_id  text        NOT NULL,
    client_id    text,
    kind         text        NOT NULL,
    payload      jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (topic, created_at) WHERE published_at IS NULL;
CREATE INDEX outbox_incident ON outbox (incident_id);

-- deliveries: each document notify rendered for a task and each attempt to deliver it.
--  * One row per (task, channel): a redelivered task finds its row and does not render twice.
--  * document is the rendered content (format says how to read it: json, text, html);
--    document_sha256 is its digest, also written to the audit log as evidence.
--  * status: rendered -> sent, or rendered -> failed (attempts and last_error say why; a
--    failed delivery may be retried and become sent).
CREATE TABLE deliveries (
    delivery_id     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id         text        NOT NULL,
    incident_id     text        NOT NULL,
    client_id       text,
    channel         text        NOT NULL,
    recipient       text,
    format          text        NOT NULL DEFAULT 'json' CHECK (format IN ('json', 'text', 'html')),
    document        text        NOT NULL,
    document_sha256 bytea       NOT NULL CHECK (octet_length(document_sha256) = 32),
    status          text        NOT NULL DEFAULT 'rendered'
                                CHECK (status IN ('rendered', 'sent', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error      text,
    rendered_at     timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    UNIQUE (task_id, channel)
);
CREATE INDEX deliveries_incident ON deliveries (incident_id);
CREATE INDEX deliveries_pending ON deliveries (rendered_at) WHERE status <> 'sent';

-- tickets: work items handed to downstream ticketing (the tickets topic, later webhooks).
--  * ticket_id is deterministic per task (one ticket per task), so a replay finds it.
--  * status: open (created here) -> published (on the tickets topic) -> acknowledged (the
--    downstream system answered with external_ref) -> closed.
CREATE TABLE tickets (
    ticket_id    text        PRIMARY KEY,
    task_id      text        NOT NULL UNIQUE,
    incident_id  text        NOT NULL,
    client_id    text,
    kind         text        NOT NULL,
    title        text        NOT NULL,
    body         jsonb       NOT NULL DEFAULT '{}',
    status       text        NOT NULL DEFAULT 'open'
                             CHECK (status IN ('open', 'published', 'acknowledged', 'closed')),
    external_ref text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tickets_incident ON tickets (incident_id);
