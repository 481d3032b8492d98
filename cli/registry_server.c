/*
 * registry_server: see registry_server.h. The SQL is kept as named constants at the top.
 */
#include "cli/registry_server.h"

#include <arpa/inet.h>
#include <avro.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/buf.h"
#include "lib/base/log.h"
#include "lib/base/monoclock.h"
#include "lib/pg/pgx.h"
#include "lib/serdes/registry_client.h"

/* Serialises registrations across servers sharing a database ("mni.registry" in ASCII). */
#define RS_LOCK_SQL "SELECT pg_advisory_xact_lock(7881687431574417529)"

static const char *const find_schema_sql =
    "SELECT id FROM registry_schemas WHERE fingerprint = sha256(convert_to($1, 'UTF8'))";
static const char *const insert_schema_sql =
    "INSERT INTO registry_schemas (fingerprint, canonical, schema)"
    " VALUES (sha256(convert_to($1, 'UTF8')), $1, $2) RETURNING id";
static const char *const find_version_sql =
    "SELECT version FROM registry_versions WHERE subject = $1 AND schema_id = $2::integer";
static const char *const insert_version_sql =
    "INSERT INTO registry_versions (subject, version, schema_id)"
    " SELECT $1, coalesce(max(version), 0) + 1, $2::integer FROM registry_versions"
    " WHERE subject = $1 RETURNING version";
static const char *const lookup_sql =
    "SELECT v.version, v.schema_id, s.schema FROM registry_versions v"
    " JOIN registry_schemas s ON s.id = v.schema_id"
    " WHERE v.subject = $1 AND s.fingerprint = sha256(convert_to($2, 'UTF8'))";
static const char *const subject_exists_sql =
    "SELECT 1 FROM registry_versions WHERE subject = $1 LIMIT 1";
static const char *const subjects_sql =
    "SELECT DISTINCT subject FROM registry_versions ORDER BY subject";
static const char *const versions_sql =
    "SELECT version FROM registry_versions WHERE subject = $1 ORDER BY version";
/* $2: a version, or NULL for the latest. */
static const char *const version_sql =
    "SELECT v.version, v.schema_id, s.schema FROM registry_versions v"
    " JOIN registry_schemas s ON s.id = v.schema_id"
    " WHERE v.subject = $1 AND ($2::integer IS NULL OR v.version = $2::integer)"
    " ORDER BY v.version DESC LIMIT 1";
static const char *const schema_by_id_sql = "SELECT schema FROM registry_schemas WHERE id = $1";

struct registry_server {
    struct MHD_Daemon *daemon;
    char *conninfo;
    PGconn *pg; /* the one request thread's connection */
};

/* A request's body, gathered over the calls libmicrohttpd makes while it arrives. */
typedef struct {
    buf body;
    bool too_long;
} rs_upload;

/* What a handler answers: a JSON body, or raw text (GET /schemas/ids/{id}/schema). */
typedef struct {
    unsigned status;
    json_t *json;
    char *raw;
} rs_reply;

static void rs_error(rs_reply *r, unsigned status, int code, const char *message)
{
    r->status = status;
    json_decref(r->json);
    r->json = json_pack("{s:i,s:s}", "error_code", code, "message", message);
}

static void rs_ok(rs_reply *r, json_t *json)
{
    r->status = MHD_HTTP_OK;
    json_decref(r->json);
    r->json = json;
}

static void rs_store_error(rs_reply *r, const char *why)
{
    log_error("registry store error", LOG_STR("error", why), LOG_END);
    rs_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, 50001, "Error in the backend data store");
}

static PGconn *rs_conn(registry_server *s, char *err, size_t errlen)
{
    if (s->pg != NULL && PQstatus(s->pg) == CONNECTION_OK) return s->pg;
    pgx_close(s->pg);
    s->pg = pgx_connect(s->conninfo, "mni-registry", err, errlen);
    return s->pg;
}

/* A positive integer from a path segment, or -1. */
static long rs_positive(const char *text)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v <= 0 || v > INT32_MAX) return -1;
    return v;
}

/* The schema of a register or lookup body, and its canonical form (both malloc'd); else the
 * reply says why. */
