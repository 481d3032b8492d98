-- The de-duplicated person set keyed token first. Only assess's merge reads it by key (ON
-- CONFLICT DO NOTHING), and a random 32-byte token decides almost every comparison by itself,
-- so a B-tree step compares one column instead of two (the incident: always equal within a
-- manifest, compared in full first). The merge profile had 43% of the merge's time in
-- ON CONFLICT's unique probe, mostly _bt_compare. Pages touched are the same: within an
-- incident its tokens were already spread at random. exposure_tokens keeps (incident, client,
-- token): a manifest's tokens then land in its client's small range of pages, which a
-- 1,000-client incident of millions of tokens needs to stay in the buffer cache. Readers by
-- incident (exports, tests, bench checks) scan; no product path reads it by incident.
ALTER TABLE incident_persons DROP CONSTRAINT incident_persons_pkey,
    ADD PRIMARY KEY (token, incident_id);
