/*
 * render_notice: the notices that leave the BPO for people outside it.
 *
 *   client notice   the contractor's notice to one client (委託元への通知, PPC rule Art. 4):
 *                   that client's own headcount, its own verdict and rule ids, when the notice
 *                   is due, what the client must do (its own report and notice when they are
 *                   mandatory, with their day counts), then the report items known now. It
 *                   names no other client and gives no other client's count: clients are
 *                   separate businesses.
 *   persons notice  the notice to the persons (本人への通知, Art. 5): items 1, 2, 4, 5 and 9
 *                   only, with the advice a person can act on. No headcount, no client, no
 *                   rule ids.
 *   publication     the public announcement (公表文) used when the persons cannot be
 *                   notified (no contact details): the persons' items plus the
 *                   de-duplicated total (item 3, total only) and preventive measures (item 8).
 */
#include <stdio.h>
#include <string.h>

#include "notify/render/render_int.h"

static int has_rule(const json_t *arr, const char *id)
{
    size_t i;
    const json_t *r;
    json_array_foreach (arr, i, r)
        if (json_string_value(r) && !strcmp(json_string_value(r), id)) return 1;
    return 0;
}

static int is_mandatory(const char *status)
{
    return status && !strcmp(status, "mandatory");
}

/* What the client must do, one line each. */
static json_t *client_actions(const json_t *snapshot, const json_t *client)
{
    json_t *lines = json_array();
    const json_t *v = json_object_get(snapshot, "verdict");
    if (!json_is_object(v) || !client) {
        json_array_append_new(lines, json_string("貴社に関する判定は調査中です。判明し次第、改め"
                                                 "てお知らせします。"));
    } else {
        const char *mn = render__str(client, "status"), *appi = render__str(client, "appi_status");
        if (is_mandatory(mn) || is_mandatory(appi)) {
            /* 60 days when an improper purpose is possible (My Number MN-2-2, APPI-7-3, for a
             * public body APPI-43-3). */
            int days = has_rule(json_object_get(client, "rules"), "MN-2-2") ||
                               has_rule(json_object_get(client, "appi_rules"), "APPI-7-3") ||
                               has_rule(json_object_get(client, "appi_rules"), "APPI-43-3")
                           ? 60
                           : 30;
            char text[1024];
            snprintf(text, sizeof text,
                     "貴社自身に個人情報保護委員会への報告義務があります。貴社が事態を知った日（遅"
                     "くとも本通知を受領した日）を1日目として、速報は3日から5日以内を目安に、確報"
                     "は%d日以内に提出してください。",
                     days);
            json_array_append_new(lines, json_string(text));
            json_array_append_new(lines, json_string("本人への通知（困難な場合は公表等の代替措置）"
                                                     "が必要です。"));
            json_array_append_new(lines, json_string("当社と連名で報告することもできます。ご希望の"
                                                     "場合はお知らせください。"));
        } else if ((mn && !strcmp(mn, "voluntary")) || (appi && !strcmp(appi, "voluntary"))) {
            json_array_append_new(lines, json_string("貴社に報告義務はありませんが、努力義務として"
                                                     "個人情報保護委員会への報告が望まれます。"));
        } else {
            json_array_append_new(lines,
                                  json_string("現時点の判定では、貴社による報告は不要です。"));
        }
        const char *route = render__str(v, "route");
        if (route && !strcmp(route, "direct_report"))
            json_array_append_new(lines,
                                  json_string("当社は、受託している複数の委託元に係る本人の数の合"
                                              "計により、委託先として個人情報保護委員会へ直接報告"
                                              "します。報告には貴社分の本人の数を記載します。"));
    }
    json_array_append_new(lines, json_string("本通知を受領した日時を当社にお知らせください（貴社の"
                                             "期限の起算日となります）。"));
    json_array_append_new(lines, json_string("本通知の判定は現時点で判明している事実に基づくもので"
                                             "あり、事実の判明に応じて改めてお知らせします。"));
    return lines;
}

