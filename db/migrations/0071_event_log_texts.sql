-- 0071: the events that carry an incident's title and description, indexed apart.
--
-- notify reads them for every task it renders (notify/snapshot.c load_texts) and `mni report`
-- for every report: incident_opened and facts_updated of one incident. With only
-- event_log_incident (incident_id, occurred_at) that read visited every event of the incident,
-- manifests included, so a 1,000-client incident's 1,000 client notices cost in proportion to
-- its thousands of manifests each (issue 6: cost in proportion to the work). This index holds
-- only those two kinds; the queries name the same kinds, so the planner uses it.
CREATE INDEX event_log_incident_texts ON event_log (incident_id, occurred_at)
    WHERE kind IN ('incident_opened', 'facts_updated');
