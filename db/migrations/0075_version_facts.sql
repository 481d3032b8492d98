-- 0075: each case version keeps the facts it was assessed from (issue 8 item 11).
--
-- notify renders a task's documents from the version the task names, so that a document is
-- the same whenever notify gets to the task (a notify that lags behind assess, a replay, a
-- second run of the same stream). The verdict of a version was stored; the facts it rests on
-- (title aside: kinds, certainty, systems, known_at ... as `mni assess` takes them, without
-- clients) were only in cases.facts, which later events overwrite.
--
--   case_versions.facts  the case's facts document (cases.facts' shape: no clients, known_at
--                        in UTC) as of this version; a constant size whatever the number of
--                        clients, like the verdict beside it (the clients' counts are in
--                        client_verdicts, issue 6). NULL for versions stored before this
--                        migration: readers fall back to cases.facts for those.
--
--   case_events.title, .description  the texts an incident_opened or facts_updated event
--                        carries (NULL when it carries none), written by assess as it applies
--                        the event. event_log holds them too, but ingest commits event_log
--                        after forwarding the event (worker.h), so assess can apply an event
--                        whose event_log row is not there yet: documents must not depend on
--                        that race.
--
-- What else a version's documents show is derived, not stored again (notify/snapshot.h):
-- steps, filings and texts are those of the events applied up to and including the version's
-- cause event (case_events.version_after < version, or the cause itself), and each client's
-- counts are those of its verdict entry as of the version.
ALTER TABLE case_versions ADD COLUMN facts jsonb;
ALTER TABLE case_events ADD COLUMN title text, ADD COLUMN description text;

-- notify reads the ledger to know which events a version rests on (migration 0040's roles).
GRANT SELECT ON case_events TO mni_notify;
