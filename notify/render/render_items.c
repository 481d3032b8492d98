/*
 * render_items: the nine report items of RULES.md §4 (PPC reporting rule Art. 3(1)), each as a
 * block of entries, for one audience. The same facts feed the PPC draft, the client notice
 * (Art. 4: "the report items known at that time"), the persons' notice (Art. 5: items 1, 2, 4,
 * 5, 9) and the publication, so the audience decides only what an item may reveal:
 *
 *   PPC      everything, every client with its own headcount
 *   CLIENT   this client's own headcount, rules and filings; no other client's id or count
 *   PERSONS  no headcount, no client, no rule ids, no internal timeline
 *   PUBLIC   as PERSONS, plus the de-duplicated total and the preventive measures
 *
 * Facts the case does not hold (when it happened, who found it, which data items, the cause
 * in words, actual secondary harm) are 「調査中」; the item never guesses them.
 */
#include <stdio.h>
#include <string.h>

#include "notify/render/render_int.h"

static int internal(render__audience to)
{
    return to == RENDER__TO_PPC || to == RENDER__TO_CLIENT;
}

static const json_t *verdict_of(const json_t *snapshot)
{
    const json_t *v = json_object_get(snapshot, "verdict");
    return json_is_object(v) ? v : NULL;
}

static const json_t *facts_of(const json_t *snapshot)
{
    return json_object_get(snapshot, "facts");
}

static json_t *done_or(const char *at, const char *pending)
{
    if (!at) return json_string(pending);
    char when[64], text[160];
    snprintf(text, sizeof text, "実施済み（%s）", render__time_ja(at, when));
    return json_string(text);
}

/* ---- 1 概要 ---- */

static json_t *kinds_value(const json_t *facts)
{
    const json_t *arr = json_object_get(facts, "kinds");
    if (json_array_size(arr) == 0) return json_string(RENDER_UNKNOWN);
    const char *certainty = render__str(facts, "certainty");
    json_t *out = json_array();
    size_t i;
    const json_t *k;
    json_array_foreach (arr, i, k) {
        char text[256];
        snprintf(text, sizeof text, "%s（%s）", render__kind_ja(json_string_value(k)),
                 render__certainty_ja(certainty));
        json_array_append_new(out, json_string(text));
    }
    return out;
}

static json_t *reportable_rules(const json_t *snapshot, const char *client_id)
{
    const json_t *v = verdict_of(snapshot);
    if (!v) return json_string(RENDER_UNKNOWN);
    json_t *rules;
    if (client_id) {
        const json_t *c = render__verdict_client(snapshot, client_id);
        if (!c) return json_string(RENDER_UNKNOWN);
        rules = render__concat(render__rules(c, "rules"), render__rules(c, "appi_rules"));
    } else {
        rules = render__concat(render__rules(json_object_get(v, "my_number"), "rules"),
                               render__rules(json_object_get(v, "appi"), "rules"));
    }
    json_t *lines = render__rule_lines(rules);
    json_decref(rules);
    return lines;
}

static int involved_clients(const json_t *snapshot)
{
    const json_t *v = verdict_of(snapshot);
    int n = 0;
    size_t i;
    const json_t *c;
    json_array_foreach (json_object_get(v, "clients"), i, c)
        n += json_is_true(json_object_get(c, "involved"));
    if (!v) n = (int)json_array_size(json_object_get(snapshot, "clients"));
    return n;
}

static json_t *relationship(const json_t *snapshot, render__audience to)
{
    const char *role = render__str(json_object_get(facts_of(snapshot), "reporter"), "role");
    if (!role) return json_string(RENDER_UNKNOWN);
    char text[512];
    if (!strcmp(role, "own")) return json_string("当社が自ら取り扱う特定個人情報に係る事態");
    if (to == RENDER__TO_CLIENT)
        return json_string("当社は貴社から特定個人情報の取扱いの委託を受けた委託先です。");
    snprintf(text, sizeof text,
             "当社は委託先として、委託元%d社から特定個人情報の取扱いの委託を受けていました。",
             involved_clients(snapshot));
    return json_string(text);
}

/* Known time, completed steps and filings, in that order; for a client only its own filings
 * and the incident-wide ones. */
