/*
 * obligations: see obligations.h.
 */
#include "assess/obligations.h"

#include <string.h>

static const char *str_or_null(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int files_itself(const json_t *verdict, const char *act, const char *route_key)
{
    const char *status = str_or_null(json_object_get(verdict, act), "status");
    const char *route = str_or_null(verdict, route_key);
    return status && !strcmp(status, "mandatory") && route &&
           (!strcmp(route, "own_report") || !strcmp(route, "direct_report"));
}

static int push(obligation *out, size_t cap, size_t *n, obligation o)
{
    if (*n >= cap) return -1;
    out[(*n)++] = o;
    return 0;
}

int obligations_of(const json_t *verdict, obligation *out, size_t cap, size_t *n)
{
    *n = 0;
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(verdict, "clients"), i, c)
    {
        const char *due = str_or_null(c, "notice_due");
        if (due && push(out, cap, n,
                        (obligation){"client_notice", str_or_null(c, "client_id"), NULL, due}))
            return -1;
    }
    const json_t *d = json_object_get(verdict, "deadlines");
    if (files_itself(verdict, "my_number", "route") ||
        files_itself(verdict, "appi", "appi_route")) {
        if (push(out, cap, n,
                 (obligation){"ppc_preliminary", NULL, str_or_null(d, "preliminary_target"), NULL}))
            return -1;
        /* The My Number final report, else the APPI one, whichever has a day count. */
        const char *final = str_or_null(d, "final");
        if (!final) final = str_or_null(d, "appi_final");
        if (final && push(out, cap, n, (obligation){"ppc_final", NULL, final, NULL})) return -1;
    }
    const char *by = str_or_null(verdict, "principal_notice_by");
    if (json_is_true(json_object_get(verdict, "principal_notice")) && by && !strcmp(by, "self") &&
        push(out, cap, n, (obligation){"principal_notice", NULL, NULL, NULL}))
        return -1;
    return 0;
}

int obligations_contains(const obligation *set, size_t n, const obligation *o)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(set[i].kind, o->kind) != 0) continue;
        if ((set[i].client_id == NULL) != (o->client_id == NULL)) continue;
        if (!o->client_id || !strcmp(set[i].client_id, o->client_id)) return 1;
    }
    return 0;
}
