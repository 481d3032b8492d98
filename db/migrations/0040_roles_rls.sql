-- 0040: who may see and change what (issue 8, Security): the owner, one role per worker,
-- row-level security per client.
--
-- Roles (cluster-wide; created here when absent, which needs CREATEROLE: scripts/mni-env gives
-- it to the development owner `mni`; deploy/RUNBOOK.md "Database roles" for production):
--   the owner          whoever runs `mni db migrate`: owns every table, view and function; the
--                      only role that may change the schema or disable a trigger.
--   mni_ingest         mni-ingest    } LOGIN without a password: set one (ALTER ROLE ...
--   mni_assess         mni-assess    } PASSWORD) or map certificates to let the worker in; each
--   mni_notify         mni-notify    } has the grants of its SQL below and nothing else
--   mni_reader         mni web, mni cases / case / report: SELECT only
--   mni_all_clients    NOLOGIN, no privileges: its members see every client's rows (the three
--                      workers, mni_reader, the owner, every `mni db bpo-role`)
--   mni_client         NOLOGIN: what every `mni db client-role` shares (SELECT on the
--                      client-owned tables, case_steps and the two views below); its
--                      members see only the rows of their own client
--
-- Row-level security: every client-owned table (one with a client_id column) has it enabled
-- AND forced, so that the owner is held to the policies too. Two policies each:
--   all_clients  TO mni_all_clients  USING (true)            every row
--   own_client   TO mni_client       client_id = the caller's client (mni_client_id()), for
--                                    reading, changing and inserting alike.
-- A row without client_id (incident-wide: the incident's opening event, a PPC deadline) is
-- invisible to a client role. Tables without the column (cases, case_versions,
-- incident_persons with the de-duplicated total over all clients, the workers' bookkeeping)
-- get no row-level security but no privilege for mni_client either: a client role cannot read
-- them at all; one exception, read-only and scoped by incident: case_steps (below).
-- PostgreSQL refuses COPY FROM into a table whose policies apply to the writer, so mni-assess
-- COPYs only into case_versions and case_events (no row-level security) and INSERTs into the
-- client-owned tables from staging tables. What a client may see of a case comes through the
-- two views below, which cut it down to the client's own part.
--
-- Which client a role is: mni_client_roles (role_name -> client_id), written by
-- `mni db client-role` (mni_client_role() below). A role is either a client's or sees all,
-- never both: both functions refuse to turn one into the other.
--
-- Append-only tables (the mni_refuse_change trigger) get neither UPDATE nor DELETE nor
-- TRUNCATE for any application role, and no application role gets DELETE or TRUNCATE at all;
-- only the owner could remove evidence, and the audit chain (0041) shows it if it does.

-- ---- roles ----
DO $$
DECLARE
    r record;
    me text := current_user;
BEGIN
    FOR r IN SELECT * FROM (VALUES
            ('mni_all_clients', false, NULL),
            ('mni_client',      false, NULL),
            ('mni_ingest',      true,  'mni_all_clients'),
            ('mni_assess',      true,  'mni_all_clients'),
            ('mni_notify',      true,  'mni_all_clients'),
            ('mni_reader',      true,  'mni_all_clients')) AS t(name, login, member_of)
    LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r.name) THEN
            IF NOT (SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = me) THEN
                RAISE EXCEPTION 'role % does not exist and % may not create roles', r.name, me
                    USING ERRCODE = 'insufficient_privilege',
                          HINT = 'create the roles as a DBA (deploy/RUNBOOK.md "Database roles") '
                                 'or ALTER ROLE ' || me || ' CREATEROLE';
            END IF;
            BEGIN
                EXECUTE format('CREATE ROLE %I %s', r.name,
                               CASE WHEN r.login THEN 'LOGIN' ELSE 'NOLOGIN' END);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL; -- another database of the cluster created it at the same time
            END;
        END IF;
        IF r.member_of IS NOT NULL AND NOT pg_has_role(r.name, r.member_of, 'MEMBER') THEN
            BEGIN
                EXECUTE format('GRANT %I TO %I', r.member_of, r.name);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;
            END;
        END IF;
    END LOOP;
    -- The owner sees every row of the tables it owns (they are FORCEd).
    IF NOT pg_has_role(me, 'mni_all_clients', 'MEMBER') THEN
        BEGIN
            EXECUTE format('GRANT mni_all_clients TO %I', me);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
END
$$;

-- ---- which client a role is ----
-- (Policies of its own, not those of the loop below.)
CREATE TABLE mni_client_roles (
    role_name  name        PRIMARY KEY,
    client_id  text        NOT NULL CHECK (client_id <> ''),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mni_client_roles_client ON mni_client_roles (client_id);
ALTER TABLE mni_client_roles ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY all_clients ON mni_client_roles TO mni_all_clients USING (true) WITH CHECK (true);
-- A client role reads its own row, which is how mni_client_id() finds its client.
CREATE POLICY own_role ON mni_client_roles FOR SELECT TO mni_client
    USING (role_name = current_user);
GRANT SELECT ON mni_client_roles TO mni_client, mni_reader;

-- The caller's client, NULL for a role that is no client's. Policies call it as
-- (SELECT mni_client_id()), evaluated once per statement. Not SECURITY DEFINER: inside such a
-- function current_user would be the owner, not the caller.
CREATE FUNCTION mni_client_id() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT client_id FROM mni_client_roles WHERE role_name = current_user
$$;

-- True when the caller sees every client's rows (a member of mni_all_clients, a superuser, a
-- role with BYPASSRLS).
CREATE FUNCTION mni_sees_all() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT pg_has_role('mni_all_clients', 'USAGE')
        OR coalesce((SELECT rolbypassrls FROM pg_roles WHERE rolname = current_user), false)
$$;

-- ---- row-level security on every client-owned table ----
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT c.relname,
                    EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid
                               AND a.attname = 'client_id' AND NOT a.attisdropped) AS has_client
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
                AND c.relname NOT IN ('schema_migrations', 'mni_client_roles')
    LOOP
        IF t.has_client THEN
            EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY',
                           t.relname);
            EXECUTE format('CREATE POLICY all_clients ON %I TO mni_all_clients'
                           ' USING (true) WITH CHECK (true)', t.relname);
            EXECUTE format('CREATE POLICY own_client ON %I TO mni_client'
                           ' USING (client_id = (SELECT mni_client_id()))'
                           ' WITH CHECK (client_id = (SELECT mni_client_id()))', t.relname);
            EXECUTE format('GRANT SELECT ON %I TO mni_client', t.relname);
        END IF;
        EXECUTE format('GRANT SELECT ON %I TO mni_reader', t.relname);
    END LOOP;
