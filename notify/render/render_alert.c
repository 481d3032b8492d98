/*
 * render_alert: the reminder (a deadline is near) and the escalation (it has passed), both
 * rendered from a sweeper task: deadline_kind, client_id, due_date or due_at, and as_of, the
 * sweeper's clock when it queued the task. Hours are counted from as_of, not from the time
 * of rendering, so the same task always renders the same document.
 *
 *   end            when the deadline is over (rules/due_day.h): for a due date, 00:00 JST of
 *                  the next day, as the law counts whole days; for a due instant, the end of
 *                  its second. Overdue when as_of >= end.
 *   hours_left     floor((end - as_of) / 1 h), 0 or more; a reminder queued late (the
 *                  deadline already passed) says so
 *   hours_overdue  ceil((as_of - end) / 1 h), at least 1 for an escalation
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lib/base/timefmt.h"
#include "notify/render/render_int.h"

#define HOUR_MS 3600000LL

json_t *render__alert(const json_t *snapshot, const json_t *task, int escalation, char *err,
                      size_t errlen)
{
    const char *kind = render__str(task, "deadline_kind");
    const char *due_date = render__str(task, "due_date"), *due_at = render__str(task, "due_at");
    const char *as_of = render__str(task, "as_of"), *client_id = render__str(task, "client_id");
    long long end_ms;
    int64_t as_of_ms = 0;
    char ignored[64];
    if (!kind) {
        snprintf(err, errlen, "task.deadline_kind: missing");
        return NULL;
    }
    if (render_due_end_ms(due_date, due_at, &end_ms) != 0) {
        snprintf(err, errlen, "task.due_date: missing or not a date (and no due_at)");
        return NULL;
    }
    int have_as_of = as_of && timefmt_parse_rfc3339(as_of, &as_of_ms, ignored, sizeof ignored) == 0;
    if (as_of && !have_as_of) {
        snprintf(err, errlen, "task.as_of: not an RFC 3339 time");
        return NULL;
    }

    const char *label = render__report_ja(kind);
    char title[1024], what[512], when[64], text[1024];
    if (client_id)
        snprintf(what, sizeof what, "%s（委託元 %s）", label, client_id);
    else
        snprintf(what, sizeof what, "%s", label);
    snprintf(title, sizeof title, "%s: %s",
             escalation ? "期限超過（エスカレーション）" : "期限のお知らせ", what);
    json_t *doc = render__doc_new(escalation ? "escalation" : "reminder", title, snapshot, task);
    if (!doc) return NULL;

    long long diff = have_as_of ? end_ms - as_of_ms : 0;
    bool over = have_as_of && diff <= 0;
    long long left = diff > 0 ? diff / HOUR_MS : 0;
    long long overdue = 0;
    if (over) {
        overdue = (-diff + HOUR_MS - 1) / HOUR_MS;
        if (overdue < 1) overdue = 1; /* overdue from the very instant of the end */
    }
    json_object_set_new(doc, "deadline_kind", json_string(kind));
    json_object_set_new(doc, "deadline_label", json_string(label));
    json_object_set_new(doc, "client_id", client_id ? json_string(client_id) : json_null());
    json_object_set_new(doc, "due_date", due_date ? json_string(due_date) : json_null());
    json_object_set_new(doc, "due_at", due_at ? json_string(due_at) : json_null());
    json_object_set_new(doc, "as_of", have_as_of ? json_string(as_of) : json_null());
    json_object_set_new(doc, "overdue", json_boolean(over));
    json_object_set_new(doc, escalation ? "hours_overdue" : "hours_left",
                        have_as_of ? json_integer(escalation ? overdue : left) : json_null());

    json_t *header = json_object_get(doc, "header");
    render__add(header, "事案番号", json_string(render__str(snapshot, "incident_id")));
    render__add(header, "事案の名称", render__free_text(render__str(snapshot, "title")));
    render__add(header, "対象の義務", json_string(what));
    if (due_at)
        render__add(header, "期限", json_string(render__time_ja(due_at, when)));
    else {
        snprintf(text, sizeof text, "%s 23:59まで", render__date_ja(due_date, when));
        render__add(header, "期限", json_string(text));
    }
    if (!have_as_of)
        render__add(header, escalation ? "超過時間" : "残り時間", json_string(RENDER_UNKNOWN));
    else if (over) {
        snprintf(text, sizeof text, "期限を%lld時間超過しています", overdue);
        render__add(header, escalation ? "超過時間" : "残り時間", json_string(text));
    } else {
        snprintf(text, sizeof text, "残り%lld時間", left);
        render__add(header, "残り時間", json_string(text));
    }
    render__add(header, "基準時刻", json_string(render__time_ja(as_of, when)));

    json_t *todo = json_array();
    if (escalation) {
        snprintf(text, sizeof text,
                 "期限を過ぎています。責任者に報告し、直ちに%sを行ってください。", what);
        json_array_append_new(todo, json_string(text));
        json_array_append_new(todo, json_string("遅延の理由と今後の見込みを記録してください。"));
    } else {
        snprintf(text, sizeof text, "期限までに%sを完了してください。", what);
        json_array_append_new(todo, json_string(text));
    }
    if (!strcmp(kind, "ppc_preliminary")) {
        const char *latest =
            render__str(json_object_get(json_object_get(snapshot, "verdict"), "deadlines"),
                        "preliminary_latest");
        if (latest) {
            snprintf(text, sizeof text, "速報は遅くとも%sまでに提出してください。",
                     render__date_ja(latest, when));
            json_array_append_new(todo, json_string(text));
        }
    }
    json_array_append_new(todo, json_string("完了したときは report_filed イベントで記録してくださ"
                                            "い（この期限の管理が終わります）。"));
    json_t *entries = json_array();
    render__add(entries, "必要な対応", todo);
    json_array_append_new(json_object_get(doc, "blocks"), render__block("必要な対応", entries));
    return doc;
}
