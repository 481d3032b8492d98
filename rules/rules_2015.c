/*
 * The earlier regime: incidents known before 2022-04-01 (RULES.md §6).
 *
 * From 2016-01-01, old My Number Act Art. 28-4 (later 29-4) and the PPC rule on serious
 * situations (重大事態, 平成27年特定個人情報保護委員会規則第5号 as first made) made a report to
 * the PPC a legal duty when a serious situation *had occurred* (seed 000: 「『重大な事態』が生じ
 * たときには…義務」); the report had no fixed day count. The rule's list (seed 002) gives the ids:
 *   MN15-1  item 一: leak (including leaks by unauthorised access and any provision not allowed
 *           by Art. 19), loss or damage of data in the listed systems, any count;
 *   MN15-2  item 二: more than 100 persons leaked etc., used in breach of Art. 9 or provided in
 *           breach of Art. 19;
 *   MN15-3  item 三: viewable by an unspecified number of people *and actually viewed*;
 *   MN15-4  item 四: someone who *used or provided* data with improper purpose.
 * Only items resting on established facts fire. A serious situation that is only possible (重大
 * 事態のおそれ) is no legal duty: the 2015 notice 3(2) asks for a report at once on a best-effort
 * basis (「報告するよう努める」), so the verdict is voluntary, fires MN15-P and names the items
 * that may have occurred in `possible`. Other violations: best-effort report under notice 2
 * (voluntary), and none at all for a small business meeting notice 2(2). Before 2016-01-01
 * nothing was a legal duty: best effort only. APPI had no mandatory leak report before the 2020
 * amendment took effect on 2022-04-01 (only the 2017 notice's best effort).
 *
 * Encryption: the 2016 rule's list has no "高度な暗号化" parenthesis (it came with the 2021
 * rule), so protected data does not take a serious situation out of the duty; it counts only as
 * "substantially not leaked outside" in the best-effort exemptions (notice 2(2)②, and the 2017
 * APPI notice).
 */
#include "rules/rules_internal.h"

#define MN15_HEADCOUNT_THRESHOLD 100
/* 2015 notice 2(2): at most 100 employees. */
#define NOTICE2015_SMALL_EMPLOYEES 100

typedef enum { ITEM_NO, ITEM_POSSIBLE, ITEM_ESTABLISHED } item_level;

static item_level item(bool happened, bool established)
{
    if (!happened) return ITEM_NO;
    return established ? ITEM_ESTABLISHED : ITEM_POSSIBLE;
}

/* The 2016 rule Art. 2 items for this entity, in order 一..四. */
static void items_assess(const rules_exposure *e, item_level items[4])
{
    const rules_facts *f = e->facts;
    const rules_events *ev = &e->events;
    bool occurred = f->certainty == RULES_CERTAINTY_CONFIRMED;
    bool use_or_provision = ev->unlawful_use || ev->unlawful_provision;

    /* 一: 「漏えい（不正アクセス行為による漏えいその他番号法第19条各号に該当しない特定個人情報
     * の提供を含む。）し、滅失し、又は毀損した」 data of the listed systems (イ, ロ, ハ). */
    items[0] = item((ev->leak_etc || ev->unlawful_provision) && e->systems != 0, occurred);
    /* 二: more than 100 persons. Established only when the *known* count is over 100; a
     * possible maximum over 100 is a possible serious situation. */
    items[1] = item((ev->leak_etc || use_or_provision) && e->headcount > MN15_HEADCOUNT_THRESHOLD,
                    occurred && e->headcount_known > MN15_HEADCOUNT_THRESHOLD);
    /* 三: viewable by an unspecified number of people 「かつ、…閲覧された」: only actual viewing
     * is the serious situation; possible viewing is a possible one. */
    items[2] = item(ev->viewing, f->unspecified_viewing == RULES_VIEW_VIEWED);
    /* 四: 「不正の目的をもって、…利用し、又は提供した者がいる」: needs use or provision; a leak
     * with improper purpose from an ordinary system is not item 四 (item 一 counts leaks by
     * unauthorised access only for the listed systems). Any actor, the business included. */
    items[3] = item(use_or_provision && f->improper_purpose != RULES_LEVEL_NONE,
                    occurred && f->improper_purpose == RULES_LEVEL_CONFIRMED);
}

/* Notice 2(2): a business with at most 100 employees that is not a 個人番号利用事務実施者
 * need not report to the PPC when ① every affected person was contacted, ② the data did not
 * substantially leak outside (encryption counts), ③ the investigation is finished and measures
 * are decided, and ④ no serious situation (not even a possible one) is involved; never for
 * breaches of the Act's own rules such as use or provision restrictions (2(1)イ). */
static bool small_business_exempt(const rules_exposure *e, const item_level items[4])
{
    const rules_facts *f = e->facts;
    const rules_notice2015 *c = &f->notice2015;
    if (!e->is_reporter || !f->notice2015_given || !f->employees_given ||
        f->employees > NOTICE2015_SMALL_EMPLOYEES || f->number_use_entity)
        return false;
    if (!c->all_persons_contacted || !(c->no_external_leak || f->encrypted_protected) ||
        !c->investigation_done)
        return false;
    if (e->events.unlawful_use || e->events.unlawful_provision) return false;
    for (int i = 0; i < 4; i++)
        if (items[i] != ITEM_NO) return false;
    return true;
}

void rules_2015_evaluate(const rules_exposure *e, rules_act_verdict *my_number,
                         rules_act_verdict *appi)
{
    const rules_facts *f = e->facts;
    item_level items[4];
    items_assess(e, items);

    /* The rule took effect on 2016-01-01: before it, no item fires at all. */
    bool in_force = e->known_day >= RULES_DUTY_START_DAYNUM;
    bool established = false;
    for (int i = 0; in_force && i < 4; i++)
        if (items[i] == ITEM_ESTABLISHED) {
            rules_fire(my_number, (rules_rule)(RULE_MN15_1 + i));
            established = true;
        } else if (items[i] == ITEM_POSSIBLE) {
            my_number->possible |= 1u << i;
        }
    if (my_number->possible) rules_fire(my_number, RULE_MN15_P);

    if (established)
        my_number->status = RULES_STATUS_MANDATORY;
    else if (e->events.any && !small_business_exempt(e, items))
        my_number->status = RULES_STATUS_VOLUNTARY;
    else
        my_number->status = RULES_STATUS_NONE;

    /* APPI: best effort at most; none when the data did not substantially leak outside. */
    bool not_leaked_outside =
        f->encrypted_protected || (f->notice2015_given && f->notice2015.no_external_leak);
    rules_settle(appi, e->events.leak_etc && !not_leaked_outside);
}