END
$$;

-- case_steps: the incident's response steps (containment, investigation, ...), which every
-- client of the incident may see on its case page: scoped by incident, not by client.
ALTER TABLE case_steps ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY all_clients ON case_steps TO mni_all_clients USING (true) WITH CHECK (true);
CREATE POLICY own_incident ON case_steps FOR SELECT TO mni_client
    USING (EXISTS (SELECT FROM client_exposure x WHERE x.incident_id = case_steps.incident_id
                                                   AND x.client_id = (SELECT mni_client_id())));
GRANT SELECT ON case_steps TO mni_client;

-- ---- what a client sees of a case ----
-- Both views are NOT security_invoker: they read cases, case_versions and client_verdicts as
-- their owner, which is what lets them show a client the parts of a row it may see, and they
-- filter rows themselves (the caller's identity, current_user, is still the caller inside a
-- view). Every other view over client-owned tables must be security_invoker, so that the
-- policies above apply to its caller (tests/integration/test_rls.c checks every view).

-- cases as the caller may see them: all of it for a role that sees all; for a client role,
-- the cases it has exposure in, without what is counted over all clients (persons_total,
-- distinct_tokens), the merged facts and what follows from the whole (reportable,
-- direct_report, mandatory_since).
CREATE VIEW case_overview AS
SELECT c.incident_id, c.tenant, c.opened_at, c.known_at, c.status, c.version, c.closed_at,
       c.last_event_id, c.updated_at,
       CASE WHEN s.sees_all THEN c.reportable END      AS reportable,
       CASE WHEN s.sees_all THEN c.direct_report END   AS direct_report,
       CASE WHEN s.sees_all THEN c.facts END           AS facts,
       CASE WHEN s.sees_all THEN c.persons_total END   AS persons_total,
       CASE WHEN s.sees_all THEN c.distinct_tokens END AS distinct_tokens,
       CASE WHEN s.sees_all THEN c.mandatory_since END AS mandatory_since
  FROM cases c
 CROSS JOIN (SELECT mni_sees_all() AS sees_all, mni_client_id() AS client_id) s
 WHERE s.sees_all
    OR EXISTS (SELECT FROM client_exposure x
                WHERE x.incident_id = c.incident_id AND x.client_id = s.client_id);

