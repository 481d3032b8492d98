-- The person-token sets keyed token first. Only assess's merge reads them by key (ON CONFLICT
-- DO NOTHING), and a random 32-byte token decides almost every comparison by itself, so a
-- B-tree step compares one column instead of three (incident, client: always equal within a
-- manifest, compared in full first). The merge profile had 43% of the merge's time in
-- ON CONFLICT's unique probe, mostly _bt_compare. Readers by incident (exports, tests,
-- bench checks) scan; no product path reads these tables by incident.
ALTER TABLE exposure_tokens DROP CONSTRAINT exposure_tokens_pkey,
    ADD PRIMARY KEY (token, incident_id, client_id);
ALTER TABLE incident_persons DROP CONSTRAINT incident_persons_pkey,
    ADD PRIMARY KEY (token, incident_id);
