/*
 * relayrun: see relayrun.h.
 */
#include "tests/support/relayrun.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/support/httpget.h"
#include "tests/support/promtext.h"
#include "tests/support/workerproc.h"

#define RELAYRUN_MAX_ENV 32

/* Whether the counts in body are the ones wanted. */
static int counted(const char *body, long long relayed, long long failed)
{
    return promtext_component(body, "assess", "mni_outbox_relayed_total") == relayed &&
           (failed < 0 || promtext_component(body, "assess", "mni_outbox_failed_total") == failed);
}

int relayrun(const char *conninfo, const char *bootstrap, const char *group, const char *const *env,
             int idle_ms, int timeout_ms, long long relayed, long long failed, const char *needle)
{
    int port = httpget_free_port();
    char port_env[64], idle[32];
    snprintf(port_env, sizeof port_env, "MNI_METRICS_PORT=%d", port);
    snprintf(idle, sizeof idle, "%d", idle_ms);
    const char *all[RELAYRUN_MAX_ENV + 2] = {port_env};
    size_t n = 1;
    for (size_t i = 0; env && env[i]; i++) {
        if (n > RELAYRUN_MAX_ENV) fail_msg("relayrun: more than %d settings", RELAYRUN_MAX_ENV);
        all[n++] = env[i];
    }
    all[n] = NULL;
    const char *argv[] = {"--exit-when-idle", idle, NULL};
    workerproc w;
    assert_int_equal(workerproc_start(&w, "mni-assess", conninfo, bootstrap, group, all, argv), 0);
    char *body = NULL;
    int ok = 0;
    for (int waited = 0; waited < timeout_ms && !ok; waited += 100) {
        if (httpget(port, "/metrics", &body) == 200) ok = counted(body, relayed, failed);
        free(body);
        body = NULL;
        if (!ok) usleep(100 * 1000);
    }
    int rc = workerproc_wait(&w, timeout_ms);
    if (!ok || rc != 0) {
        workerproc_dump_log(&w);
        fail_msg("mni-assess: metrics %s, exit %d", ok ? "as expected" : "never as expected", rc);
    }
    int count = needle ? workerproc_log_count(&w, needle) : 0;
    unlink(w.log_path);
    return count;
}
