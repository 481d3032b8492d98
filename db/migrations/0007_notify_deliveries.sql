-- 0007: what the notify worker needs beside 0003: deliveries keyed by (task, channel, format)
-- and an index of the tickets still open.
--
-- notify renders every document twice: as JSON (what systems read) and as Markdown text (what
-- people read), both under the document's channel (ppc_draft, client:<id>, persons,
-- publication, reminder, escalation). 0003's UNIQUE (task_id, channel) allowed only one of the
-- two, so the key becomes (task_id, channel, format). A replayed task still finds its rows:
-- notify inserts with ON CONFLICT (task_id, channel, format) DO NOTHING and stops at the first
-- row that exists.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_task_id_channel_key;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_task_channel_format_key
    UNIQUE (task_id, channel, format);

-- tickets still open (not yet seen published on the tickets topic): notify moves them to
-- published after each relay pass, whichever worker's relay sent their outbox row.
CREATE INDEX tickets_open ON tickets (ticket_id) WHERE status = 'open';