static int rs_read_schema(const rs_upload *up, char **schema, char **canonical, rs_reply *r)
{
    json_error_t jerr;
    json_t *body, *text, *type, *refs;
    avro_schema_t parsed;
    char why[512];

    *schema = *canonical = NULL;
    if (up->too_long) {
        rs_error(r, 422, 42201, "Invalid schema: request body too long");
        return -1;
    }
    body = json_loadb(up->body.data != NULL ? up->body.data : "", up->body.len, 0, &jerr);
    if (body == NULL) {
        snprintf(why, sizeof(why), "Unparseable request body: %s", jerr.text);
        rs_error(r, 422, 422, why);
        return -1;
    }
    text = json_object_get(body, "schema");
    type = json_object_get(body, "schemaType");
    refs = json_object_get(body, "references");
    if (!json_is_string(text) || json_string_length(text) == 0) {
        rs_error(r, 422, 42201, "Invalid schema: no \"schema\" string in the request");
    } else if (type != NULL &&
               !(json_is_string(type) && !strcmp(json_string_value(type), "AVRO"))) {
        rs_error(r, 422, 42201, "Invalid schema: only schemaType AVRO is supported here");
    } else if (refs != NULL && !(json_is_array(refs) && json_array_size(refs) == 0)) {
        rs_error(r, 422, 42201, "Invalid schema: schema references are not supported here");
    } else if ((*canonical = registry_canonical(json_string_value(text), why, sizeof(why))) ==
               NULL) {
        char msg[600];
        snprintf(msg, sizeof(msg), "Invalid schema: %s", why);
        rs_error(r, 422, 42201, msg);
    } else if (avro_schema_from_json_length(json_string_value(text), json_string_length(text),
                                            &parsed) != 0) {
        char msg[600];
        snprintf(msg, sizeof(msg), "Invalid schema: %s", avro_strerror());
        rs_error(r, 422, 42201, msg);
    } else {
        avro_schema_decref(parsed);
        *schema = strdup(json_string_value(text));
    }
    json_decref(body);
    if (*schema == NULL) {
        free(*canonical);
        *canonical = NULL;
        if (r->json == NULL) rs_error(r, 500, 50001, "out of memory");
        return -1;
    }
    return 0;
}

/* One value of a one-row, one-column query, malloc'd, or NULL when no row (*failed says
 * whether the query itself failed). */
static char *rs_scalar(PGconn *pg, const char *name, const char *sql, int n,
                       const char *const *params, bool *failed, char *err, size_t errlen)
{
    PGresult *res = pgx_query(pg, name, sql, n, params, err, errlen);
    char *out = NULL;

    *failed = res == NULL;
    if (res != NULL && PQntuples(res) > 0) {
        out = strdup(PQgetvalue(res, 0, 0));
        *failed = out == NULL;
    }
    PQclear(res);
    return out;
}

/* Finds or adds the schema and its version in the subject, in one locked transaction. */
static int rs_store(PGconn *pg, const char *subject, const char *schema, const char *canonical,
                    int32_t *id, char *err, size_t errlen)
{
    char *id_text = NULL, *version = NULL;
    bool failed = false;

    if (pgx_begin(pg, err, errlen) != 0) return -1;
    if (pgx_exec(pg, "registry.lock", RS_LOCK_SQL, err, errlen) != 0) goto fail;
    const char *p1[] = {canonical, schema};
    id_text = rs_scalar(pg, "registry.find_schema", find_schema_sql, 1, p1, &failed, err, errlen);
    if (failed) goto fail;
    if (id_text == NULL) {
        id_text =
            rs_scalar(pg, "registry.insert_schema", insert_schema_sql, 2, p1, &failed, err, errlen);
        if (id_text == NULL) goto fail;
    }
    const char *p2[] = {subject, id_text};
    version = rs_scalar(pg, "registry.find_version", find_version_sql, 2, p2, &failed, err, errlen);
    if (failed) goto fail;
    if (version == NULL) {
        version = rs_scalar(pg, "registry.insert_version", insert_version_sql, 2, p2, &failed, err,
                            errlen);
        if (version == NULL) goto fail;
    }
    if (pgx_commit(pg, err, errlen) != 0) goto fail;
    *id = (int32_t)strtol(id_text, NULL, 10);
    if (log_enabled(LOG_LEVEL_DEBUG))
        log_debug("schema registered", LOG_STR("subject", subject), LOG_STR("id", id_text),
                  LOG_STR("version", version), LOG_END);
    free(id_text);
    free(version);
    return 0;
fail:
    if (PQstatus(pg) == CONNECTION_OK) pgx_rollback(pg, NULL, 0);
    free(id_text);
    free(version);
    return -1;
}