static json_t *timeline(const json_t *snapshot, render__audience to, const char *client_id)
{
    json_t *lines = json_array();
    char when[64], text[512];
    const char *known = render__str(snapshot, "known_at");
    if (known) {
        snprintf(text, sizeof text, "%s 事態を知った", render__time_ja(known, when));
        json_array_append_new(lines, json_string(text));
    }
    size_t i;
    const json_t *s;
    json_array_foreach (json_object_get(snapshot, "steps"), i, s) {
        snprintf(text, sizeof text, "%s %s（完了）",
                 render__time_ja(render__str(s, "completed_at"), when),
                 render__step_ja(render__str(s, "step")));
        json_array_append_new(lines, json_string(text));
    }
    json_array_foreach (json_object_get(snapshot, "filings"), i, s) {
        const char *c = render__str(s, "client_id");
        if (to == RENDER__TO_CLIENT && c && (!client_id || strcmp(c, client_id) != 0)) continue;
        if (c && to == RENDER__TO_PPC)
            snprintf(text, sizeof text, "%s %s（委託元 %s）",
                     render__time_ja(render__str(s, "filed_at"), when),
                     render__report_ja(render__str(s, "report")), c);
        else
            snprintf(text, sizeof text, "%s %s", render__time_ja(render__str(s, "filed_at"), when),
                     render__report_ja(render__str(s, "report")));
        json_array_append_new(lines, json_string(text));
    }
    if (json_array_size(lines) == 0) json_array_append_new(lines, json_string(RENDER_UNKNOWN));
    return lines;
}

static json_t *item_summary(const json_t *snapshot, render__audience to, const char *client_id)
{
    json_t *e = json_array();
    char when[64];
    render__add(e, "事案の名称", render__free_text(render__str(snapshot, "title")));
    render__add(e, "事案の内容", render__free_text(render__str(snapshot, "description")));
    render__add(e, "発生日時", json_string(RENDER_UNKNOWN));
    render__add(e, "発覚日時（事態を知った日時）",
                json_string(render__time_ja(render__str(snapshot, "known_at"), when)));
    if (internal(to)) render__add(e, "発見者・発覚の経緯", json_string(RENDER_UNKNOWN));
    render__add(e, "事態の種類", kinds_value(facts_of(snapshot)));
    if (internal(to)) {
        render__add(e, "報告対象となる事態", reportable_rules(snapshot, client_id));
        render__add(e, "委託元・委託先の関係", relationship(snapshot, to));
        render__add(e, "経緯", timeline(snapshot, to, client_id));
    }
    return e;
}

/* ---- 2 特定個人情報の項目 ---- */

static json_t *flag_value(const json_t *obj, const char *key, const char *yes, const char *no)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_boolean(v)) return json_string(RENDER_UNKNOWN);
    return json_string(json_is_true(v) ? yes : no);
}

static json_t *item_data(const json_t *snapshot, render__audience to)
{
    const json_t *facts = facts_of(snapshot), *appi = json_object_get(facts, "appi");
    json_t *e = json_array();
    render__add(e, "情報の種類", json_string("特定個人情報（個人番号を含む個人情報）"));
    render__add(e, "漏えい等した項目", json_string(RENDER_UNKNOWN));
    const json_t *sys = json_object_get(facts, "systems");
    if (json_array_size(sys) > 0) {
        json_t *names = json_array();
        size_t i;
        const json_t *s;
        json_array_foreach (sys, i, s)
            json_array_append_new(names, json_string(render__system_ja(json_string_value(s))));
        render__add(e, "取り扱っていたシステム", names);
    } else {
        render__add(e, "媒体・システム", json_string(RENDER_UNKNOWN));
    }
    render__add(e, "要配慮個人情報",
                flag_value(appi, "sensitive", "含む", "含まない（現時点の判断）"));
    render__add(e, "財産的被害が生じるおそれのある情報（カード番号等）",
                flag_value(appi, "financial_risk", "含む", "含まない（現時点の判断）"));
    if (internal(to)) render__add(e, "顧客・従業員等の別", json_string(RENDER_UNKNOWN));
    return e;
}

/* ---- 3 本人の数 ---- */

/* True when some client's count is a possible maximum rather than a known number. */
static int has_possible_max(const json_t *snapshot, const char *client_id)
{
    size_t i;
    const json_t *c;
    json_array_foreach (json_object_get(snapshot, "clients"), i, c) {
        const char *id = render__str(c, "client_id");
        if (client_id && (!id || strcmp(id, client_id) != 0)) continue;
        const json_t *max = json_object_get(c, "persons_max");
        if (json_is_integer(max) &&
            json_integer_value(max) > json_integer_value(json_object_get(c, "persons")))
            return 1;
    }
    return 0;
}

