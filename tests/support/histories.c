/*
 * histories: see histories.h.
 */
#include "tests/support/histories.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/base/digest.h"
#include "tests/support/topicio.h"

/* A manifest of 50 tokens with its envelope. */
#define HISTORIES_LINE_MAX (80 * 70 + 1024)

void histories_add(histories_stream *s, const char *line)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        char **grown = realloc(s->line, cap * sizeof *grown);
        assert_non_null(grown);
        s->line = grown;
        s->cap = cap;
    }
    s->line[s->n] = strdup(line);
    assert_non_null(s->line[s->n]);
    s->n++;
}

void histories_event(histories_stream *s, const char *id, const char *incident, int minute,
                     const char *type, const char *body)
{
    static char text[HISTORIES_LINE_MAX];
    snprintf(text, sizeof text,
             "{\"event_id\":\"%s\",\"incident_id\":\"%s\",\"tenant\":\"bpo-test\","
             "\"occurred_at\":\"2026-11-20T%02d:%02d:00+09:00\",\"type\":\"%s\",\"body\":%s}",
             id, incident, 9 + minute / 60, minute % 60, type, body);
    histories_add(s, text);
}

void histories_manifest(histories_stream *s, const histories_shape *shape, const char *id,
                        const char *incident, int minute, const char *client, const char *batch,
                        int first, int count)
{
    static char body[HISTORIES_LINE_MAX];
    int n = snprintf(body, sizeof body, "{\"client_id\":\"%s\",\"batch_id\":\"%s\",\"tokens\":[",
                     client, batch);
    for (int k = 0; k < count; k++) {
        char key[48], tok[DIGEST_SHA256_HEX_LEN];
        int len = snprintf(key, sizeof key, "%s%d", shape->token_prefix, first + k);
        assert_int_equal(digest_sha256_hex(key, (size_t)len, tok), 0);
        n += snprintf(body + n, sizeof body - (size_t)n, "%s\"%s\"", k ? "," : "", tok);
    }
    snprintf(body + n, sizeof body - (size_t)n, "]}");
    histories_event(s, id, incident, minute, "exposure_manifest", body);
}

void histories_step(histories_stream *s, const histories_shape *shape, int step, int incident)
{
    char id[64], inc[32], client[16], batch[32], body[256];
    int minute = step * 7 + incident;
    snprintf(id, sizeof id, "EV-%s-%02d-%02d", shape->tag, incident, step);
    snprintf(inc, sizeof inc, "INC-%s-%02d", shape->tag, incident);
    switch (step) {
    case 0:
        histories_event(s, id, inc, minute, "incident_opened", HISTORIES_OPENED);
        break;
    case 1:
    case 2:
    case 4:
        shape->client(step, incident, client);
        snprintf(batch, sizeof batch, "b-%d", step);
        histories_manifest(s, shape, id, inc, minute, client, batch, incident * 1000 + step * 20,
                           step == 4 ? 50 : 40);
        break;
    case 3:
        shape->client(1, incident, client);
        histories_manifest(s, shape, id, inc, minute, client, "b-1", incident * 1000 + 500, 40);
        break;
    case 5:
        snprintf(body, sizeof body, "{\"client_id\":\"C-X%d\",\"persons\":%d,\"persons_max\":%d%s}",
                 incident, 20 * incident, 30 * incident,
                 incident == 4 ? ",\"client_facts\":{\"public_body\":true,"
                                 "\"local_government\":true,\"appi_persons\":150}"
                               : "");
        histories_event(s, id, inc, minute, "exposure_count", body);
        break;
    case 6:
        if (incident % 2)
            histories_event(s, id, inc, minute, "facts_updated",
                            "{\"improper_purpose\":\"confirmed\"}");
        else
            histories_event(s, id, inc, minute, "report_filed",
                            "{\"report\":\"ppc_preliminary\",\"filed_at\":"
                            "\"2026-11-20T18:00:00+09:00\",\"reference\":\"R-1\"}");
        break;
    case 7:
        if (incident == 3)
            histories_event(s, id, inc, minute, "incident_closed", "{\"reason\":\"closed\"}");
        else
            histories_event(s, id, inc, minute, "response_step_completed",
                            "{\"step\":\"fact_investigation\",\"completed_at\":"
                            "\"2026-11-20T19:00:00+09:00\"}");
        break;
    default:
        fail_msg("histories: no step %d", step);
    }
}

void histories_free(histories_stream *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->line[i]);
    free(s->line);
    *s = (histories_stream){0};
}

void histories_produce(const histories_stream *s, int reverse, const char *bootstrap,
                       const char *topic)
{
    char path[] = "/tmp/mni-histories-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    for (size_t i = 0; i < s->n; i++)
        fprintf(f, "%s\n", s->line[reverse ? s->n - 1 - i : i]);
    fclose(f);
    int sent = topicio_produce_jsonl(bootstrap, topic, path);
    unlink(path);
    assert_int_equal(sent, (int)s->n);
}
