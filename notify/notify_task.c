/*
 * notify_task: see notify_task.h.
 */
#include "notify/notify_task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/log.h"
#include "lib/base/timefmt.h"
#include "lib/model/json_text.h"
#include "lib/model/task_id.h"
#include "notify/notify_store.h"
#include "notify/render/render.h"
#include "notify/snapshot.h"

size_t notify_task_plan(const records_notify_task *t, notify_doc_plan out[NOTIFY_MAX_DOCS])
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

void notify_task_audit_doc(json_t *audit, const records_notify_task *t, const notify_doc_plan *plan,
                           const char *format, const char *sha256_hex)
{
    notify_audit_add(audit, "document_rendered", t->incident_id, t->client_id,
                     json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "task_id", t->task_id, "kind",
                               records_task_kind_name(t->kind), "channel", plan->channel, "format",
                               format, "sha256", sha256_hex, "case_version",
                               (json_int_t)t->case_version));
}

void notify_task_audit_ticket(json_t *audit, const records_notify_task *t)
{
    char ticket_id[64];
    mni_ticket_id(t->task_id, ticket_id);
    notify_audit_add(audit, "ticket_created", t->incident_id, t->client_id,
                     json_pack("{s:s, s:s, s:s}", "ticket_id", ticket_id, "task_id", t->task_id,
                               "kind", records_task_kind_name(t->kind)));
}

void notify_task_delivery(const records_notify_task *t, const notify_rendered *r, size_t doc,
                          size_t format, notify_delivery *d)
{
    static const char *const formats[] = {"json", "text"};
    *d = (notify_delivery){
        .task_id = t->task_id,
        .incident_id = t->incident_id,
        .client_id = t->client_id,
        .channel = r->plans[doc].channel,
        .recipient = r->plans[doc].recipient,
        .format = formats[format],
        .document = format == 0 ? r->json_texts[doc] : r->docs[doc].markdown,
    };
}

void notify_task_ticket(const records_notify_task *t, const notify_rendered *r, json_t *channels,
                        int webhook, char ref[160], notify_ticket *tk)
{
    snprintf(ref, 160, "deliveries/%s", t->task_id);
    *tk = (notify_ticket){
        .task_id = t->task_id,
        .incident_id = t->incident_id,
        .client_id = t->client_id,
        .kind = records_task_kind_name(t->kind),
        .title = r->title,
        .summary = r->summary,
        .due_date = jstr(r->task, "due_date"),
        .due_at = jstr(r->task, "due_at"),
        .document_ref = ref,
        .channels = channels,
        .case_version = t->case_version,
        .webhook = webhook,
    };
}

void notify_task_log_done(const records_notify_task *t, const notify_rendered *r)
{
    log_info("task rendered", LOG_STR("task_id", t->task_id),
             LOG_STR("incident_id", t->incident_id),
             LOG_STR("kind", records_task_kind_name(t->kind)), LOG_STR("client_id", t->client_id),
             LOG_UINT("documents", r->n_docs), LOG_END);
}

/* The per-task path's writes, one statement per row: each document in its two formats (a
 * row found already stored means another member handled the task meanwhile: duplicate),
 * then the ticket unless its text was refused. Audit rows only for what this task wrote. */
