/*
 * web_server: see web_server.h.
 */
#include "cli/web_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/case_report.h"
#include "lib/base/log.h"
#include "lib/base/monoclock.h"
#include "lib/pg/pgx.h"
#include "notify/render/render_html.h"

#define WEB_CASE_PREFIX "/cases/"

struct web_server {
    struct MHD_Daemon *daemon;
    char *conninfo, *role;
    int statement_timeout_ms;
    pthread_key_t conn_key; /* each request thread's PGconn */
};

/* A thread's connection goes when the thread does (MHD stops its pool threads on stop). */
static void close_thread_conn(void *conn)
{
    pgx_close(conn);
}

/* The calling thread's connection, opened (and configured) when it has none. */
static PGconn *thread_conn(web_server *s, char *err, size_t errlen)
{
    PGconn *pg = pthread_getspecific(s->conn_key);
    if (pg && PQstatus(pg) == CONNECTION_OK) return pg;
    pgx_close(pg);
    pthread_setspecific(s->conn_key, NULL);
    pg = pgx_connect(s->conninfo, "mni-web", err, errlen);
    if (!pg) return NULL;
    char setup[512];
    snprintf(setup, sizeof setup,
             "SET default_transaction_read_only = on; SET statement_timeout = %d",
             s->statement_timeout_ms);
    int rc = pgx_exec(pg, "web.session", setup, err, errlen);
    if (rc == 0 && s->role && *s->role) {
        char *ident = PQescapeIdentifier(pg, s->role, strlen(s->role));
        char *sql = NULL;
        if (!ident || asprintf(&sql, "SET ROLE %s", ident) < 0) {
            snprintf(err, errlen, "web.role: cannot quote '%s'", s->role);
            rc = -1;
        } else {
            rc = pgx_exec(pg, "web.set_role", sql, err, errlen);
        }
        PQfreemem(ident);
        free(sql);
    }
    if (rc != 0) {
        pgx_close(pg);
        return NULL;
    }
    pthread_setspecific(s->conn_key, pg);
    return pg;
}

/* After a failed query: drop a connection that broke, so the next request opens another. */
static void check_conn(web_server *s, PGconn *pg)
{
    if (pg && PQstatus(pg) != CONNECTION_OK) {
        pgx_close(pg);
        pthread_setspecific(s->conn_key, NULL);
    }
}

/* ---- responses ---- */