static void rs_register(registry_server *s, const char *subject, const rs_upload *up, rs_reply *r)
{
    char *schema, *canonical, err[512];
    PGconn *pg;
    int32_t id;

    if (rs_read_schema(up, &schema, &canonical, r) != 0) return;
    pg = rs_conn(s, err, sizeof(err));
    if (pg == NULL || rs_store(pg, subject, schema, canonical, &id, err, sizeof(err)) != 0)
        rs_store_error(r, err);
    else
        rs_ok(r, json_pack("{s:i}", "id", (int)id));
    free(schema);
    free(canonical);
}

/* 40401 when the subject has no version; -1 when the query failed (reply set either way). */
static int rs_subject_missing(PGconn *pg, const char *subject, rs_reply *r)
{
    char err[512];
    bool failed;
    char *one = rs_scalar(pg, "registry.subject_exists", subject_exists_sql, 1, &subject, &failed,
                          err, sizeof(err));

    if (failed) {
        rs_store_error(r, err);
        return -1;
    }
    if (one == NULL) {
        rs_error(r, MHD_HTTP_NOT_FOUND, 40401, "Subject not found.");
        return 1;
    }
    free(one);
    return 0;
}

static json_t *rs_version_object(const char *subject, PGresult *res)
{
    return json_pack("{s:s,s:i,s:i,s:s}", "subject", subject, "version",
                     atoi(PQgetvalue(res, 0, 0)), "id", atoi(PQgetvalue(res, 0, 1)), "schema",
                     PQgetvalue(res, 0, 2));
}

static void rs_lookup(registry_server *s, const char *subject, const rs_upload *up, rs_reply *r)
{
    char *schema, *canonical, err[512];
    PGconn *pg;
    PGresult *res = NULL;

    if (rs_read_schema(up, &schema, &canonical, r) != 0) return;
    pg = rs_conn(s, err, sizeof(err));
    const char *params[] = {subject, canonical};
    if (pg == NULL ||
        (res = pgx_query(pg, "registry.lookup", lookup_sql, 2, params, err, sizeof(err))) == NULL)
        rs_store_error(r, err);
    else if (PQntuples(res) > 0)
        rs_ok(r, rs_version_object(subject, res));
    else if (rs_subject_missing(pg, subject, r) == 0)
        rs_error(r, MHD_HTTP_NOT_FOUND, 40403, "Schema not found");
    PQclear(res);
    free(schema);
    free(canonical);
}

/* The first column of every row as a JSON array (integers when as_int). */
static void rs_list(registry_server *s, const char *name, const char *sql, const char *param,
                    bool as_int, rs_reply *r)
{
    char err[512];
    PGconn *pg = rs_conn(s, err, sizeof(err));
    PGresult *res = NULL;
    json_t *list;

    if (pg == NULL ||
        (res = pgx_query(pg, name, sql, param != NULL ? 1 : 0, &param, err, sizeof(err))) == NULL) {
        rs_store_error(r, err);
        return;
    }
    if (param != NULL && PQntuples(res) == 0) {
        rs_error(r, MHD_HTTP_NOT_FOUND, 40401, "Subject not found.");
    } else {
        list = json_array();
        for (int i = 0; list != NULL && i < PQntuples(res); i++)
            json_array_append_new(list, as_int ? json_integer(atoi(PQgetvalue(res, i, 0)))
                                               : json_string(PQgetvalue(res, i, 0)));
        rs_ok(r, list);
    }
    PQclear(res);
}

