/*
 * The current regime: incidents known on or after 2022-04-01.
 *
 * My Number Act Art. 29-4(1) and the PPC reporting rule (平成27年特定個人情報保護委員会規則
 * 第5号) Art. 2 list the situations that must be reported; APPI applies to the same incident in
 * parallel, because specific personal information is personal data too: Art. 26(1) and its
 * enforcement rule Art. 7 for a business, Art. 68(1) and rule Art. 43 for a public body
 * (行政機関等; 地方公共団体等 only from 2023-04-01). Every item fires when the situation
 * "occurred or may have occurred" (発生し、又は発生したおそれ), so certainty "possible" counts as
 * occurred and is not consulted.
 */
#include "rules/rules_internal.h"

/* Art. 2 items that need more than 100 persons (101 or more). */
#define MN_HEADCOUNT_THRESHOLD 100
/* APPI rule Art. 7(4): more than 1,000 persons. */
#define APPI_HEADCOUNT_THRESHOLD 1000
/* APPI rule Art. 43(4): more than 100 persons, for a public body. */
#define APPI_PUBLIC_HEADCOUNT_THRESHOLD 100

static void mn_evaluate(const rules_exposure *e, rules_act_verdict *v)
{
    const rules_facts *f = e->facts;
    const rules_events *ev = &e->events;

    /* Art. 2(1): leak etc. of data held in the information-provision network system (イ), a
     * system used for 個人番号利用事務 (ロ), or a public body's system for 個人番号関係事務
     * (ハ). Any headcount. The systems are this entity's: a client's own when given. */
    if (ev->leak_etc && e->systems != 0) rules_fire(v, RULE_MN_2_1);

    /* Art. 2(2): improper purpose (不正の目的), by an outsider, an employee or the business
     * itself: a leak etc. that may have been done with it (イ), use with it (ロ), provision with
     * it (ハ). Any headcount. */
    if (f->improper_purpose != RULES_LEVEL_NONE &&
        (ev->leak_etc || ev->unlawful_use || ev->unlawful_provision))
        rules_fire(v, RULE_MN_2_2);

    /* Art. 2(3): data in a 特定個人情報ファイル viewed, or possibly viewed, by an unspecified
     * number of people by electronic means. "Recovered unviewed" answers only the possibility;
     * rules.c refuses it next to "viewed". */
    if (ev->viewing) rules_fire(v, RULE_MN_2_3);

    /* Art. 2(4): more than 100 persons in a leak etc. (イ), use in breach of Art. 9 (ロ), or
     * provision in breach of Art. 19 (ハ). The count is the possible maximum. */
    if (e->headcount > MN_HEADCOUNT_THRESHOLD &&
        (ev->leak_etc || ev->unlawful_use || ev->unlawful_provision))
        rules_fire(v, RULE_MN_2_4);
}

/* Item 3 of both APPI lists needs an act done *against* the entity (「当該個人情報取扱事業者に
 * 対する行為」, 「当該行政機関の長等に対する行為」): an outsider's or an employee's (APPI
 * guideline 3-5-3-1 names an employee's take-out), not the business's own decision. */
static bool improper_act_against_entity(const rules_facts *f)
{
    return f->improper_purpose != RULES_LEVEL_NONE && f->actor != RULES_ACTOR_BUSINESS;
}

/* APPI Art. 26(1), enforcement rule Art. 7: a business (個人情報取扱事業者). */
static void appi_business_evaluate(const rules_exposure *e, rules_act_verdict *v)
{
    const rules_facts *f = e->facts;
    /* Art. 7(1): sensitive personal data (要配慮個人情報). */
    if (f->appi.sensitive) rules_fire(v, RULE_APPI_7_1);
    /* Art. 7(2): data whose misuse may cause financial loss. */
    if (f->appi.financial_risk) rules_fire(v, RULE_APPI_7_2);
    /* Art. 7(3): possibly caused by an act done with improper purpose against the business. */
    if (improper_act_against_entity(f)) rules_fire(v, RULE_APPI_7_3);
    /* Art. 7(4): more than 1,000 persons. */
    if (e->appi_persons > APPI_HEADCOUNT_THRESHOLD) rules_fire(v, RULE_APPI_7_4);
}

/* APPI Art. 68(1), enforcement rule Art. 43: a public body's 保有個人情報. */
static void appi_public_evaluate(const rules_exposure *e, rules_act_verdict *v)
{
    const rules_facts *f = e->facts;
    /* Art. 43(1): sensitive personal data. */
    if (f->appi.sensitive) rules_fire(v, RULE_APPI_43_1);
    /* Art. 43(2): data whose misuse may cause financial loss. */
    if (f->appi.financial_risk) rules_fire(v, RULE_APPI_43_2);
    /* Art. 43(3): an act done with improper purpose against the public body. */
    if (improper_act_against_entity(f)) rules_fire(v, RULE_APPI_43_3);
    /* Art. 43(4): more than 100 persons. */
    if (e->appi_persons > APPI_PUBLIC_HEADCOUNT_THRESHOLD) rules_fire(v, RULE_APPI_43_4);
    /* Art. 43(5): a local government's 条例要配慮個人情報 (the ordinance's own sensitive items). */
    if (e->body.local_government && e->body.ordinance_sensitive) rules_fire(v, RULE_APPI_43_5);
}

static void appi_evaluate(const rules_exposure *e, rules_act_verdict *v)
{
    /* APPI covers leak, loss and damage (漏えい等) only; unlawful use or provision of My
     * Numbers is the My Number Act's alone (an insider's provision is a leak: rules_events). */
    if (!e->events.leak_etc) return;
    if (!e->body.public_body) {
        appi_business_evaluate(e, v);
        return;
    }
    /* Local governments came under APPI Chapter 5 on 2023-04-01 (2021 amendment, デジタル社会
     * 形成整備法 Art. 51); before that their own ordinances governed: no APPI item fires. */
    if (e->body.local_government && e->known_day < RULES_LOCAL_APPI_DAYNUM) return;
    appi_public_evaluate(e, v);
}

void rules_2022_evaluate(const rules_exposure *e, rules_act_verdict *my_number,
                         rules_act_verdict *appi)
{
    /* 高度な暗号化その他の個人の権利利益を保護するために必要な措置 (Art. 2 and APPI rule
     * Art. 7 and Art. 43, each item's parenthesis): protected data counts for no item, and there
     * is nothing to report, not even on a best-effort basis. */
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