static enum MHD_Result send_page(struct MHD_Connection *c, unsigned status, const char *type,
                                 char *body)
{
    if (!body) return MHD_NO;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                            "frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED) MHD_add_response_header(r, "Allow", "GET, HEAD");
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static const render_html_opts page_opts = {.list_href = "/", .case_href_prefix = WEB_CASE_PREFIX};

static enum MHD_Result send_message(struct MHD_Connection *c, unsigned status, const char *title,
                                    const char *text)
{
    return send_page(c, status, "text/html; charset=utf-8",
                     render_html_message(title, text, &page_opts));
}

static char *copy(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* ---- routes ---- */

static unsigned route_list(web_server *s, struct MHD_Connection *c, enum MHD_Result *ok)
{
    char err[1024];
    const char *sort = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "sort");
    const char *order = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "order");
    if (order && strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0) {
        *ok =
            send_message(c, MHD_HTTP_BAD_REQUEST, "400 Bad Request", "order: must be asc or desc");
        return MHD_HTTP_BAD_REQUEST;
    }
    PGconn *pg = thread_conn(s, err, sizeof err);
    if (!pg) {
        log_error("web: cannot connect to PostgreSQL", LOG_STR("error", err), LOG_END);
        *ok = send_message(c, MHD_HTTP_SERVICE_UNAVAILABLE, "503 Service Unavailable",
                           "database unreachable");
        return MHD_HTTP_SERVICE_UNAVAILABLE;
    }
    json_t *list = case_report_list(pg, NULL, sort && *sort ? sort : NULL,
                                    order && !strcmp(order, "desc"), err, sizeof err);
    if (!list) {
        check_conn(s, pg);
        int bad_sort = !strncmp(err, "sort:", 5);
        if (!bad_sort) log_error("web: case list failed", LOG_STR("error", err), LOG_END);
        unsigned status = bad_sort ? MHD_HTTP_BAD_REQUEST : MHD_HTTP_INTERNAL_SERVER_ERROR;
        *ok = send_message(c, status, bad_sort ? "400 Bad Request" : "500 Internal Server Error",
                           bad_sort ? err : "the case list could not be read (see the log)");
        return status;
    }
    char *page = render_html_case_list(list, &page_opts, err, sizeof err);
    json_decref(list);
    if (!page) {
        *ok = send_message(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "500 Internal Server Error", err);
        return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
    *ok = send_page(c, MHD_HTTP_OK, "text/html; charset=utf-8", page);
    return MHD_HTTP_OK;
}

static unsigned route_case(web_server *s, struct MHD_Connection *c, const char *id,
                           enum MHD_Result *ok)
{
    char err[1024];
    PGconn *pg = thread_conn(s, err, sizeof err);
    if (!pg) {
        log_error("web: cannot connect to PostgreSQL", LOG_STR("error", err), LOG_END);
        *ok = send_message(c, MHD_HTTP_SERVICE_UNAVAILABLE, "503 Service Unavailable",
                           "database unreachable");
        return MHD_HTTP_SERVICE_UNAVAILABLE;
    }
    int missing = 0;
    json_t *model = case_report_load(pg, id, NULL, &missing, err, sizeof err);
    if (!model) {
        check_conn(s, pg);
        if (missing) {
            *ok = send_message(c, MHD_HTTP_NOT_FOUND, "404 Not Found", err);
            return MHD_HTTP_NOT_FOUND;
        }
        log_error("web: case page failed", LOG_STR("incident_id", id), LOG_STR("error", err),
                  LOG_END);
        *ok = send_message(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "500 Internal Server Error",
                           "the case could not be read (see the log)");
        return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
    char *page = render_html_case(model, &page_opts, err, sizeof err);
    json_decref(model);
    if (!page) {
        *ok = send_message(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "500 Internal Server Error", err);
        return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
    *ok = send_page(c, MHD_HTTP_OK, "text/html; charset=utf-8", page);
    return MHD_HTTP_OK;
}

static unsigned route_health(web_server *s, struct MHD_Connection *c, enum MHD_Result *ok)
{
    char err[512];
    PGconn *pg = thread_conn(s, err, sizeof err);
    PGresult *res = pg ? pgx_query(pg, "web.health", "SELECT 1", 0, NULL, err, sizeof err) : NULL;
    int up = res != NULL;
    PQclear(res);
    if (!up) check_conn(s, pg);
    unsigned status = up ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
    *ok = send_page(c, status, "text/plain; charset=utf-8",
                    copy(up ? "ok\n" : "database unreachable\n"));
    return status;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **req)
{
    (void)version;
    (void)upload;
    web_server *s = cls;
    /* The first call per request only announces it (headers read); answer on the second. */
    static int announced;
    if (*req != &announced) {
        *req = &announced;
        return MHD_YES;
    }
    *upload_size = 0;
    double t0 = monoclock_ms_exact();
    enum MHD_Result ok;
    unsigned status;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
        ok = send_message(c, status, "405 Method Not Allowed", "read-only: GET and HEAD only");
    } else if (!strcmp(url, "/")) {
        status = route_list(s, c, &ok);
    } else if (!strncmp(url, WEB_CASE_PREFIX, strlen(WEB_CASE_PREFIX)) &&
               url[strlen(WEB_CASE_PREFIX)] != '\0') {
        /* libmicrohttpd hands over the path percent-decoded: the rest is the incident id. */
        status = route_case(s, c, url + strlen(WEB_CASE_PREFIX), &ok);
    } else if (!strcmp(url, "/healthz")) {
        status = route_health(s, c, &ok);
    } else {
        status = MHD_HTTP_NOT_FOUND;
        ok = send_message(c, status, "404 Not Found", "try / for the list of cases");
    }
    double ms = monoclock_ms_exact() - t0;
    log_info("request", LOG_STR("method", method), LOG_STR("path", url), LOG_UINT("status", status),
             LOG_F64("ms", ms), LOG_END);
    return ok;
}

web_server *web_server_start(const web_server_config *cfg, char *err, size_t errlen)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->port)};
    const char *bind = cfg->bind && *cfg->bind ? cfg->bind : "127.0.0.1";
    if (inet_pton(AF_INET, bind, &addr.sin_addr) != 1) {
        snprintf(err, errlen, "web.bind = '%s': not an IPv4 address", bind);
        return NULL;
    }
    web_server *s = calloc(1, sizeof *s);
    if (!s || pthread_key_create(&s->conn_key, close_thread_conn) != 0) {
        free(s);
        snprintf(err, errlen, "web: out of memory");
        return NULL;
    }
    s->conninfo = strdup(cfg->conninfo);
    s->role = copy(cfg->role);
    s->statement_timeout_ms = cfg->statement_timeout_ms;
    s->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
                                 (uint16_t)cfg->port, NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR,
                                 (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE,
                                 (unsigned)(cfg->threads > 0 ? cfg->threads : 1),
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
    if (!s->daemon) {
        snprintf(err, errlen, "web.port = %d: cannot listen on %s:%d (in use?)", cfg->port, bind,
                 cfg->port);
        web_server_stop(s);
        return NULL;
    }
    return s;
}

int web_server_port(const web_server *s)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info ? (int)info->port : -1;
}

void web_server_stop(web_server *s)
{
    if (!s) return;
    if (s->daemon) MHD_stop_daemon(s->daemon); /* joins the pool threads: their conns close */
    pthread_key_delete(s->conn_key);
    free(s->conninfo);
    free(s->role);
    free(s);
}
