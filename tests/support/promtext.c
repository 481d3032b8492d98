/*
 * promtext: see promtext.h.
 */
#include "tests/support/promtext.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/support/httpget.h"

long long promtext_sample(const char *body, const char *series)
{
    char key[512];
    snprintf(key, sizeof key, "\n%s ", series);
    const char *at = strstr(body, key);
    return at ? atoll(at + strlen(key)) : -1;
}

long long promtext_component(const char *body, const char *component, const char *name)
{
    char series[256];
    snprintf(series, sizeof series, "%s{component=\"%s\"}", name, component);
    return promtext_sample(body, series);
}

long long promtext_scrape(int port, const char *series)
{
    char *body = NULL;
    assert_int_equal(httpget(port, "/metrics", &body), 200);
    long long v = promtext_sample(body, series);
    free(body);
    return v;
}
