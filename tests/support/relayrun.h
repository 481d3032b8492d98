/*
 * relayrun: mni-assess run only for its outbox relay, for the tests of the relay. With no input,
 * only its tick works, and the tick relays the outbox: the test queues rows in PostgreSQL, runs
 * this, then looks at the topic and the rows.
 */
#ifndef MNI_RELAYRUN_H
#define MNI_RELAYRUN_H

/* Runs mni-assess (group, env: extra NAME=value settings, NULL-terminated, may be NULL; a
 * metrics port of its own is added) with --exit-when-idle idle_ms until its /metrics count
 * `relayed` rows relayed and, unless failed < 0, `failed` rows failed; then until it exits by
 * itself. Fails the current cmocka test, with its log shown, when the counts are not reached
 * within timeout_ms or it exits other than 0. Returns how many of its log lines hold needle
 * (0 when needle is NULL). */
int relayrun(const char *conninfo, const char *bootstrap, const char *group, const char *const *env,
             int idle_ms, int timeout_ms, long long relayed, long long failed, const char *needle);

#endif