-- case versions as the caller may see them: verdict is case_verdict() for a role that sees all;
-- for a client role, its own entry of the version (its latest at or before it) shaped like a
-- verdict: my_number and appi are the client's status and rules, headcount holds only its own
-- counts (never total, known or appi_persons, which are over all clients), clients[] only its
-- entry; rules are the client's. NULL verdict before the client has an entry.
CREATE VIEW case_versions_shown AS
SELECT v.incident_id, v.version, v.created_at, v.cause_event_id,
       CASE WHEN s.sees_all THEN v.rules
            ELSE ARRAY(SELECT jsonb_array_elements_text(coalesce(e.entry -> 'rules', '[]')
                                                        || coalesce(e.entry -> 'appi_rules', '[]')))
       END AS rules,
       CASE WHEN s.sees_all THEN case_verdict(v.incident_id, v.version)
            WHEN e.entry IS NOT NULL THEN jsonb_build_object(
                'incident_id', v.incident_id,
                'client_id', s.client_id,
                'my_number', jsonb_build_object('status', e.entry -> 'status',
                                                'rules', e.entry -> 'rules'),
                'appi', jsonb_build_object('status', e.entry -> 'appi_status',
                                           'rules', e.entry -> 'appi_rules'),
                'headcount', jsonb_build_object(
                    'clients', jsonb_build_object(s.client_id, e.entry -> 'headcount'),
                    'clients_known', jsonb_build_object(s.client_id, e.entry -> 'headcount_known')),
                'deadlines', e.entry -> 'deadlines',
                'clients', jsonb_build_array(e.entry))
       END AS verdict
  FROM case_versions v
 CROSS JOIN (SELECT mni_sees_all() AS sees_all, mni_client_id() AS client_id) s
  LEFT JOIN LATERAL (
       SELECT cv.entry FROM client_verdicts cv
        WHERE NOT s.sees_all AND cv.incident_id = v.incident_id
          AND cv.client_id = s.client_id AND cv.version <= v.version
        ORDER BY cv.version DESC LIMIT 1) e ON true
 WHERE s.sees_all
    OR EXISTS (SELECT FROM client_exposure x
                WHERE x.incident_id = v.incident_id AND x.client_id = s.client_id);

GRANT SELECT ON case_overview, case_versions_shown TO mni_client, mni_reader;

-- ---- what each worker may do ----
-- Read by its SQL, written by its SQL; USAGE on sequences for identity and serial columns.
-- Every worker: its consumer offsets, the gaps it finds (lib/runtime/worker.c, logcheck.c),
-- the epochs of event_log (logcheck), the outbox relay (lib/runtime/outbox.c), the audit log
-- (0041 adds the anchors).
GRANT SELECT, INSERT, UPDATE ON consumer_offsets, consumer_gaps TO mni_ingest, mni_assess, mni_notify;
GRANT SELECT ON event_log TO mni_ingest, mni_assess, mni_notify;
GRANT SELECT, INSERT, UPDATE ON outbox TO mni_assess, mni_notify;
GRANT INSERT ON audit_log TO mni_assess, mni_notify;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO mni_ingest, mni_assess, mni_notify;

