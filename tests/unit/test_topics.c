/*
 * test_topics: the topic table (lib/model/topics.h) is the one definition of the pipeline's
 * topics; what cannot include it is checked against it here: the configuration's defaults,
 * deploy/create-topics.sh (name, partitions, compaction), deploy/mni.conf (topic.* keys), the
 * schema of each record, and the embedded cluster's --topics list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/model/topics.h"
#include "lib/runtime/config.h"
#include "tests/support/testdata.h"

static void config_defaults_come_from_the_table(void **state)
{
    (void)state;
    config *cfg = config_new();
    assert_non_null(cfg);
    for (size_t i = 0; i < mni_topic_count; i++) {
        char key[64];
        snprintf(key, sizeof key, "topic.%s", mni_topics[i].logical);
        const char *v = config_get(cfg, key);
        assert_non_null(v);
        assert_string_equal(v, mni_topics[i].name);
        assert_ptr_equal(mni_topic_find(mni_topics[i].logical), &mni_topics[i]);
    }
    assert_null(mni_topic_find("nope"));
    config_free(cfg);
}

/* Each `create NAME PARTITIONS [...]` line of create-topics.sh names a topic of the table with
 * its partitions and, for a compacted one, cleanup.policy=compact; every topic is created. */
static void create_topics_matches_the_table(void **state)
{
    (void)state;
    char *text = testdata_read("deploy/create-topics.sh", NULL);
    assert_non_null(text);
    size_t created = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char name[256];
        int partitions = 0;
        if (sscanf(line, "create %255s %d", name, &partitions) != 2) continue;
        const mni_topic *t = NULL;
        for (size_t i = 0; i < mni_topic_count; i++)
            if (!strcmp(mni_topics[i].name, name)) t = &mni_topics[i];
        if (!t)
            fail_msg("create-topics.sh creates %s, which lib/model/topics.c does not know", name);
        assert_int_equal(partitions, t->partitions);
        assert_int_equal(strstr(line, "cleanup.policy=compact") != NULL, t->compacted);
        created++;
    }
    assert_int_equal(created, mni_topic_count);
    free(text);
}

static void mni_conf_names_every_topic(void **state)
{
    (void)state;
    char *text = testdata_read("deploy/mni.conf", NULL);
    assert_non_null(text);
    for (size_t i = 0; i < mni_topic_count; i++) {
        char want[128];
        snprintf(want, sizeof want, "\ntopic.%s = %s\n", mni_topics[i].logical, mni_topics[i].name);
        if (!strstr(text, want))
            fail_msg("deploy/mni.conf lacks the line: topic.%s = %s", mni_topics[i].logical,
                     mni_topics[i].name);
    }
    free(text);
}

static void every_record_has_its_schema(void **state)
{
    (void)state;
    for (size_t i = 0; i < mni_topic_count; i++) {
        if (!strcmp(mni_topics[i].record, "(any)") || !strcmp(mni_topics[i].record, "(JSON)"))
            continue;
        char path[256];
        snprintf(path, sizeof path, "schemas/%s.avsc", mni_topics[i].record);
        char *text = testdata_read(path, NULL);
        if (!text) fail_msg("%s: no schema %s", mni_topics[i].name, path);
        free(text);
    }
}

static void mock_cluster_list(void **state)
{
    (void)state;
    char list[512];
    assert_int_equal(mni_topics_list(list, sizeof list), 0);
    assert_non_null(strstr(list, "incident.events:6"));
    assert_non_null(strstr(list, "case.assessments:6"));
    char small[8];
    assert_int_equal(mni_topics_list(small, sizeof small), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_defaults_come_from_the_table),
        cmocka_unit_test(create_topics_matches_the_table),
        cmocka_unit_test(mni_conf_names_every_topic),
        cmocka_unit_test(every_record_has_its_schema),
        cmocka_unit_test(mock_cluster_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
