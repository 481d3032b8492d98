/*
 * obligations: what a verdict obliges the reporter (the BPO) to do, as a set of tasks with due
 * times, and the difference between two verdicts' sets (RULES.md §2-§3).
 *
 *   client_notice     (per involved client)  the contractor's notice to the client, Art. 4
 *   ppc_preliminary                          the preliminary report to the PPC (速報 / 第一報)
 *   ppc_final                                the final report (確報), when a day count applies
 *   principal_notice                         notice to the persons (本人通知, Art. 29-4(2)) or,
 *                                            when impossible, publication
 *
 * The PPC reports are the reporter's only when it must report itself: an own incident, or a
 * contractor's direct report; on the notify_clients route each client reports and the
 * contractor owes them the notice. Pure.
 */
#ifndef MNI_OBLIGATIONS_H
#define MNI_OBLIGATIONS_H

#include <jansson.h>
#include <stddef.h>

#define OBLIGATIONS_MAX 1100 /* four per incident plus one notice per client */

typedef struct {
    const char *kind;      /* static string */
    const char *client_id; /* points into the verdict JSON, or NULL */
    const char *due_date;  /* YYYY-MM-DD (Japan day), or NULL */
    const char *due_at;    /* RFC 3339 instant, or NULL */
} obligation;

/* Fills out[0..*n) from a verdict (verdict_json's document); pointers borrow from verdict. */
int obligations_of(const json_t *verdict, obligation *out, size_t cap, size_t *n);
/* True when an obligation of the same kind and client is in set[0..n). */
int obligations_contains(const obligation *set, size_t n, const obligation *o);

#endif
