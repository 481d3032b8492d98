/*
 * webhook: tickets delivered over HTTP (issue 9 "Tickets over HTTP"; migration 0020), a second
 * and optional channel beside the tickets topic. Off unless notify.webhook.url is set.
 *
 * A ticket opened while the webhook is on is stored pending (notify_store_ticket), due at once.
 * Each tick of the notify worker, after the outbox relay, runs one pass:
 *
 *   claim    one statement: up to `batch` pending tickets whose next attempt is due, locked FOR
 *            UPDATE SKIP LOCKED and pushed a lease into the future (the request timeout plus 5
 *            s), so another notify member neither waits for them nor sends them meanwhile. The
 *            body is built there from the ticket's stored columns, so every attempt of a ticket
 *            sends the same bytes.
 *   send     all of them at once (libcurl multi): POST the JSON body with
 *              Content-Type: application/json
 *              Idempotency-Key: <ticket id>     (the receiver de-duplicates by it)
 *              X-Mni-Attempt: <n>
 *              X-Mni-Signature: sha256=<hex HMAC-SHA256 of the body>   (with a secret only)
 *              Authorization: Bearer <token>    (with notify.webhook.auth_token only)
 *            within notify.webhook.timeout_ms each; redirects are not followed, http and https
 *            only.
 *   judge    (webhook_judge) 2xx: delivered. No answer (refused, timeout, TLS), 408, 425, 429
 *            and 5xx: retry after webhook_backoff_ms (or the answer's Retry-After, when longer,
 *            up to the backoff's cap), unless that was the last attempt allowed
 *            (notify.webhook.max_attempts): failed. Any other answer (3xx, 4xx): failed at once,
 *            since sending the same ticket again will not change the receiver's mind.
 *   record   one transaction: an attempt row each (status, latency, HTTP code, error, outcome;
 *            ticket_webhook_attempts), the ticket's state, attempts and next time, and an audit
 *            row for each ticket delivered or failed (lib/runtime/audit.h). Only tickets still at
 * the attempt count this pass claimed are written (compare-and-set), so a pass that lost its lease
 *            cannot write over the next one.
 *
 * A pass lasts at most about notify.webhook.timeout_ms (its requests run in parallel), and the
 * worker's loop waits for it: keep the timeout short (seconds), the retries do the rest.
 *
 * A failed ticket stays failed, shown by `mni case` and the case page; nothing is dropped
 * quietly. A crash between send and record sends the same ticket again later under the same
 * Idempotency-Key.
 *
 * Secrets: the URL may carry credentials, the secret signs bodies, the token authorizes: none is
 * ever logged, and --print-config masks them (put credentials in the URL's user:password@, in
 * auth_token or in secret, not in its query string). TLS: notify.webhook.ca_file adds a CA bundle;
 * certificates are always verified.
 */
#ifndef MNI_NOTIFY_WEBHOOK_H
#define MNI_NOTIFY_WEBHOOK_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *url;        /* NULL or "": off */
    const char *secret;     /* HMAC key for X-Mni-Signature, or NULL / "" */
    const char *auth_token; /* Authorization: Bearer, or NULL / "" */
    const char *ca_file;    /* extra CA bundle, or NULL / "" */
    long long timeout_ms;   /* per request */
    long long max_attempts; /* attempts per ticket before it fails */
    long long backoff_ms;   /* the first retry's delay */
    long long backoff_max_ms;
    int batch; /* tickets per pass at most */
} webhook_config;

typedef enum {
    WEBHOOK_DELIVERED,
    WEBHOOK_RETRY,
    WEBHOOK_FAILED,
} webhook_outcome;

/* What one attempt comes to: http_status 0 when no answer came. attempt counts from 1. */
webhook_outcome webhook_judge(int http_status, int attempt, long long max_attempts);

/* The delay before the attempt after `attempt` (counting from 1): exponential,
 * base * 2^(attempt-1) capped at max, with equal jitter (half fixed, half random from
 * `random`), so it is in [d/2, d] for that d. Pure. */
long long webhook_backoff_ms(int attempt, long long base, long long max, uint32_t random);

/* Counts of one pass. */
typedef struct {
    long sent, delivered, retried, failed;
} webhook_counts;

/* One pass (see above). Errors of PostgreSQL come back as -1 with err; a receiver's errors are
 * outcomes, not errors. */
int webhook_run(PGconn *pg, const webhook_config *cfg, webhook_counts *counts, char *err,
                size_t errlen);

#endif