-- mni-ingest (ingest/event_store.c): appends accepted events.
GRANT INSERT ON event_log TO mni_ingest;

-- mni-assess (assess/batch_store.c, token_merge.c): the case, its versions and everything
-- derived from the events; the relay reads the verdicts it sends.
GRANT SELECT, INSERT, UPDATE ON cases, client_exposure, deadlines TO mni_assess;
GRANT SELECT, INSERT ON case_versions, client_verdicts, case_events, case_steps, case_filings,
    exposure_tokens, exposure_batches, incident_persons TO mni_assess;

-- mni-notify (notify/snapshot.c, notify_store.c, sweeper.c, webhook.c, main.c): reads the case
-- as a task names it, writes documents, tickets and webhook attempts, marks deadlines reminded.
GRANT SELECT ON cases, case_versions, client_verdicts, client_exposure, case_steps, case_filings
    TO mni_notify;
GRANT SELECT, UPDATE ON deadlines TO mni_notify;
GRANT SELECT, INSERT, UPDATE ON deliveries, tickets TO mni_notify;
GRANT SELECT, INSERT ON ticket_webhook_attempts TO mni_notify;

-- ---- client and BPO roles (`mni db client-role`, `mni db bpo-role`; cli/cmd_db.c) ----
-- Run by the owner (CREATEROLE). Each returns 'created' or 'updated'.

-- A role that sees only client p_client's rows: SELECT through mni_client, and the policies
-- confine any write privilege granted to it later to those rows too. An existing role is updated
-- (its client changed) unless it sees all or is one of mni's own roles.
CREATE FUNCTION mni_client_role(p_role name, p_client text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    created boolean := false;
BEGIN
    IF p_client IS NULL OR p_client = '' THEN
        RAISE EXCEPTION 'client_id: must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_role IN ('mni_all_clients', 'mni_client', 'mni_ingest', 'mni_assess', 'mni_notify',
                  'mni_reader') OR p_role = current_user THEN
        RAISE EXCEPTION 'role %: one of mni''s own roles, not a client''s', p_role
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = p_role) THEN
        IF pg_has_role(p_role, 'mni_all_clients', 'MEMBER')
           OR (SELECT rolbypassrls FROM pg_roles WHERE rolname = p_role) THEN
            RAISE EXCEPTION 'role %: sees every client''s rows (a BPO role or a superuser); a '
                            'client role must be a role of its own', p_role
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    ELSE
        EXECUTE format('CREATE ROLE %I LOGIN', p_role);
        created := true;
    END IF;
    EXECUTE format('GRANT mni_client TO %I', p_role);
    INSERT INTO mni_client_roles (role_name, client_id) VALUES (p_role, p_client)
    ON CONFLICT (role_name) DO UPDATE SET client_id = EXCLUDED.client_id, updated_at = now();
    RETURN CASE WHEN created THEN 'created' ELSE 'updated' END;
END
$$;

-- A role that sees every client's rows and reads what mni_reader reads.
CREATE FUNCTION mni_bpo_role(p_role name) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    created boolean := false;
BEGIN
    IF p_role IN ('mni_all_clients', 'mni_client', 'mni_reader') THEN
        RAISE EXCEPTION 'role %: one of mni''s own roles', p_role
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT FROM mni_client_roles WHERE role_name = p_role)
       OR (EXISTS (SELECT FROM pg_roles WHERE rolname = p_role)
           AND pg_has_role(p_role, 'mni_client', 'MEMBER')
           AND NOT pg_has_role(p_role, 'mni_all_clients', 'MEMBER')) THEN
        RAISE EXCEPTION 'role %: a client''s role; a BPO role must be a role of its own', p_role
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = p_role) THEN
        EXECUTE format('CREATE ROLE %I LOGIN', p_role);
        created := true;
    END IF;
    EXECUTE format('GRANT mni_all_clients, mni_reader TO %I', p_role);
    RETURN CASE WHEN created THEN 'created' ELSE 'updated' END;
END
$$;

REVOKE EXECUTE ON FUNCTION mni_client_role(name, text), mni_bpo_role(name) FROM PUBLIC;