static void rs_version(registry_server *s, const char *subject, const char *which, rs_reply *r)
{
    char err[512];
    long v = strcmp(which, "latest") == 0 || strcmp(which, "-1") == 0 ? 0 : rs_positive(which);
    PGconn *pg;
    PGresult *res = NULL;

    if (v < 0) {
        rs_error(r, 422, 42202,
                 "The specified version is not a valid version id. Allowed values are between "
                 "[1, 2^31-1] and the string \"latest\"");
        return;
    }
    pg = rs_conn(s, err, sizeof(err));
    char vtext[24];
    snprintf(vtext, sizeof(vtext), "%ld", v);
    const char *params[] = {subject, v > 0 ? vtext : NULL};
    if (pg == NULL ||
        (res = pgx_query(pg, "registry.version", version_sql, 2, params, err, sizeof(err))) == NULL)
        rs_store_error(r, err);
    else if (PQntuples(res) > 0)
        rs_ok(r, rs_version_object(subject, res));
    else if (rs_subject_missing(pg, subject, r) == 0)
        rs_error(r, MHD_HTTP_NOT_FOUND, 40402, "Version not found.");
    PQclear(res);
}

static void rs_schema_by_id(registry_server *s, const char *id_text, bool raw, rs_reply *r)
{
    char err[512];
    long id = rs_positive(id_text);
    bool failed = false;
    char *schema = NULL;
    PGconn *pg;

    if (id < 0) {
        rs_error(r, MHD_HTTP_NOT_FOUND, 40403, "Schema not found");
        return;
    }
    pg = rs_conn(s, err, sizeof(err));
    if (pg != NULL)
        schema = rs_scalar(pg, "registry.schema_by_id", schema_by_id_sql, 1, &id_text, &failed, err,
                           sizeof(err));
    if (pg == NULL || failed) {
        rs_store_error(r, err);
    } else if (schema == NULL) {
        rs_error(r, MHD_HTTP_NOT_FOUND, 40403, "Schema not found");
    } else if (raw) {
        r->status = MHD_HTTP_OK;
        r->raw = schema;
        return;
    } else {
        rs_ok(r, json_pack("{s:s}", "schema", schema));
    }
    free(schema);
}

/* Splits path into at most 5 '/'-separated segments (in place); their count, or -1. */
static int rs_split(char *path, char **seg)
{
    char *save = NULL;
    int n = 0;

    for (char *t = strtok_r(path, "/", &save); t != NULL; t = strtok_r(NULL, "/", &save)) {
        if (n == 5) return -1;
        seg[n++] = t;
    }
    return n;
}

static void rs_route(registry_server *s, const char *method, const char *url, const rs_upload *up,
                     rs_reply *r)
{
    char path[1024], *seg[5] = {0};
    bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD"), post = !strcmp(method, "POST");
    int n = strlen(url) < sizeof(path) ? rs_split(strcpy(path, url), seg) : -1;
    bool subjects = n >= 1 && !strcmp(seg[0], "subjects");
    bool versions = subjects && n >= 3 && !strcmp(seg[2], "versions");
    bool ids = n >= 3 && !strcmp(seg[0], "schemas") && !strcmp(seg[1], "ids") &&
               (n == 3 || (n == 4 && !strcmp(seg[3], "schema")));

    if (n == 0 && get) {
        rs_ok(r, json_object());
        return;
    }
    if (n == 1 && !strcmp(seg[0], "config") && get) {
        rs_ok(r, json_pack("{s:s}", "compatibilityLevel", "NONE"));
        return;
    }
    if (n == 1 && subjects && get) {
        rs_list(s, "registry.subjects", subjects_sql, NULL, false, r);
        return;
    }
    if (n == 2 && subjects && post) {
        rs_lookup(s, seg[1], up, r);
        return;
    }
    if (n == 3 && versions && post) {
        rs_register(s, seg[1], up, r);
        return;
    }
    if (n == 3 && versions && get) {
        rs_list(s, "registry.versions", versions_sql, seg[1], true, r);
        return;
    }
    if (n == 4 && versions && get) {
        rs_version(s, seg[1], seg[3], r);
        return;
    }
    if (ids && get) {
        rs_schema_by_id(s, seg[2], n == 4, r);
        return;
    }
    if ((subjects && n <= 2) || (versions && n <= 4) || ids) {
        rs_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, 405, "HTTP 405 Method Not Allowed");
        return;
    }
    rs_error(r, MHD_HTTP_NOT_FOUND, 404, "HTTP 404 Not Found");
}

