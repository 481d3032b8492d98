/*
 * The current regime: incidents known on or after 2022-04-01.
 *
 * My Number Act Art. 29-4(1) and the PPC reporting rule (平成27年特定個人情報保護委員会規則
 * 第5号) Art. 2 list the situations that must be reported; APPI Art. 26(1) and its enforcement
 * rule Art. 7 apply to the same incident in parallel, because specific personal information is
 * personal data too. Every item fires when the situation "occurred or may have occurred"
 * (発生し、又は発生したおそれ), so certainty "possible" counts as occurred and is not consulted.
 */
#include "rules/rules_internal.h"

/* Art. 2 items that need more than 100 persons (101 or more). */
#define MN_HEADCOUNT_THRESHOLD 100
/* APPI rule Art. 7(4): more than 1,000 persons. */
#define APPI_HEADCOUNT_THRESHOLD 1000

static void mn_evaluate(const rules_exposure *e, rules_act_verdict *v)
{
    const rules_facts *f = e->facts;
    const rules_events *ev = &e->events;

    /* Art. 2(1): leak etc. of data held in the information-provision network system (イ), a
     * system used for 個人番号利用事務 (ロ), or a public body's system for 個人番号関係事務
     * (ハ). Any headcount. */
    if (ev->leak_etc && f->systems != 0) rules_fire(v, "MN-2-1");

    /* Art. 2(2): improper purpose (不正の目的), by an outsider or an employee: a leak etc. that
     * may have been done with it (イ), use with it (ロ), provision with it (ハ). Any headcount. */
    if (f->improper_purpose != RULES_LEVEL_NONE &&
        (ev->leak_etc || ev->unlawful_use || ev->unlawful_provision))
        rules_fire(v, "MN-2-2");

    /* Art. 2(3): data in a 特定個人情報ファイル viewed, or possibly viewed, by an unspecified
     * number of people by electronic means. "Recovered unviewed" answers only the possibility;
     * rules.c refuses it next to "viewed". */
    if (ev->viewing) rules_fire(v, "MN-2-3");

    /* Art. 2(4): more than 100 persons in a leak etc. (イ), use in breach of Art. 9 (ロ), or
     * provision in breach of Art. 19 (ハ). The count is the possible maximum. */
    if (e->headcount > MN_HEADCOUNT_THRESHOLD &&
        (ev->leak_etc || ev->unlawful_use || ev->unlawful_provision))
        rules_fire(v, "MN-2-4");
}

static void appi_evaluate(const rules_exposure *e, rules_act_verdict *v)
{
    const rules_facts *f = e->facts;
    /* APPI rule Art. 7 covers leak, loss and damage (漏えい等) only; unlawful use or provision
     * of My Numbers is the My Number Act's alone. */
    if (!e->events.leak_etc) return;
    /* Art. 7(1): sensitive personal data (要配慮個人情報). */
    if (f->appi.sensitive) rules_fire(v, "APPI-7-1");
    /* Art. 7(2): data whose misuse may cause financial loss. */
    if (f->appi.financial_risk) rules_fire(v, "APPI-7-2");
    /* Art. 7(3): possibly caused by an act done with improper purpose against the business. */
    if (f->improper_purpose != RULES_LEVEL_NONE) rules_fire(v, "APPI-7-3");
    /* Art. 7(4): more than 1,000 persons. */
    if (e->appi_persons > APPI_HEADCOUNT_THRESHOLD) rules_fire(v, "APPI-7-4");
}

void rules_2022_evaluate(const rules_exposure *e, rules_act_verdict *my_number,
                         rules_act_verdict *appi)
{
    /* 高度な暗号化その他の個人の権利利益を保護するために必要な措置 (Art. 2 and APPI rule
     * Art. 7, each item's parenthesis): protected data counts for no item, and there is
     * nothing to report, not even on a best-effort basis. */
    if (e->facts->encrypted_protected) {
        rules_settle(my_number, false);
        rules_settle(appi, false);
        return;
    }
    mn_evaluate(e, my_number);
    rules_settle(my_number, e->events.any);
    appi_evaluate(e, appi);
    rules_settle(appi, e->events.leak_etc);
}