json_t *render__client_notice(const json_t *snapshot, const json_t *task, char *err, size_t errlen)
{
    const char *client_id = render__str(task, "client_id");
    if (!client_id || !*client_id) {
        snprintf(err, errlen, "task.client_id: required for a client notice");
        return NULL;
    }
    const json_t *c = render__verdict_client(snapshot, client_id);
    json_t *doc = render__doc_new(
        "client_notice", "委託元への通知（特定個人情報の漏えい等に関するご報告）", snapshot, task);
    if (!doc) return NULL;
    char when[64], to[256];

    /* The machine-readable part: this client only. */
    const json_t *headcount = json_object_get(c, "headcount");
    json_t *rules = render__rules(c, "rules"), *appi_rules = render__rules(c, "appi_rules");
    const char *status = render__str(c, "status"), *appi_status = render__str(c, "appi_status");
    const char *due = render__str(task, "due_at");
    if (!due) due = render__str(c, "notice_due");
    json_object_set_new(doc, "client_id", json_string(client_id));
    json_object_set_new(doc, "headcount",
                        json_is_integer(headcount) ? json_integer(json_integer_value(headcount))
                                                   : json_null());
    json_object_set_new(
        doc, "verdict",
        json_pack("{s:o, s:O, s:o, s:O}", "status", status ? json_string(status) : json_null(),
                  "rules", rules, "appi_status",
                  appi_status ? json_string(appi_status) : json_null(), "appi_rules", appi_rules));
    json_object_set_new(doc, "notice_due", due ? json_string(due) : json_null());

    json_t *header = json_object_get(doc, "header");
    snprintf(to, sizeof to, "委託元 %s 御中", client_id);
    render__add(header, "宛先", json_string(to));
    render__add(header, "差出人（委託先）", render__free_text(render__str(snapshot, "tenant")));
    render__add(header, "事案番号", json_string(render__str(snapshot, "incident_id")));
    render__add(header, "本通知の期限", json_string(render__time_ja(due, when)));

    json_t *judgement = json_array();
    render__add(judgement, "貴社分の本人の数", render__persons(headcount));
    render__add(judgement, "番号法上の判定",
                json_string(c ? render__status_ja(status) : RENDER_UNKNOWN));
    render__add(judgement, "該当する事態（番号法）",
                c ? render__rule_lines(rules) : json_string(RENDER_UNKNOWN));
    render__add(judgement, "個人情報保護法上の判定",
                json_string(c ? render__status_ja(appi_status) : RENDER_UNKNOWN));
    render__add(judgement, "該当する事態（個人情報保護法）",
                c ? render__rule_lines(appi_rules) : json_string(RENDER_UNKNOWN));
    json_decref(rules);
    json_decref(appi_rules);

    json_t *actions = json_array();
    render__add(actions, "お願い", client_actions(snapshot, c));

    json_t *blocks = json_object_get(doc, "blocks");
    json_array_append_new(blocks, render__block("貴社に関する判定", judgement));
    json_array_append_new(blocks, render__block("貴社にお願いする対応", actions));
    for (int no = 1; no <= 9; no++)
        json_array_append_new(blocks, render__item(no, snapshot, RENDER__TO_CLIENT, client_id));
    json_array_append_new(blocks, render__steps_block(snapshot));
    return doc;
}

/* A notice of report items to many readers (the persons, the public): the items in order, and
 * a header of who gives it (the tenant), the inquiry number and why it is given. */
typedef struct {
    const char *document, *title;
    const int *items;
    size_t n;
    render__audience to;
    const char *sender_label, *why_label, *why;
} items_notice;

static json_t *items_doc(const items_notice *d, const json_t *snapshot, const json_t *task)
{
    json_t *doc = render__doc_new(d->document, d->title, snapshot, task);
    if (!doc) return NULL;
    json_t *blocks = json_object_get(doc, "blocks"), *list = json_array();
    for (size_t i = 0; i < d->n; i++) {
        json_array_append_new(blocks, render__item(d->items[i], snapshot, d->to, NULL));
        json_array_append_new(list, json_integer(d->items[i]));
    }
    json_object_set_new(doc, "items", list);
    json_t *header = json_object_get(doc, "header");
    render__add(header, d->sender_label, render__free_text(render__str(snapshot, "tenant")));
    render__add(header, "お問い合わせ番号", json_string(render__str(snapshot, "incident_id")));
    render__add(header, d->why_label, json_string(d->why));
    return doc;
}

static const int persons_items[] = {1, 2, 4, 5, 9};
static const int public_items[] = {1, 2, 3, 4, 5, 8, 9};

json_t *render__persons_notice(const json_t *snapshot, const json_t *task, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    static const items_notice d = {
        "persons_notice",
        "特定個人情報の漏えい等に関するお知らせ",
        persons_items,
        sizeof persons_items / sizeof persons_items[0],
        RENDER__TO_PERSONS,
        "差出人",
        "ご報告",
        "当社が取り扱う特定個人情報（マイナンバーを含む個人情報）について、下記の事態が発生し、"
        "又は発生したおそれがあることが判明しました。ご心配とご迷惑をおかけしますことを、深くお"
        "詫び申し上げます。",
    };
    return items_doc(&d, snapshot, task);
}

json_t *render__publication(const json_t *snapshot, const json_t *task, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    static const items_notice d = {
        "publication",
        "特定個人情報の漏えい等に関するお知らせ（公表）",
        public_items,
        sizeof public_items / sizeof public_items[0],
        RENDER__TO_PUBLIC,
        "公表者",
        "公表の理由",
        "連絡先が不明である等により、影響を受けた本人の全員に個別にお知らせすることが困難なため、"
        "公表によりお知らせします。",
    };
    return items_doc(&d, snapshot, task);
}
