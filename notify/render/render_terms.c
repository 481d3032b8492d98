/*
 * render_terms: the Japanese vocabulary of the documents, Japan-time wording of dates and
 * instants, snapshot accessors and the builders of the document shape (render.h). The rule
 * meanings paraphrase RULES.md §1 and §6 and cite the article each id implements.
 */
#include <stdio.h>
#include <string.h>

#include "lib/base/timefmt.h"
#include "lib/model/verdict_json.h"
#include "notify/render/render_int.h"
#include "rules/jpcal.h"
#include "rules/mynumber.h"
#include "rules/rules.h"

typedef struct {
    const char *key, *text;
} render_term;

static const char *lookup(const render_term *t, size_t n, const char *key, const char *fallback)
{
    for (size_t i = 0; key && i < n; i++)
        if (!strcmp(t[i].key, key)) return t[i].text;
    return fallback;
}

#define LOOKUP(table, key, fallback) lookup(table, sizeof table / sizeof table[0], key, fallback)

/* RULES.md §1 (current regime), §6 (before 2022-04-01) and §7 (public bodies). */
static const render_term rule_meanings[] = {
    {"MN-2-1", "情報提供ネットワークシステム等、個人番号利用事務又は行政機関等の個人番号関係事務に"
               "用いるシステムで取り扱う特定個人情報の漏えい等（番号法第29条の4第1項、規則第2条"
               "第1号）"},
    {"MN-2-2", "不正の目的をもって行われたおそれがある漏えい等、又は不正の目的による利用・提供（規"
               "則第2条第2号）"},
    {"MN-2-3", "特定個人情報ファイルに記録された特定個人情報が電磁的方法により不特定多数の者に閲覧"
               "され、又は閲覧されるおそれ（規則第2条第3号）"},
    {"MN-2-4", "漏えい等、法第9条に違反する利用又は法第19条に違反する提供に係る本人の数が100人を"
               "超える（規則第2条第4号）"},
    {"APPI-7-1", "要配慮個人情報が含まれる個人データの漏えい等（個人情報保護法第26条、施行規則第7"
                 "条第1号）"},
    {"APPI-7-2", "不正に利用されることにより財産的被害が生じるおそれがある個人データの漏えい等（施"
                 "行規則第7条第2号）"},
    {"APPI-7-3",
     "不正の目的をもって行われたおそれがある個人データの漏えい等（施行規則第7条第3号）"},
    {"APPI-7-4", "本人の数が1,000人を超える個人データの漏えい等（施行規則第7条第4号）"},
    {"APPI-43-1", "要配慮個人情報が含まれる保有個人情報の漏えい等（個人情報保護法第68条、施行規則"
                  "第43条第1号）"},
    {"APPI-43-2", "不正に利用されることにより財産的被害が生じるおそれがある保有個人情報の漏えい等"
                  "（施行規則第43条第2号）"},
    {"APPI-43-3",
     "不正の目的をもって行われたおそれがある行政機関の長等に対する行為による保有個人情報"
     "の漏えい等（施行規則第43条第3号）"},
    {"APPI-43-4", "本人の数が100人を超える保有個人情報の漏えい等（施行規則第43条第4号）"},
    {"APPI-43-5", "条例要配慮個人情報が含まれる保有個人情報の漏えい等（施行規則第43条第5号）"},
    {"MN15-1", "情報提供ネットワークシステム等で管理される特定個人情報の漏えい（法第19条に該当しな"
               "い提供を含む）、滅失又は毀損（平成27年規則第5号 第2条第1号の重大事態）"},
    {"MN15-2", "漏えい等、法第9条に違反する利用又は法第19条に違反する提供に係る本人の数が100人を"
               "超える（重大事態 第2号）"},
    {"MN15-3", "不特定多数の者が閲覧できる状態となり、かつ、閲覧された（重大事態 第3号）"},
    {"MN15-4", "不正の目的をもって特定個人情報を利用し、又は提供した者がいる（重大事態 第4号）"},
    {"MN15-P", "重大事態のおそれ（法令上の報告義務はなく、平成27年告示第2号3(2)により直ちに報告す"
               "るよう努める）"},
};

static const render_term statuses[] = {
    {"mandatory", "報告義務あり"},
    {"voluntary", "報告義務の対象外（努力義務として報告が望ましい）"},
    {"none", "報告の対象外"},
};

static const render_term routes[] = {
    {"own_report", "自ら個人情報保護委員会へ報告する"},
    {"notify_clients", "委託元へ通知し、委託元が報告する（委託先は通知により報告義務を免れる）"},
    {"direct_report", "委託先として個人情報保護委員会へ直接報告する（複数の委託元に係る本人の数の"
                      "合計による。委託元ごとの本人の数を併記）"},
    {"none", "報告を要しない"},
};

static const render_term kinds[] = {
    {"leak", "漏えい"},
    {"loss", "滅失"},
    {"damage", "毀損"},
    {"unlawful_use", "法第9条に違反する利用"},
    {"unlawful_provision", "法第19条に違反する提供"},
};

