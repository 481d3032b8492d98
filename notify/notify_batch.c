/*
 * notify_batch: see notify_batch.h.
 */
#include "notify/notify_batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/strset.h"
#include "lib/model/json_text.h"
#include "lib/pg/pgx.h"
#include "notify/notify_store.h"
#include "notify/snapshot.h"

/* Which of the batch's task ids have deliveries already: added to `seen`. */
static int load_seen(PGconn *pg, const notify_batch_item *items, size_t n, strset *seen, char *err,
                     size_t errlen)
{
    json_t *ids = json_array();
    for (size_t i = 0; ids && i < n; i++)
        if (items[i].decoded) json_array_append_new(ids, json_string(items[i].task.task_id));
    char *param = ids ? json_text_compact(ids) : NULL;
    json_decref(ids);
    if (!param) {
        snprintf(err, errlen, "notify.batch_seen: out of memory");
        return -1;
    }
    const char *p[] = {param};
    PGresult *res = pgx_query(pg, "notify.batch_seen",
                              "SELECT DISTINCT task_id FROM deliveries WHERE task_id = ANY "
                              "(ARRAY(SELECT jsonb_array_elements_text($1::jsonb)))",
                              1, p, err, errlen);
    free(param);
    if (!res) return -1;
    int rc = 0;
    for (int r = 0; r < PQntuples(res) && rc == 0; r++)
        if (strset_add(seen, PQgetvalue(res, r, 0)) != 0) {
            snprintf(err, errlen, "notify.batch_seen: out of memory");
            rc = -1;
        }
    PQclear(res);
    return rc;
}

/* Stages what task i writes (its deliveries, or its ticket: pass 0 or 1) and queues its audit
 * rows on the ticket pass, in notify_task_handle's order. */
static int stage_task(notify_store_batch *b, const notify_batch_item *it, const notify_rendered *r,
                      int pass, int webhook, char (*shas)[2][65], json_t *audit, char *err,
                      size_t errlen)
{
    const records_notify_task *t = &it->task;
    if (pass == 0) {
        for (size_t d = 0; d < r->n_docs; d++)
            for (size_t f = 0; f < 2; f++) {
                notify_delivery dl;
                notify_task_delivery(t, r, d, f, &dl);
                if (notify_store_batch_delivery(b, &dl, shas[d][f], err, errlen) != 0) return -1;
            }
        return 0;
    }
    if (r->ticket_refused) return 0; /* its documents are stored; no ticket, no audit */
    json_t *channels = json_array();
    for (size_t d = 0; d < r->n_docs; d++) {
        json_array_append_new(channels, json_string(r->plans[d].channel));
        notify_delivery dl;
        for (size_t f = 0; f < 2; f++) {
            notify_task_delivery(t, r, d, f, &dl);
            notify_task_audit_doc(audit, t, &r->plans[d], dl.format, shas[d][f]);
        }
    }
    char ref[160];
    notify_ticket tk;
    notify_task_ticket(t, r, channels, webhook, ref, &tk);
    int rc = notify_store_batch_ticket(b, &tk, err, errlen);
    json_decref(channels);
    if (rc == 0) notify_task_audit_ticket(audit, t);
    return rc;
}

