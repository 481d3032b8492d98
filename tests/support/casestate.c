/*
 * casestate: see casestate.h.
 */
#include "tests/support/casestate.h"

#include <stdio.h>

#include "tests/support/sqlcheck.h"

char *casestate_text(PGconn *pg, unsigned with)
{
    const int order = (with & CASESTATE_ORDER) != 0;
    char sql[4096];
    snprintf(
        sql, sizeof sql,
        "SELECT string_agg(x, E'\\n' ORDER BY x) FROM ("
        "SELECT 'case|'||incident_id||'|'||status||'|'||version||'|'||persons_total||'|'||"
        "coalesce(mandatory_since::text,'')||'|'||%sfacts::text FROM cases "
        "UNION ALL SELECT 'ver|'||incident_id||'|'||version||'|'||verdict::text||'|'||"
        "array_to_string(rules,',')||'|'||coalesce(cause_event_id,'') FROM case_versions "
        "UNION ALL SELECT 'exp|'||incident_id||'|'||client_id||'|'||persons||'|'||"
        "coalesce(persons_max::text,'')||'|'||token_count FROM client_exposure "
        "UNION ALL SELECT 'tok|'||incident_id||'|'||client_id||'|'||encode(token,'hex')||'|'||"
        "coalesce(added_by::text,'') FROM exposure_tokens "
        "UNION ALL SELECT "
        "'per|'||incident_id||'|'||encode(token,'hex')||'|'||coalesce(added_by::text,'') "
        "FROM incident_persons "
        "UNION ALL SELECT 'dl|'||incident_id||'|'||coalesce(client_id,'')||'|'||kind||'|'||"
        "coalesce(due_date::text,'')||'|'||coalesce(due_at::text,'')||'|'||"
        "coalesce(met_at::text,'') FROM deadlines "
        "UNION ALL SELECT 'out|'||task_id||'|'||topic||'|'||kind||'|'||payload::text||'|'||"
        "(failed_at IS NULL AND NOT EXISTS (SELECT FROM outbox_queue q WHERE q.task_id = "
        "o.task_id)) FROM outbox o WHERE topic <> 'anchors' " /* the audit chain's */
        "UNION ALL SELECT 'ev|'||event_id||'|'||kind%s FROM case_events "
        "UNION ALL SELECT 'step|'||incident_id||'|'||step%s FROM case_steps "
        "UNION ALL SELECT 'filed|'||event_id||'|'||report FROM case_filings "
        "UNION ALL SELECT 'audit|'||action||'|'||incident_id||'|'||payload::text FROM audit_log "
        "%s"
        "UNION ALL SELECT 'cv|'||incident_id||'|'||client_id||'|'||version||'|'||entry::text "
        "FROM client_verdicts "
        "UNION ALL SELECT 'full|'||incident_id||'|'||version||'|'||"
        "case_verdict(incident_id, version)::text FROM cases WHERE version > 0 "
        "UNION ALL SELECT 'batch|'||incident_id||'|'||client_id||'|'||batch_id||'|'||event_id "
        "FROM exposure_batches "
        "%s%s"
        ") s(x)",
        order ? "coalesce(closed_at::text,'')||'|'||distinct_tokens||'|'||"
                "coalesce(last_event_id,'')||'|'||"
              : "",
        order ? "||'|'||version_after" : "", order ? "||'|'||event_id" : "",
        order ? "WHERE actor = 'mni-assess' " : "",
        order ? "UNION ALL SELECT 'wait|'||incident_id||'|'||event_id||'|'||kind FROM "
                "waiting_events "
              : "",
        with & CASESTATE_EVENT_LOG ? "UNION ALL SELECT 'log|'||event_id||'|'||body::text FROM "
                                     "event_log "
                                   : "");
    return sqlcheck_text(pg, sql, NULL);
}