static const render_term certainties[] = {
    {"confirmed", "発生"},
    {"possible", "発生したおそれ"},
};

static const render_term improper[] = {
    {"none", "不正の目的は認められていない（現時点）"},
    {"possible", "不正の目的によるおそれがある"},
    {"confirmed", "不正の目的によるもの"},
};

static const render_term viewings[] = {
    {"none", "不特定多数の者による閲覧は認められていない（現時点）"},
    {"possible", "不特定多数の者に閲覧されたおそれがある"},
    {"viewed", "不特定多数の者に閲覧された"},
};

static const render_term systems[] = {
    {"info_provision_network", "情報提供ネットワークシステム及びこれに接続された電子計算機"},
    {"number_use_system", "個人番号利用事務に用いるシステム"},
    {"public_related_system", "行政機関等の個人番号関係事務に用いるシステム"},
};

static const render_term steps[] = {
    {"internal_report_containment", "事業者内部における報告、被害の拡大防止"},
    {"fact_investigation", "事実関係の調査、原因の究明"},
    {"scope_of_impact", "影響範囲の特定"},
    {"preventive_measures", "再発防止策の検討・実施"},
    {"contact_persons", "影響を受ける可能性のある本人への連絡等"},
    {"publication", "事実関係、再発防止策等の公表"},
};

static const render_term reports[] = {
    {"ppc_preliminary", "個人情報保護委員会への報告（速報）"},
    {"ppc_final", "個人情報保護委員会への報告（確報）"},
    {"client_notice", "委託元への通知"},
    {"principal_notice", "本人への通知"},
    {"person_notice", "本人への通知"},
    {"publication", "公表"},
};

const char *render__rule_meaning(const char *id)
{
    return LOOKUP(rule_meanings, id, "（説明は登録されていません）");
}
const char *render__status_ja(const char *s)
{
    return LOOKUP(statuses, s, RENDER_UNKNOWN);
}
const char *render__route_ja(const char *r)
{
    return LOOKUP(routes, r, RENDER_UNKNOWN);
}
const char *render__kind_ja(const char *k)
{
    return LOOKUP(kinds, k, RENDER_UNKNOWN);
}
const char *render__certainty_ja(const char *c)
{
    return LOOKUP(certainties, c, RENDER_UNKNOWN);
}
const char *render__improper_ja(const char *l)
{
    return LOOKUP(improper, l, RENDER_UNKNOWN);
}
const char *render__viewing_ja(const char *v)
{
    return LOOKUP(viewings, v, RENDER_UNKNOWN);
}
const char *render__system_ja(const char *s)
{
    return LOOKUP(systems, s, RENDER_UNKNOWN);
}
const char *render__step_ja(const char *s)
{
    return LOOKUP(steps, s, RENDER_UNKNOWN);
}
const char *render__report_ja(const char *r)
{
    return LOOKUP(reports, r, RENDER_UNKNOWN);
}

const char *render__stage_ja(const json_t *snapshot, int final)
{
    const char *regime = render__str(json_object_get(snapshot, "verdict"), "regime");
    /* Before 2022-04-01 the 2015 notice asked for a first report and a final one. */
    if (regime && !strcmp(regime, "2015")) return final ? "最終報告" : "第一報";
    return final ? "確報" : "速報";
}

/* ---- times ---- */

static const char *const weekdays[] = {"日", "月", "火", "水", "木", "金", "土"};

static void day_words(jpcal_day d, char *out, size_t n)
{
    int y, m, dd;
    jpcal_to_ymd(d, &y, &m, &dd);
    snprintf(out, n, "%d年%d月%d日（%s）", y, m, dd, weekdays[jpcal_weekday(d)]);
}

const char *render__time_ja(const char *rfc3339, char out[64])
{
    int64_t ms;
    char ignored[64];
    if (!rfc3339 || timefmt_parse_rfc3339(rfc3339, &ms, ignored, sizeof ignored) != 0)
        return RENDER_UNKNOWN;
    int64_t secs = timefmt_ms_to_s(ms);
    jpcal_day day = rules_japan_day(secs);
    int64_t in_day = secs + RULES_JST_OFFSET_SECONDS - (int64_t)day * 86400;
    char date[48];
    day_words(day, date, sizeof date);
    snprintf(out, 64, "%s%02d:%02d", date, (int)(in_day / 3600), (int)(in_day % 3600 / 60));
    return out;
}

const char *render__date_ja(const char *date, char out[64])
{
    jpcal_day d;
    if (!date || !jpcal_parse(date, &d)) return RENDER_UNKNOWN;
    day_words(d, out, 64);
    return out;
}

json_t *render__persons(const json_t *count)
{
    if (!json_is_integer(count)) return json_string(RENDER_UNKNOWN);
    char text[48];
    snprintf(text, sizeof text, "%lld名", (long long)json_integer_value(count));
    return json_string(text);
}

/* ---- snapshot accessors ---- */

const char *render__str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

const char *render__nonempty(const json_t *obj, const char *key)
{
    const char *s = render__str(obj, key);
    return s && *s ? s : NULL;
}

