-- 0002: who was exposed, per client and per incident, exactly and incrementally.
--
-- The headcount rules need, per incident, each client's count and the de-duplicated total over
-- all clients (the same person under two clients is one person). Producers send either person
-- tokens (exposure manifests, in batches) or bare counts (exposure count events) when tokens are
-- unknown. Tokens are 32-byte HMAC-SHA256 values, stored as bytea (half the size of hex text;
-- write them as '\x' followed by 64 hex digits, in COPY text as well).
--
-- Merging a manifest batch, in one transaction with the consumer offset (DESIGN.md):
--   1. INSERT INTO exposure_batches ... ON CONFLICT DO NOTHING; no row inserted means this batch
--      was merged before: stop (idempotent replays).
--   2. COPY the batch's tokens into a temporary staging table, then
--      INSERT INTO exposure_tokens SELECT ... ON CONFLICT DO NOTHING RETURNING token
--      (new for this client), add their number to client_exposure.token_count;
--   3. INSERT INTO incident_persons (those new tokens) ON CONFLICT DO NOTHING, add the number of
--      rows inserted to cases.persons_total.
-- Every count is then exact without ever scanning millions of rows again.

-- client_exposure: one row per (incident, client).
--  * persons / persons_max: the latest exposure count event for this client (persons known,
--    possible maximum when the extent is not yet clear); persons_max >= persons is validated by
--    the writer (bad input goes to the dead-letter topic, it must not fail a batch here).
--  * token_count: distinct tokens of this client in exposure_tokens.
--  * contract_notice_hours: the client contract's deadline for the BPO's notice to the client,
--    in hours from when the BPO knew (0: at once; NULL: the contract sets none, the default
--    rule applies).
CREATE TABLE client_exposure (
    incident_id           text        NOT NULL,
    client_id             text        NOT NULL,
    persons               bigint      NOT NULL DEFAULT 0 CHECK (persons >= 0),
    persons_max           bigint      CHECK (persons_max >= 0),
    token_count           bigint      NOT NULL DEFAULT 0 CHECK (token_count >= 0),
    contract_notice_hours integer     CHECK (contract_notice_hours >= 0),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (incident_id, client_id)
);
CREATE INDEX client_exposure_client ON client_exposure (client_id);

-- exposure_tokens: the person tokens each client reported for an incident (a set: a token
-- repeated in several manifests of one client is one row).
CREATE TABLE exposure_tokens (
    incident_id text  NOT NULL,
    client_id   text  NOT NULL,
    token       bytea NOT NULL CHECK (octet_length(token) = 32),
    PRIMARY KEY (incident_id, client_id, token)
);

-- incident_persons: the distinct person tokens of an incident over all clients; the exact
-- de-duplicated total is its row count. Not client-owned (it is the BPO's cross-client view).
CREATE TABLE incident_persons (
    incident_id text  NOT NULL,
    token       bytea NOT NULL CHECK (octet_length(token) = 32),
    PRIMARY KEY (incident_id, token)
);

-- exposure_batches: manifest batches already merged, so that a replayed manifest changes
-- nothing. batch_id is the producer's id of the batch within (incident, client).
CREATE TABLE exposure_batches (
    incident_id text        NOT NULL,
    client_id   text        NOT NULL,
    batch_id    text        NOT NULL,
    event_id    text        NOT NULL,
    tokens      integer     NOT NULL CHECK (tokens >= 0),
    merged_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (incident_id, client_id, batch_id)
);