static enum MHD_Result rs_send(struct MHD_Connection *c, rs_reply *r)
{
    char *body = r->raw != NULL ? r->raw : json_dumps(r->json, JSON_COMPACT | JSON_ENCODE_ANY);
    struct MHD_Response *resp;
    enum MHD_Result ok;

    r->raw = NULL;
    if (body == NULL) return MHD_NO;
    resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", REGISTRY_CONTENT_TYPE);
    ok = MHD_queue_response(c, r->status, resp);
    MHD_destroy_response(resp);
    return ok;
}

static enum MHD_Result rs_handle(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *data,
                                 size_t *data_size, void **con_cls)
{
    registry_server *s = cls;
    rs_upload *up = *con_cls;
    rs_reply r = {0};
    enum MHD_Result ok;
    (void)version;

    if (up == NULL) { /* the headers: make room for the body */
        up = calloc(1, sizeof(*up));
        if (up == NULL) return MHD_NO;
        buf_init(&up->body, REGISTRY_SERVER_MAX_BODY);
        *con_cls = up;
        return MHD_YES;
    }
    if (*data_size > 0) { /* a piece of the body */
        if (!up->too_long && up->body.len + *data_size <= REGISTRY_SERVER_MAX_BODY) {
            if (buf_putn(&up->body, data, *data_size) != 0) return MHD_NO;
        } else {
            up->too_long = true;
        }
        *data_size = 0;
        return MHD_YES;
    }
    double t0 = monoclock_ms_exact();
    rs_route(s, method, url, up, &r);
    if (r.status == MHD_HTTP_INTERNAL_SERVER_ERROR && s->pg != NULL &&
        PQstatus(s->pg) != CONNECTION_OK) {
        /* The connection died under us (a PostgreSQL restart): nothing was committed, so the
         * request runs once more on a new one. */
        json_decref(r.json);
        free(r.raw);
        r = (rs_reply){0};
        rs_route(s, method, url, up, &r);
    }
    ok = rs_send(c, &r);
    json_decref(r.json);
    log_info("request", LOG_STR("method", method), LOG_STR("path", url),
             LOG_UINT("status", r.status), LOG_F64("ms", monoclock_ms_exact() - t0), LOG_END);
    return ok;
}

static void rs_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
    rs_upload *up = *con_cls;
    (void)cls;
    (void)c;
    (void)code;
    if (up != NULL) buf_free(&up->body);
    free(up);
    *con_cls = NULL;
}

registry_server *registry_server_start(const registry_server_config *cfg, char *err, size_t errlen)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->port)};
    const char *bind = cfg->bind != NULL && cfg->bind[0] != '\0' ? cfg->bind : "127.0.0.1";
    registry_server *s;

    if (inet_pton(AF_INET, bind, &addr.sin_addr) != 1) {
        snprintf(err, errlen, "registry.bind = '%s': not an IPv4 address", bind);
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL || (s->conninfo = strdup(cfg->conninfo)) == NULL) {
        free(s);
        snprintf(err, errlen, "registry: out of memory");
        return NULL;
    }
    /* Connect once now: a wrong conninfo or an unmigrated database is a start-up error. */
    if (rs_conn(s, err, errlen) == NULL ||
        pgx_exec(s->pg, "registry.check", "SELECT 1 FROM registry_schemas LIMIT 1", err, errlen) !=
            0) {
        registry_server_stop(s);
        return NULL;
    }
    s->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, (uint16_t)cfg->port, NULL, NULL,
        rs_handle, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED,
        rs_completed, s, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
    if (s->daemon == NULL) {
        snprintf(err, errlen, "registry.port = %d: cannot listen on %s:%d (in use?)", cfg->port,
                 bind, cfg->port);
        registry_server_stop(s);
        return NULL;
    }
    return s;
}

int registry_server_port(const registry_server *s)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info != NULL ? (int)info->port : -1;
}

void registry_server_stop(registry_server *s)
{
    if (s == NULL) return;
    if (s->daemon != NULL) MHD_stop_daemon(s->daemon);
    pgx_close(s->pg);
    free(s->conninfo);
    free(s);
}
