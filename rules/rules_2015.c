/*
 * The earlier regime: incidents known before 2022-04-01 (RULES.md §6).
 *
 * The PPC notice of 2015 (特定個人情報の漏えい事案等が発生した場合の対応について, 平成27年
 * 特定個人情報保護委員会告示第2号) and the 2016 rule on serious situations (重大事態, 平成27年
 * 規則第5号 as first made): a serious situation had to be reported to the PPC, first at once
 * (第一報) and finally after the investigation, with no fixed day count. Only situations that
 * occurred counted, but the first report was due at once also for a *possible* serious
 * situation; such a verdict carries MN15-P next to the items that may have occurred. Other
 * violations: best-effort report (voluntary). APPI had no mandatory leak report before the 2020
 * amendment took effect on 2022-04-01, so its status here is at most voluntary.
 */
#include "rules/rules_internal.h"

#define MN15_HEADCOUNT_THRESHOLD 100

/* Fires an item and remembers whether it rests on an established fact. */
static void mn15_fire(rules_act_verdict *v, const char *id, bool established, bool *any_established)
{
    rules_fire(v, id);
    *any_established = *any_established || established;
}

void rules_2015_evaluate(const rules_exposure *e, rules_act_verdict *my_number,
                         rules_act_verdict *appi)
{
    const rules_facts *f = e->facts;
    const rules_events *ev = &e->events;
    bool breach = ev->leak_etc || ev->unlawful_use || ev->unlawful_provision;
    bool occurred = f->certainty == RULES_CERTAINTY_CONFIRMED;
    bool established = false;

    /* The 2015 notice, like the current rule, exempts data under strong encryption. */
    if (f->encrypted_protected) {
        rules_settle(my_number, false);
        rules_settle(appi, false);
        return;
    }

    /* 2016 rule Art. 2(1): leak etc. from the information-provision network system or the
     * listed systems. */
    if (ev->leak_etc && f->systems != 0) mn15_fire(my_number, "MN15-1", occurred, &established);
    /* Art. 2(2): use or provision with improper purpose; a purpose that is only suspected
     * makes it a possible serious situation. */
    if (f->improper_purpose != RULES_LEVEL_NONE && breach)
        mn15_fire(my_number, "MN15-2", occurred && f->improper_purpose == RULES_LEVEL_CONFIRMED,
                  &established);
    /* Art. 2(3): viewable by an unspecified number of people *and actually viewed*; viewing
     * that is only possible is a possible serious situation. */
    if (ev->viewing)
        mn15_fire(my_number, "MN15-3", occurred && f->unspecified_viewing == RULES_VIEW_VIEWED,
                  &established);
    /* Art. 2(4): more than 100 persons leaked etc., or used or provided in breach of the Act. */
    if (e->headcount > MN15_HEADCOUNT_THRESHOLD && breach)
        mn15_fire(my_number, "MN15-4", occurred, &established);

    /* The 2015 notice: the first report is due at once also when the serious situation is
     * only possible; MN15-P says that no item rests on an established fact. */
    if (my_number->n_fired > 0 && !established) rules_fire(my_number, "MN15-P");
    rules_settle(my_number, ev->any);
    rules_settle(appi, ev->leak_etc);
}
