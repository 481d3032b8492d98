-- 0135: two indexes no statement reads, dropped (issue 6, W3).
--
-- Every W3 event writes about three audit rows and, through notify, about one delivery; each
-- row paid an insert into an index that nothing uses (bench/README.md "PostgreSQL's writes per
-- W3 event"):
--  * audit_log_incident (incident_id, seq) of 0005: the chain is only ever read by seq
--    (audit_log_verify, `mni audit verify`, audit_log_head, the anchors' join), and no
--    program reads the audit log by incident. The primary key on seq stays.
--  * deliveries_pending (rendered_at) WHERE status <> 'sent' of 0003: no program moves a
--    delivery's status, so it held every row, and none reads by it; deliveries are read by
--    task (the unique (task_id, channel, format) of 0007) and by incident (deliveries_incident),
--    which stay.
-- An operator's ad-hoc query by incident over audit_log now scans it; create the index again
-- where that matters more than the writes.
DROP INDEX audit_log_incident;
DROP INDEX deliveries_pending;
