/*
 * render_ppc: the draft of the report to the PPC (RULES.md §4; PPC reporting rule Art. 3),
 * preliminary (速報: what is known now) or final (確報: all nine items). Filing is by the PPC's
 * web form; the draft's blocks follow its nine items so a person can copy them across.
 *
 * Beside the blocks the JSON carries what a system needs without reading Japanese: stage,
 * route, the rule ids that fired with their meaning, the deadlines, the headcount (for a
 * direct report every affected client with its own count, and the de-duplicated total), and
 * open_items: how many entries are still 「調査中」 (a final report with open items needs a
 * person's attention before it is filed).
 */
#include <stdio.h>
#include <string.h>

#include "notify/render/render_int.h"

static json_t *rules_json(const json_t *v)
{
    json_t *out = json_array();
    static const char *const acts[] = {"my_number", "appi"};
    for (size_t a = 0; a < 2; a++) {
        json_t *r = render__rules(json_object_get(v, acts[a]), "rules");
        size_t i;
        json_t *one;
        json_array_foreach (r, i, one)
            json_object_set_new(one, "act", json_string(acts[a]));
        out = render__concat(out, r);
    }
    return out;
}

static json_t *headcount_json(const json_t *v)
{
    const json_t *total = json_object_get(json_object_get(v, "headcount"), "total");
    json_t *clients = json_array();
    const char *route = render__str(v, "route");
    if (route && !strcmp(route, "direct_report")) {
        size_t i;
        const json_t *c;
        json_array_foreach (json_object_get(v, "clients"), i, c) {
            const json_t *n = json_object_get(c, "headcount");
            if (json_is_true(json_object_get(c, "involved")) || json_integer_value(n) > 0)
                json_array_append_new(clients, json_pack("{s:s, s:I}", "client_id",
                                                         render__str(c, "client_id"), "headcount",
                                                         (json_int_t)json_integer_value(n)));
        }
    }
    return json_pack("{s:o, s:o}", "total",
                     json_is_integer(total) ? json_integer(json_integer_value(total)) : json_null(),
                     "clients", clients);
}

static json_t *deadline_value(const json_t *d, const char *key, const char *note)
{
    const char *date = render__str(d, key);
    if (!d) return json_string(RENDER_UNKNOWN);
    if (!date) return json_string("該当なし");
    char words[64], text[256];
    snprintf(text, sizeof text, "%s%s", render__date_ja(date, words), note);
    return json_string(text);
}

static json_t *deadlines_block(const json_t *v)
{
    const json_t *d = json_object_get(v, "deadlines");
    if (!json_is_object(d)) d = NULL;
    json_t *e = json_array();
    char final_note[160], appi_note[160];
    snprintf(final_note, sizeof final_note, "（知った日を1日目として%lld日以内）",
             (long long)json_integer_value(json_object_get(d, "final_days")));
    snprintf(appi_note, sizeof appi_note, "（知った日を1日目として%lld日以内）",
             (long long)json_integer_value(json_object_get(d, "appi_final_days")));
    render__add(e, "速報の提出目安", deadline_value(d, "preliminary_target", "（3日目）"));
    render__add(e, "速報の提出期限（遅くとも）",
                deadline_value(d, "preliminary_latest", "（5日目）"));
    render__add(e, "確報の提出期限", deadline_value(d, "final", final_note));
    render__add(e, "個人情報保護法に基づく確報の提出期限",
                deadline_value(d, "appi_final", appi_note));
    return render__block("提出期限", e);
}

static size_t count_unknown(const json_t *blocks)
{
    size_t n = 0, i, j;
    const json_t *b, *entry;
    json_array_foreach (blocks, i, b)
        json_array_foreach (json_object_get(b, "entries"), j, entry) {
            const char *s = render__str(entry, "value");
            n += s && !strcmp(s, RENDER_UNKNOWN);
        }
    return n;
}

json_t *render__ppc(const json_t *snapshot, const json_t *task, int final, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    const json_t *v = json_object_get(snapshot, "verdict");
    if (!json_is_object(v)) v = NULL;
    const char *stage = render__stage_ja(snapshot, final);
    char title[256];
    snprintf(title, sizeof title, "個人情報保護委員会への報告（%s）案", stage);
    json_t *doc = render__doc_new("ppc_report", title, snapshot, task);
    if (!doc) return NULL;
    json_object_set_new(doc, "stage", json_string(final ? "final" : "preliminary"));
    json_object_set_new(doc, "stage_ja", json_string(stage));
    const char *route = render__str(v, "route");
    json_object_set_new(doc, "route", route ? json_string(route) : json_null());
    json_object_set_new(doc, "rules", rules_json(v));
    json_object_set_new(doc, "headcount", headcount_json(v));
    json_t *deadlines = json_deep_copy(json_object_get(v, "deadlines"));
    json_object_set_new(doc, "deadlines", deadlines ? deadlines : json_null());

    json_t *header = json_object_get(doc, "header");
    char when[64];
    render__add(header, "報告の種別", json_string(stage));
    render__add(header, "報告者", render__free_text(render__str(snapshot, "tenant")));
    render__add(header, "事案番号", json_string(render__str(snapshot, "incident_id")));
    render__add(header, "報告の経路", json_string(v ? render__route_ja(route) : RENDER_UNKNOWN));
    const char *due_date = render__str(task, "due_date"), *due_at = render__str(task, "due_at");
    render__add(header, "この報告の期限",
                json_string(due_at     ? render__time_ja(due_at, when)
                            : due_date ? render__date_ja(due_date, when)
                                       : RENDER_UNKNOWN));
    render__add(header, "記載の方針",
                json_string(final ? "全9項目を記載してください。「調査中」の項目は提出前に確認"
                                    "し、判明した内容に改めてください。"
                                  : "現時点で判明している事項を記載し、判明していない事項は「調"
                                    "査中」としています。"));

    json_t *blocks = json_object_get(doc, "blocks");
    for (int no = 1; no <= 9; no++)
        json_array_append_new(blocks, render__item(no, snapshot, RENDER__TO_PPC, NULL));
    json_object_set_new(doc, "open_items", json_integer((json_int_t)count_unknown(blocks)));
    json_array_append_new(blocks, deadlines_block(v));
    json_array_append_new(blocks, render__steps_block(snapshot));
    return doc;
}
