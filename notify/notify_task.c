/*
 * notify_task: see notify_task.h.
 */
#include "notify/notify_task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/log.h"
#include "lib/base/timefmt.h"
#include "lib/model/task_id.h"
#include "notify/notify_store.h"
#include "notify/render/render.h"
#include "notify/snapshot.h"

#define NOTIFY_MAX_DOCS 2

/* One document a task produces. */
typedef struct {
    render_kind kind;
    char channel[96];
    const char *recipient;
} notify_doc_plan;

/* The documents of a task kind; 0 when the kind renders nothing (never: every kind does). */
static size_t plan_docs(const records_notify_task *t, notify_doc_plan out[NOTIFY_MAX_DOCS])
{
    switch (t->kind) {
    case RECORDS_TASK_CLIENT_NOTICE:
        out[0] = (notify_doc_plan){RENDER_CLIENT_NOTICE, "", t->client_id};
        snprintf(out[0].channel, sizeof out[0].channel, "client:%s",
                 t->client_id ? t->client_id : "");
        return 1;
    case RECORDS_TASK_PPC_PRELIMINARY:
        out[0] = (notify_doc_plan){RENDER_PPC_PRELIMINARY, "ppc_draft", "ppc"};
        return 1;
    case RECORDS_TASK_PPC_FINAL:
        out[0] = (notify_doc_plan){RENDER_PPC_FINAL, "ppc_draft", "ppc"};
        return 1;
    case RECORDS_TASK_PRINCIPAL_NOTICE:
        out[0] = (notify_doc_plan){RENDER_PERSONS_NOTICE, "persons", "persons"};
        out[1] = (notify_doc_plan){RENDER_PUBLICATION, "publication", "public"};
        return 2;
    case RECORDS_TASK_PUBLICATION:
        out[0] = (notify_doc_plan){RENDER_PUBLICATION, "publication", "public"};
        return 1;
    case RECORDS_TASK_REMINDER:
        out[0] = (notify_doc_plan){RENDER_REMINDER, "reminder", "bpo"};
        return 1;
    case RECORDS_TASK_ESCALATION:
        out[0] = (notify_doc_plan){RENDER_ESCALATION, "escalation", "bpo"};
        return 1;
    }
    return 0;
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* The task as the renderers take it (render.h "Input"). */
static json_t *task_json(const records_notify_task *t, const json_t *payload)
{
    json_t *task = json_pack("{s:s, s:s, s:s, s:I}", "task_id", t->task_id, "incident_id",
                             t->incident_id, "kind", records_task_kind_name(t->kind),
                             "case_version", (json_int_t)t->case_version);
    if (!task) return NULL;
    json_object_set_new(task, "client_id", t->client_id ? json_string(t->client_id) : json_null());
    static const char *const copied[] = {"due_date", "due_at", "deadline_kind", "as_of"};
    for (size_t i = 0; i < sizeof copied / sizeof copied[0]; i++) {
        const char *v = jstr(payload, copied[i]);
        json_object_set_new(task, copied[i], v ? json_string(v) : json_null());
    }
    if (!jstr(payload, "due_date") && !jstr(payload, "due_at") && t->due_at_ms != RECORDS_NO_TIME) {
        char when[32];
        timefmt_format_jst_ms(t->due_at_ms, when);
        json_object_set_new(task, "due_at", json_string(when));
    }
    return task;
}

/* Stores the two formats of one document; *fresh = 0 when the first already existed. */
static int store_doc(PGconn *pg, const records_notify_task *t, const notify_doc_plan *plan,
                     const render_doc *doc, json_t *audit, int *fresh, char *err, size_t errlen)
{
    char *json_text = json_dumps(doc->json, JSON_INDENT(2));
    if (!json_text) {
        snprintf(err, errlen, "task %s: cannot serialise the %s document", t->task_id,
                 render_kind_name(plan->kind));
        return -1;
    }
    const char *formats[] = {"json", "text"};
    const char *texts[] = {json_text, doc->markdown};
    int rc = 0;
    *fresh = 1;
    for (size_t f = 0; f < 2 && rc == 0 && *fresh; f++) {
        notify_delivery d = {
            .task_id = t->task_id,
            .incident_id = t->incident_id,
            .client_id = t->client_id,
            .channel = plan->channel,
            .recipient = plan->recipient,
            .format = formats[f],
            .document = texts[f],
        };
        char sha[65];
        rc = notify_store_delivery(pg, &d, sha, fresh, err, errlen);
        if (rc == 0 && *fresh)
            notify_audit_add(audit, "document_rendered", t->incident_id, t->client_id,
                             json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "task_id", t->task_id,
                                       "kind", records_task_kind_name(t->kind), "channel",
                                       plan->channel, "format", formats[f], "sha256", sha,
                                       "case_version", (json_int_t)t->case_version));
    }
    free(json_text);
    return rc;
}

