/*
 * web_server: the HTTP side of `mni web` (libmicrohttpd): read-only pages rendered from
 * PostgreSQL on each request.
 *
 *   GET /                 the case list (render_html_case_list), ?sort=<column>&order=asc|desc
 *                         with the columns of case_report_sort_keys; 400 for another column
 *   GET /cases/<id>       the case page (render_html_case), the same page `mni report ID --html`
 *                         writes, with a link back to the list; 404 when no such case is
 *                         visible to the connection's role
 *   GET /healthz          200 "ok" when PostgreSQL answers, else 503 "database unreachable"
 *   anything else         404; a method other than GET or HEAD: 405 with Allow: GET, HEAD
 *
 * Every page goes out with a Content-Security-Policy that forbids any fetch (the pages need
 * none), X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer and Cache-Control:
 * no-store (case pages are evidence of an incident, not for shared caches).
 *
 * PostgreSQL: each of the server's threads (web.threads) keeps one connection of its own
 * (libpq connections are not thread-safe), opened on its first request with the configured
 * conninfo and, when set, `SET ROLE` to the configured role; every session is read-only
 * (default_transaction_read_only) with a statement timeout. So a client's role sees what
 * row-level security lets it see (issue 8), and the pages show exactly that. A broken
 * connection is dropped and opened again on the next request. Connections close when the
 * server stops.
 *
 * Logs: one line per request (method, path, status, milliseconds); never a page.
 */
#ifndef MNI_WEB_SERVER_H
#define MNI_WEB_SERVER_H

#include <stddef.h>

typedef struct {
    const char *bind;     /* IPv4 address to listen on */
    int port;             /* 0: any free port (web_server_port tells which) */
    int threads;          /* request threads, each with its own PostgreSQL connection */
    const char *conninfo; /* libpq conninfo */
    const char *role;     /* SET ROLE after connecting, or NULL / "" */
    int statement_timeout_ms;
} web_server_config;

typedef struct web_server web_server;

/* Starts listening (the strings are copied); NULL with a message when it cannot. */
web_server *web_server_start(const web_server_config *cfg, char *err, size_t errlen);
/* The port it listens on. */
int web_server_port(const web_server *s);
/* Stops serving, waits for the requests in hand, closes every connection. NULL is fine. */
void web_server_stop(web_server *s);

#endif