json_t *render__free_text(const char *text)
{
    const char *p = text;
    while (p && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    if (!p || !*p) return json_string(RENDER_UNKNOWN);
    if (mynumber_find(text, strlen(text), NULL))
        return json_string("（個人番号と思われる数字を含むため、この記載は省略しました）");
    json_t *s = json_string(text);
    return s ? s : json_string("（文字コードが不正なため、この記載は省略しました）");
}

const json_t *render__find_by(const json_t *arr, const char *key, const char *value)
{
    size_t i;
    const json_t *e;
    json_array_foreach (arr, i, e) {
        const char *v = render__str(e, key);
        if (v && value && !strcmp(v, value)) return e;
    }
    return NULL;
}

const json_t *render__verdict_client(const json_t *snapshot, const char *client_id)
{
    return render__find_by(json_object_get(json_object_get(snapshot, "verdict"), "clients"),
                           "client_id", client_id);
}

const json_t *render__exposure(const json_t *snapshot, const char *client_id)
{
    return render__find_by(json_object_get(snapshot, "clients"), "client_id", client_id);
}

const char *render__step_done(const json_t *snapshot, const char *step)
{
    size_t i;
    const json_t *s;
    json_array_foreach (json_object_get(snapshot, "steps"), i, s) {
        const char *name = render__str(s, "step");
        if (name && !strcmp(name, step)) return render__str(s, "completed_at");
    }
    return NULL;
}

const json_t *render__filing(const json_t *snapshot, const char *report, const char *client_id)
{
    size_t i;
    const json_t *f, *found = NULL;
    json_array_foreach (json_object_get(snapshot, "filings"), i, f) {
        const char *r = render__str(f, "report"), *c = render__str(f, "client_id");
        if (!r || strcmp(r, report) != 0) continue;
        if (client_id && (!c || strcmp(c, client_id) != 0)) continue;
        found = f; /* the snapshot lists filings oldest first: keep the latest */
    }
    return found;
}

/* ---- document shape ---- */

json_t *render__entry(const char *label, json_t *value)
{
    if (!value) value = json_string(RENDER_UNKNOWN);
    return json_pack("{s:s, s:o}", "label", label, "value", value);
}

void render__add(json_t *entries, const char *label, json_t *value)
{
    json_array_append_new(entries, render__entry(label, value));
}

json_t *render__block(const char *heading, json_t *entries)
{
    return json_pack("{s:s, s:o}", "heading", heading, "entries", entries);
}

json_t *render__doc_new(const char *document, const char *title, const json_t *snapshot,
                        const json_t *task)
{
    const json_t *version = json_object_get(snapshot, "case_version");
    const char *task_id = render__str(task, "task_id");
    json_t *doc = json_pack("{s:s, s:s, s:s, s:o, s:o, s:[], s:[], s:s, s:s}", "document", document,
                            "title", title, "incident_id", render__str(snapshot, "incident_id"),
                            "task_id", task_id ? json_string(task_id) : json_null(), "case_version",
                            json_is_integer(version) ? json_integer(json_integer_value(version))
                                                     : json_null(),
                            "header", "blocks", "disclaimer", VERDICT_DISCLAIMER, "disclaimer_ja",
                            RENDER_DISCLAIMER_JA);
    /* The snapshot is the case as of this version (notify/snapshot.h): the document says so,
     * so that a reader does not take it for the case as it is when read. */
    if (doc && json_integer_value(version) > 0) {
        char ja[256], en[256];
        long long n = (long long)json_integer_value(version);
        snprintf(ja, sizeof ja,
                 "事案の第%lld版の時点の記録から作成しました（それ以後の更新は含みません）。", n);
        snprintf(en, sizeof en,
                 "Rendered from case version %lld: the case as recorded at that version; later "
                 "updates are not included.",
                 n);
        json_object_set_new(
            doc, "rendered_from",
            json_pack("{s:I, s:s, s:s}", "case_version", (json_int_t)n, "ja", ja, "en", en));
    }
    return doc;
}

json_t *render__rules(const json_t *verdict_part, const char *rules_key)
{
    json_t *out = json_array();
    size_t i;
    const json_t *id;
    json_array_foreach (json_object_get(verdict_part, rules_key), i, id) {
        const char *s = json_string_value(id);
        if (s)
            json_array_append_new(
                out, json_pack("{s:s, s:s}", "id", s, "meaning", render__rule_meaning(s)));
    }
    return out;
}

json_t *render__concat(json_t *a, json_t *b)
{
    json_array_extend(a, b);
    json_decref(b);
    return a;
}

json_t *render__rule_lines(const json_t *rules)
{
    json_t *lines = json_array();
    size_t i;
    const json_t *r;
    json_array_foreach (rules, i, r) {
        char line[1024];
        snprintf(line, sizeof line, "%s: %s", render__str(r, "id"), render__str(r, "meaning"));
        json_array_append_new(lines, json_string(line));
    }
    if (json_array_size(lines) == 0) json_array_append_new(lines, json_string("該当なし"));
    return lines;
}
