/*
 * promtext: samples read out of the Prometheus text a worker serves on GET /metrics
 * (lib/runtime/metrics.h), for tests that watch a running worker.
 */
#ifndef MNI_PROMTEXT_H
#define MNI_PROMTEXT_H

/* The value of series, written in full as it stands at the start of a line ("name" or
 * "name{labels}"), in the text body; -1 when absent. */
long long promtext_sample(const char *body, const char *series);
/* The value of name{component="<component>"} in body (a worker's own series); -1 when absent. */
long long promtext_component(const char *body, const char *component, const char *name);
/* The same from the worker's /metrics on port (127.0.0.1); fails the current cmocka test
 * unless it answers 200. */
long long promtext_scrape(int port, const char *series);

#endif