int notify_batch_handle(PGconn *pg, const schema_set *schemas, notify_batch_item *items, size_t n,
                        int webhook, json_t *audit, char *err, size_t errlen)
{
    strset seen;
    strset_init(&seen);
    notify_snapshot_want *wants = calloc(n + 1, sizeof *wants);
    size_t *want_of = calloc(n + 1, sizeof *want_of);
    json_t **snaps = calloc(n + 1, sizeof *snaps);
    int *missing = calloc(n + 1, sizeof *missing);
    notify_rendered *rendered = calloc(n + 1, sizeof *rendered);
    char(*shas)[NOTIFY_MAX_DOCS][2][65] = calloc(n + 1, sizeof *shas);
    size_t n_wants = 0;
    int rc = wants && want_of && snaps && missing && rendered && shas ? 0 : -1;
    if (rc != 0) snprintf(err, errlen, "notify.batch: out of memory");
    if (rc == 0) rc = load_seen(pg, items, n, &seen, err, errlen);

    /* 1. seen before, or a kind without documents: no snapshot needed. */
    notify_doc_plan plans[NOTIFY_MAX_DOCS];
    for (size_t i = 0; i < n && rc == 0; i++) {
        notify_batch_item *it = &items[i];
        if (!it->decoded) continue;
        it->why[0] = '\0';
        if (strset_contains(&seen, it->task.task_id)) {
            it->outcome = NOTIFY_TASK_DUPLICATE;
        } else if (notify_task_plan(&it->task, plans) == 0) {
            snprintf(it->why, sizeof it->why, "kind: no documents for task kind %d",
                     (int)it->task.kind);
            it->outcome = NOTIFY_TASK_MALFORMED;
        } else {
            it->outcome = NOTIFY_TASK_DONE; /* so far */
            want_of[i] = n_wants;
            /* Reminders and escalations read no client's part of the verdict. */
            int alert =
                it->task.kind == RECORDS_TASK_REMINDER || it->task.kind == RECORDS_TASK_ESCALATION;
            wants[n_wants++] = (notify_snapshot_want){it->task.incident_id, it->task.client_id,
                                                      (int)it->task.case_version, alert};
        }
    }
    /* 2. every snapshot at once. */
    if (rc == 0 && n_wants > 0)
        rc = notify_snapshot_load_many(pg, wants, n_wants, snaps, missing, err, errlen);

    /* 3. render in batch order; a task id met again after its first stored its documents is a
     * duplicate, as it would be one task after the other. */
    for (size_t i = 0; i < n && rc == 0; i++) {
        notify_batch_item *it = &items[i];
        if (!it->decoded || it->outcome != NOTIFY_TASK_DONE) continue;
        if (strset_contains(&seen, it->task.task_id)) {
            it->outcome = NOTIFY_TASK_DUPLICATE;
            continue;
        }
        size_t k = want_of[i];
        if (missing[k]) {
            snprintf(it->why, sizeof it->why, "incident_id: no case %s", it->task.incident_id);
            it->outcome = NOTIFY_TASK_UNKNOWN_CASE;
            continue;
        }
        it->outcome = notify_task_render(&it->task, it->payload, snaps[k], &rendered[i], it->why,
                                         sizeof it->why, err, errlen);
        if (it->outcome == NOTIFY_TASK_FAILED) rc = -1;
        if (it->outcome == NOTIFY_TASK_DONE && strset_add(&seen, it->task.task_id) != 0) {
            snprintf(err, errlen, "notify.batch: out of memory");
            rc = -1;
        }
    }

    /* 4. deliveries of every task, then the tickets, then the audit rows in task order. */
    notify_store_batch b;
    int staging = 0;
    if (rc == 0) rc = notify_store_batch_begin(pg, schemas, &b, err, errlen);
    staging = rc == 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n && rc == 0; i++)
            if (items[i].decoded && items[i].outcome == NOTIFY_TASK_DONE)
                rc = stage_task(&b, &items[i], &rendered[i], pass, webhook, shas[i], audit, err,
                                errlen);
    if (rc == 0) {
        int conflict = 0;
        staging = 0;
        rc = notify_store_batch_end(&b, &conflict, err, errlen);
        if (rc == 0 && conflict) {
            snprintf(err, errlen, "notify.batch: a task's deliveries were stored meanwhile");
            rc = -1;
        }
    }
    if (staging && rc != 0) notify_store_batch_abort(&b);
    for (size_t i = 0; i < n && rc == 0; i++) {
        notify_batch_item *it = &items[i];
        if (!it->decoded || it->outcome != NOTIFY_TASK_DONE) continue;
        if (rendered[i].ticket_refused)
            it->outcome = NOTIFY_TASK_MALFORMED;
        else
            notify_task_log_done(&it->task, &rendered[i]);
    }

    for (size_t i = 0; rendered && i < n; i++)
        notify_rendered_free(&rendered[i]);
    for (size_t k = 0; snaps && k < n_wants; k++)
        json_decref(snaps[k]);
    strset_free(&seen);
    free(wants);
    free(want_of);
    free(snaps);
    free(missing);
    free(rendered);
    free(shas);
    return rc;
}