static notify_task_outcome notify_task_store(PGconn *pg, const schema_set *schemas,
                                             const records_notify_task *t, const notify_rendered *r,
                                             int webhook, json_t *audit, char *err, size_t errlen)
{
    size_t audit_mark = json_array_size(audit);
    notify_task_outcome out = NOTIFY_TASK_DONE;
    json_t *channels = json_array();
    for (size_t i = 0; i < r->n_docs && out == NOTIFY_TASK_DONE; i++) {
        for (size_t f = 0; f < 2 && out == NOTIFY_TASK_DONE; f++) {
            notify_delivery d;
            char sha[65];
            int fresh = 0;
            notify_task_delivery(t, r, i, f, &d);
            if (notify_store_delivery(pg, &d, sha, &fresh, err, errlen) != 0)
                out = NOTIFY_TASK_FAILED;
            else if (!fresh)
                out = NOTIFY_TASK_DUPLICATE; /* another member stored it meanwhile */
            else
                notify_task_audit_doc(audit, t, &r->plans[i], d.format, sha);
        }
        if (out == NOTIFY_TASK_DONE)
            json_array_append_new(channels, json_string(r->plans[i].channel));
    }
    if (out == NOTIFY_TASK_DONE && !r->ticket_refused) {
        char ref[160];
        notify_ticket tk;
        notify_task_ticket(t, r, channels, webhook, ref, &tk);
        if (notify_store_ticket(pg, schemas, &tk, err, errlen) != 0)
            out = NOTIFY_TASK_FAILED;
        else
            notify_task_audit_ticket(audit, t);
    }
    /* Audit only what this task wrote (a duplicate found half-way wrote nothing new). */
    if (out != NOTIFY_TASK_DONE || r->ticket_refused)
        while (json_array_size(audit) > audit_mark)
            json_array_remove(audit, json_array_size(audit) - 1);
    if (out == NOTIFY_TASK_DONE && !r->ticket_refused) notify_task_log_done(t, r);
    json_decref(channels);
    return out;
}

void notify_rendered_free(notify_rendered *r)
{
    for (size_t i = 0; i < r->n_docs; i++) {
        free(r->json_texts[i]);
        render_doc_free(&r->docs[i]);
    }
    free(r->title);
    free(r->summary);
    json_decref(r->task);
    memset(r, 0, sizeof *r);
}

notify_task_outcome notify_task_render(const records_notify_task *t, const json_t *payload,
                                       const json_t *snap, notify_rendered *r, char *why,
                                       size_t whylen, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->n_docs = notify_task_plan(t, r->plans);
    if (r->n_docs == 0) {
        snprintf(why, whylen, "kind: no documents for task kind %d", (int)t->kind);
        return NOTIFY_TASK_MALFORMED;
    }
    r->task = task_json(t, payload);
    if (!r->task) {
        r->n_docs = 0;
        snprintf(err, errlen, "task %s: cannot build the task JSON", t->task_id);
        return NOTIFY_TASK_FAILED;
    }
    size_t n = r->n_docs;
    r->n_docs = 0;
    for (size_t i = 0; i < n; i++) {
        r->n_docs = i + 1;
        if (render_document(r->plans[i].kind, snap, r->task, &r->docs[i], why, whylen) != 0)
            return NOTIFY_TASK_MALFORMED;
        r->json_texts[i] = json_text_indent2(r->docs[i].json); /* jansson's bytes, faster */
        if (!r->json_texts[i]) {
            snprintf(err, errlen, "task %s: cannot serialise the %s document", t->task_id,
                     render_kind_name(r->plans[i].kind));
            return NOTIFY_TASK_FAILED;
        }
    }
    /* A task whose ticket text cannot be made still has its documents stored (as the
     * per-task path always did): ticket_refused says so, with the reason in why. */
    if (render_ticket_text(r->plans[0].kind, r->docs[0].json, r->task, &r->title, &r->summary, why,
                           whylen) != 0)
        r->ticket_refused = 1;
    return NOTIFY_TASK_DONE;
}

notify_task_outcome notify_task_handle(PGconn *pg, const schema_set *schemas,
                                       const records_notify_task *t, const json_t *payload,
                                       int webhook, json_t *audit, char *why, size_t whylen,
                                       char *err, size_t errlen)
{
    int seen = 0, missing = 0;
    if (notify_store_task_seen(pg, t->task_id, &seen, err, errlen) != 0) return NOTIFY_TASK_FAILED;
    if (seen) return NOTIFY_TASK_DUPLICATE;
    notify_doc_plan plans[NOTIFY_MAX_DOCS];
    if (notify_task_plan(t, plans) == 0) {
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
    notify_rendered r;
    notify_task_outcome out = notify_task_render(t, payload, snap, &r, why, whylen, err, errlen);
    json_decref(snap);
    if (out == NOTIFY_TASK_DONE)
        out = notify_task_store(pg, schemas, t, &r, webhook, audit, err, errlen);
    if (out == NOTIFY_TASK_DONE && r.ticket_refused) out = NOTIFY_TASK_MALFORMED;
    notify_rendered_free(&r);
    return out;
}