static notify_task_outcome store_ticket(PGconn *pg, const records_notify_task *t,
                                        const json_t *task, const notify_doc_plan *plan,
                                        const render_doc *doc, json_t *channels, int webhook,
                                        json_t *audit, char *why, size_t whylen, char *err,
                                        size_t errlen)
{
    char *title = NULL, *summary = NULL, ref[160], ticket_id[64];
    if (render_ticket_text(plan->kind, doc->json, task, &title, &summary, why, whylen) != 0)
        return NOTIFY_TASK_MALFORMED;
    snprintf(ref, sizeof ref, "deliveries/%s", t->task_id);
    notify_ticket tk = {
        .task_id = t->task_id,
        .incident_id = t->incident_id,
        .client_id = t->client_id,
        .kind = records_task_kind_name(t->kind),
        .title = title,
        .summary = summary,
        .due_date = jstr(task, "due_date"),
        .due_at = jstr(task, "due_at"),
        .document_ref = ref,
        .channels = channels,
        .case_version = t->case_version,
        .webhook = webhook,
    };
    int rc = notify_store_ticket(pg, &tk, err, errlen);
    free(title);
    free(summary);
    if (rc != 0) return NOTIFY_TASK_FAILED;
    mni_ticket_id(t->task_id, ticket_id);
    notify_audit_add(audit, "ticket_created", t->incident_id, t->client_id,
                     json_pack("{s:s, s:s, s:s}", "ticket_id", ticket_id, "task_id", t->task_id,
                               "kind", records_task_kind_name(t->kind)));
    return NOTIFY_TASK_DONE;
}

notify_task_outcome notify_task_handle(PGconn *pg, const records_notify_task *t,
                                       const json_t *payload, int webhook, json_t *audit, char *why,
                                       size_t whylen, char *err, size_t errlen)
{
    int seen = 0, missing = 0;
    if (notify_store_task_seen(pg, t->task_id, &seen, err, errlen) != 0) return NOTIFY_TASK_FAILED;
    if (seen) return NOTIFY_TASK_DUPLICATE;

    notify_doc_plan plans[NOTIFY_MAX_DOCS];
    size_t n_plans = plan_docs(t, plans);
    if (n_plans == 0) {
        snprintf(why, whylen, "kind: no documents for task kind %d", (int)t->kind);
        return NOTIFY_TASK_MALFORMED;
    }
    json_t *snap = notify_snapshot_load(pg, t->incident_id, t->client_id, (int)t->case_version,
                                        &missing, err, errlen);
    if (!snap && missing) {
        snprintf(why, whylen, "incident_id: no case %s", t->incident_id);
        return NOTIFY_TASK_UNKNOWN_CASE;
    }
    if (!snap) return NOTIFY_TASK_FAILED;
    json_t *task = task_json(t, payload);
    if (!task) {
        json_decref(snap);
        snprintf(err, errlen, "task %s: cannot build the task JSON", t->task_id);
        return NOTIFY_TASK_FAILED;
    }

    size_t audit_mark = json_array_size(audit);
    render_doc docs[NOTIFY_MAX_DOCS] = {{0}};
    notify_task_outcome out = NOTIFY_TASK_DONE;
    for (size_t i = 0; i < n_plans && out == NOTIFY_TASK_DONE; i++)
        if (render_document(plans[i].kind, snap, task, &docs[i], why, whylen) != 0)
            out = NOTIFY_TASK_MALFORMED;
    json_t *channels = json_array();
    for (size_t i = 0; i < n_plans && out == NOTIFY_TASK_DONE; i++) {
        int fresh = 0;
        if (store_doc(pg, t, &plans[i], &docs[i], audit, &fresh, err, errlen) != 0)
            out = NOTIFY_TASK_FAILED;
        else if (!fresh)
            out = NOTIFY_TASK_DUPLICATE; /* another member stored it meanwhile */
        else
            json_array_append_new(channels, json_string(plans[i].channel));
    }
    if (out == NOTIFY_TASK_DONE)
        out = store_ticket(pg, t, task, &plans[0], &docs[0], channels, webhook, audit, why, whylen,
                           err, errlen);
    /* Audit only what this task wrote (a duplicate found half-way wrote nothing new). */
    while (out != NOTIFY_TASK_DONE && json_array_size(audit) > audit_mark)
        json_array_remove(audit, json_array_size(audit) - 1);
    if (out == NOTIFY_TASK_DONE)
        log_info("task rendered", LOG_STR("task_id", t->task_id),
                 LOG_STR("incident_id", t->incident_id),
                 LOG_STR("kind", records_task_kind_name(t->kind)),
                 LOG_STR("client_id", t->client_id), LOG_UINT("documents", n_plans), LOG_END);
    for (size_t i = 0; i < n_plans; i++)
        render_doc_free(&docs[i]);
    json_decref(channels);
    json_decref(task);
    json_decref(snap);
    return out;
}