static json_t *client_table(const json_t *verdict)
{
    json_t *rows = json_array();
    size_t i;
    const json_t *c;
    json_array_foreach (json_object_get(verdict, "clients"), i, c) {
        const json_t *n = json_object_get(c, "headcount");
        if (!json_is_true(json_object_get(c, "involved")) && json_integer_value(n) <= 0) continue;
        json_array_append_new(rows,
                              json_pack("[s, o]", render__str(c, "client_id"), render__persons(n)));
    }
    return json_pack("{s:[s, s], s:o}", "columns", "委託元", "本人の数（委託元ごと）", "rows",
                     rows);
}

static json_t *item_headcount(const json_t *snapshot, render__audience to, const char *client_id)
{
    const json_t *v = verdict_of(snapshot);
    json_t *e = json_array();
    if (to == RENDER__TO_CLIENT) {
        const json_t *c = render__verdict_client(snapshot, client_id);
        const json_t *x = render__exposure(snapshot, client_id);
        const json_t *n = c ? json_object_get(c, "headcount") : NULL;
        json_t *own = NULL;
        if (!n && x) {
            const json_t *max = json_object_get(x, "persons_max");
            n = json_is_integer(max) ? max : json_object_get(x, "persons");
        }
        own = render__persons(n);
        render__add(e, "貴社分の本人の数", own);
        /* The possible maximum counts; the persons known so far go next to it. */
        const json_t *known = c ? json_object_get(c, "headcount_known") : NULL;
        if (json_is_integer(known) && json_is_integer(n) &&
            json_integer_value(known) != json_integer_value(n))
            render__add(e, "うち確認済みの本人の数", render__persons(known));
        if (has_possible_max(snapshot, client_id))
            render__add(e, "注記",
                        json_string("範囲が確定していないため、可能性のある最大数です。"));
        return e;
    }
    const json_t *headcount = json_object_get(v, "headcount");
    const json_t *total = json_object_get(headcount, "total");
    render__add(e, "本人の数（重複を除いた人数）", render__persons(total));
    if (to != RENDER__TO_PPC) return e; /* the public sees the total only, never a client */
    /* The total is the possible maximum (rule Art. 2(4)); the known count goes next to it. */
    const json_t *known = json_object_get(headcount, "known");
    if (json_is_integer(known) && json_is_integer(total) &&
        json_integer_value(known) != json_integer_value(total))
        render__add(e, "うち確認済みの本人の数（重複を除いた人数）", render__persons(known));
    const char *route = render__str(v, "route");
    if (route && !strcmp(route, "direct_report")) {
        json_array_append_new(
            e, json_pack("{s:s, s:o}", "label", "委託元ごとの本人の数", "value", client_table(v)));
        render__add(e, "注記",
                    json_string("同一の本人が複数の委託元に含まれる場合があるため、委託元ごとの"
                                "人数の和は重複を除いた人数と一致しないことがあります。"));
    }
    const json_t *appi = json_object_get(headcount, "appi_persons");
    if (json_is_integer(appi) && total && json_integer_value(appi) != json_integer_value(total))
        render__add(e, "個人情報保護法上の本人の数", render__persons(appi));
    if (has_possible_max(snapshot, NULL))
        render__add(e, "注記（範囲未確定）",
                    json_string("範囲が確定していない委託元があり、可能性のある最大数で計上して"
                                "います。"));
    return e;
}

/* ---- 4 原因 ---- */

static json_t *item_cause(const json_t *snapshot, render__audience to)
{
    const json_t *facts = facts_of(snapshot);
    json_t *e = json_array();
    const char *improper = render__str(facts, "improper_purpose");
    const char *viewing = render__str(facts, "unspecified_viewing");
    render__add(e, "不正の目的の有無", json_string(render__improper_ja(improper)));
    render__add(e, "不特定多数の者による閲覧", json_string(render__viewing_ja(viewing)));
    const char *done = render__step_done(snapshot, "fact_investigation");
    char when[64], text[200];
    if (done) {
        snprintf(text, sizeof text, "要記入（事実関係の調査・原因の究明は%sに完了）",
                 render__time_ja(done, when));
        render__add(e, "原因", json_string(text));
    } else {
        render__add(e, "原因", json_string(RENDER_UNKNOWN));
    }
    if (to == RENDER__TO_PPC) {
        json_t *why = json_array();
        if (json_is_true(json_object_get(facts, "encrypted_protected")))
            json_array_append_new(why, json_string("高度な暗号化等の措置が講じられていた"));
        if (json_is_true(json_object_get(facts, "recovered_unviewed")))
            json_array_append_new(why, json_string("第三者が閲覧する前に回収された"));
        if (json_is_true(json_object_get(facts, "intact_copy")))
            json_array_append_new(why, json_string("同じ内容の完全な複製が存在する"));
        if (json_array_size(why) > 0)
            render__add(e, "報告対象から除かれる事情", why);
        else
            json_decref(why);
    }
    return e;
}

