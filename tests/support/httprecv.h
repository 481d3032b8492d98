/*
 * httprecv: a real HTTP server (libmicrohttpd, on 127.0.0.1, a thread per connection) that
 * plays a ticketing system receiving webhooks, and fails on purpose: the n-th request carrying
 * a given Idempotency-Key (counting from 0) is answered with script[n], the last entry repeating
 * (so {503, 503, 200} fails twice per ticket, then accepts it). A script entry of
 * HTTPRECV_HANG holds the request for two seconds before answering 200, to run a client's
 * timeout out. Every request is recorded (method, path, headers of interest, body, arrival
 * time) for the test to check afterwards.
 */
#ifndef MNI_HTTPRECV_H
#define MNI_HTTPRECV_H

#include <stddef.h>

#define HTTPRECV_HANG (-1)

typedef struct {
    char method[16], path[256];
    char key[256];       /* Idempotency-Key */
    char attempt[16];    /* X-Mni-Attempt */
    char signature[128]; /* X-Mni-Signature */
    char authorization[256];
    char content_type[128];
    char *body;      /* malloc'd, NUL-terminated */
    long long at_ms; /* CLOCK_MONOTONIC when the request was complete */
    int status;      /* what it was answered */
} httprecv_request;

typedef struct httprecv httprecv;

/* Starts on a free port; NULL when it cannot (message in err). The script is copied. */
httprecv *httprecv_start(const int *script, size_t n, char *err, size_t errlen);
int httprecv_port(const httprecv *r);
/* How many requests were answered so far. */
size_t httprecv_count(httprecv *r);
/* A copy of the requests so far, in arrival order (*out malloc'd; free with
 * httprecv_requests_free). */
size_t httprecv_requests(httprecv *r, httprecv_request **out);
void httprecv_requests_free(httprecv_request *v, size_t n);
void httprecv_stop(httprecv *r);

#endif
