/*
 * eventcheck: see eventcheck.h.
 */
#include "tests/support/eventcheck.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "lib/model/events_json.h"

void eventcheck_assert_same(const mni_event *a, const mni_event *b)
{
    char ea[512] = "", eb[512] = "";
    char *ja = mni_event_to_json_text(a, ea, sizeof ea);
    char *jb = mni_event_to_json_text(b, eb, sizeof eb);
    assert_non_null(ja);
    assert_non_null(jb);
    assert_string_equal(ja, jb);
    free(ja);
    free(jb);
    assert_int_equal(a->type, b->type);
    if (a->type != MNI_EVENT_EXPOSURE_MANIFEST) return;
    assert_int_equal(a->body.manifest.n_tokens, b->body.manifest.n_tokens);
    assert_int_equal(a->body.manifest.contract_notice_hours,
                     b->body.manifest.contract_notice_hours);
    for (size_t i = 0; i < a->body.manifest.n_tokens; i++)
        assert_string_equal(a->body.manifest.tokens[i], b->body.manifest.tokens[i]);
}