/* ---- 5 二次被害 ---- */

static json_t *item_harm(const json_t *snapshot, render__audience to)
{
    const json_t *facts = facts_of(snapshot);
    json_t *e = json_array(), *risks = json_array();
    const char *improper = render__str(facts, "improper_purpose");
    const char *viewing = render__str(facts, "unspecified_viewing");
    render__add(e, "二次被害の発生", json_string(RENDER_UNKNOWN));
    if (json_is_true(json_object_get(json_object_get(facts, "appi"), "financial_risk")))
        json_array_append_new(risks, json_string("不正に利用され財産的被害が生じるおそれ"));
    if (improper && strcmp(improper, "none") != 0)
        json_array_append_new(risks, json_string("不正の目的で利用されるおそれ"));
    if (viewing && strcmp(viewing, "none") != 0)
        json_array_append_new(risks,
                              json_string("不特定多数の者に閲覧されたことによる拡散のおそれ"));
    if (json_array_size(risks) == 0)
        json_array_append_new(risks, json_string("具体的なおそれは確認されていません（調査中）"));
    render__add(e, "二次被害のおそれ", risks);
    if (!internal(to))
        render__add(e, "ご注意いただきたいこと",
                    json_pack("[s, s]",
                              "当社や行政機関を名乗り、個人番号（マイナンバー）や口座情報を尋ねる"
                              "不審な電話・メール等にはご注意ください。",
                              "身に覚えのない請求や手続の通知を受け取った場合は、下記の窓口まで"
                              "ご連絡ください。"));
    return e;
}

/* ---- 6 本人への対応 ---- */

static json_t *notice_need(const json_t *snapshot, render__audience to, const char *client_id)
{
    const json_t *v = verdict_of(snapshot);
    if (!v) return json_string(RENDER_UNKNOWN);
    if (to == RENDER__TO_CLIENT) {
        const char *status = render__str(render__verdict_client(snapshot, client_id), "status");
        if (status && !strcmp(status, "mandatory"))
            return json_string("要（貴社から本人へ通知。困難な場合は公表等の代替措置）");
    }
    if (!json_is_true(json_object_get(v, "principal_notice")))
        return json_string("不要（現時点の判定）");
    const char *by = render__str(v, "principal_notice_by");
    if (by && !strcmp(by, "clients")) return json_string("要（各委託元から本人へ通知）");
    return json_string("要（当社から本人へ通知。困難な場合は公表等の代替措置）");
}

static json_t *item_persons(const json_t *snapshot, render__audience to, const char *client_id)
{
    json_t *e = json_array();
    render__add(e, "本人への通知の要否", notice_need(snapshot, to, client_id));
    const char *step = render__step_done(snapshot, "contact_persons");
    const json_t *filed = render__filing(snapshot, "principal_notice", NULL);
    render__add(e, "実施状況", done_or(step ? step : render__str(filed, "filed_at"), "未実施"));
    render__add(e, "本人からの問合せ窓口", json_string(RENDER_UNKNOWN));
    return e;
}

/* ---- 7 公表 ---- */

static json_t *item_publication(const json_t *snapshot)
{
    json_t *e = json_array();
    const char *step = render__step_done(snapshot, "publication");
    const json_t *filed = render__filing(snapshot, "publication", NULL);
    render__add(e, "公表の実施状況",
                done_or(step ? step : render__str(filed, "filed_at"), "未定（調査中）"));
    return e;
}

/* ---- 8 再発防止策 ---- */

static json_t *item_prevention(const json_t *snapshot, render__audience to)
{
    json_t *e = json_array();
    const char *done = render__step_done(snapshot, "preventive_measures");
    char when[64], text[200];
    if (done) {
        snprintf(text, sizeof text, "要記入（再発防止策の検討・実施は%sに完了）",
                 render__time_ja(done, when));
        render__add(e, "実施済みの措置", json_string(text));
    } else {
        render__add(e, "実施済みの措置", json_string(RENDER_UNKNOWN));
    }
    render__add(e, "今後実施予定の措置", json_string(RENDER_UNKNOWN));
    if (internal(to)) /* seed 000's prevention checklist */
        render__add(e, "確認事項",
                    json_pack("[s, s, s, s, s]", "取扱規程等は遵守されていたか",
                              "取扱規程等の内容は適切か", "研修は計画され、実施の記録があるか",
                              "漏えい等は直ちに報告されたか",
                              "責任者が取扱状況を定期的に確認しているか"));
    return e;
}

/* ---- 9 その他 ---- */

static json_t *item_other(const json_t *snapshot, render__audience to, const char *client_id)
{
    const json_t *v = verdict_of(snapshot);
    json_t *e = json_array();
    if (!internal(to)) {
        render__add(e, "お問い合わせ窓口", json_string(RENDER_UNKNOWN));
        render__add(e, "今後の対応",
                    json_string("本書は現時点で判明している事実に基づくものであり、調査の進展に"
                                "応じて内容を追加・変更することがあります。"));
        return e;
    }
    render__add(e, "事案番号", json_string(render__str(snapshot, "incident_id")));
    if (to == RENDER__TO_PPC) {
        const char *regime = render__str(v, "regime");
        render__add(e, "適用した規定",
                    json_string(!v ? RENDER_UNKNOWN
                                : regime && !strcmp(regime, "2015")
                                    ? "平成27年告示・平成28年規則（令和4年3月31日以前に知った"
                                      "事態）"
                                    : "番号法第29条の4・規則第2条（令和4年4月1日以降に知った"
                                      "事態）、個人情報保護法第26条"));
        render__add(
            e, "番号法上の判定",
            json_string(render__status_ja(render__str(json_object_get(v, "my_number"), "status"))));
        render__add(
            e, "個人情報保護法上の判定",
            json_string(render__status_ja(render__str(json_object_get(v, "appi"), "status"))));
        render__add(e, "報告の経路", json_string(render__route_ja(render__str(v, "route"))));
        render__add(e, "個人情報保護法上の報告の経路",
                    json_string(render__route_ja(render__str(v, "appi_route"))));
    } else {
        const json_t *c = render__verdict_client(snapshot, client_id);
        render__add(e, "番号法上の判定（貴社）",
                    json_string(c ? render__status_ja(render__str(c, "status")) : RENDER_UNKNOWN));
        render__add(
            e, "個人情報保護法上の判定（貴社）",
            json_string(c ? render__status_ja(render__str(c, "appi_status")) : RENDER_UNKNOWN));
    }
    const char *role = render__str(json_object_get(facts_of(snapshot), "reporter"), "role");
    if (role && !strcmp(role, "contractor"))
        render__add(e, "連名での報告",
                    json_string("委託元と委託先は連名で報告することができます。"));
    return e;
}

/* ---- dispatch ---- */

static const struct {
    const char *key, *label;
} item_names[10] = {
    {NULL, NULL},
    {"summary", "概要"},
    {"data_items", "特定個人情報の項目"},
    {"headcount", "本人の数"},
    {"cause", "原因"},
    {"secondary_harm", "二次被害又はそのおそれの有無及びその内容"},
    {"response_to_persons", "本人への対応の実施状況"},
    {"publication", "公表の実施状況"},
    {"prevention", "再発防止のための措置"},
    {"other", "その他参考となる事項"},
};

json_t *render__item(int no, const json_t *snapshot, render__audience to, const char *client_id)
{
    json_t *entries;
    switch (no) {
    case 1:
        entries = item_summary(snapshot, to, client_id);
        break;
    case 2:
        entries = item_data(snapshot, to);
        break;
    case 3:
        entries = item_headcount(snapshot, to, client_id);
        break;
    case 4:
        entries = item_cause(snapshot, to);
        break;
    case 5:
        entries = item_harm(snapshot, to);
        break;
    case 6:
        entries = item_persons(snapshot, to, client_id);
        break;
    case 7:
        entries = item_publication(snapshot);
        break;
    case 8:
        entries = item_prevention(snapshot, to);
        break;
    case 9:
        entries = item_other(snapshot, to, client_id);
        break;
    default:
        return NULL;
    }
    char heading[160];
    snprintf(heading, sizeof heading, "%d. %s", no, item_names[no].label);
    return json_pack("{s:s, s:i, s:s, s:s, s:o}", "heading", heading, "item", no, "key",
                     item_names[no].key, "label", item_names[no].label, "entries", entries);
}

json_t *render__steps_block(const json_t *snapshot)
{
    static const char *const order[] = {
        "internal_report_containment", "fact_investigation", "scope_of_impact",
        "preventive_measures",         "contact_persons",    "publication"};
    json_t *e = json_array();
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        char label[200];
        snprintf(label, sizeof label, "%zu %s", i + 1, render__step_ja(order[i]));
        render__add(e, label, done_or(render__step_done(snapshot, order[i]), "未了"));
    }
    return render__block("対応の状況（事業者が講ずべき措置）", e);
}
