/*
 * test_config: lib/runtime/config: defaults, the file format, the environment override rule,
 * typed getters and their messages, the prefix iterator, and masking in config_dump.
 *
 * Every case starts from an environment without MNI_* variables (the developer's shell may
 * have sourced .mni-env/env) and writes its config files under a private temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/model/topics.h"
#include "lib/runtime/config.h"

extern char **environ;

static char tmpdir[] = "/tmp/mni-test-config.XXXXXX";

static void clear_mni_env(void)
{
    for (;;) {
        char name[256] = "";
        for (char **e = environ; *e; e++)
            if (!strncmp(*e, "MNI_", 4)) {
                size_t n = strcspn(*e, "=");
                if (n < sizeof name) {
                    memcpy(name, *e, n);
                    name[n] = '\0';
                    break;
                }
            }
        if (!name[0]) return;
        unsetenv(name);
    }
}

static int setup(void **state)
{
    (void)state;
    clear_mni_env();
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes text to <tmpdir>/name and returns the path (static buffer). */
static const char *write_conf(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
    return path;
}

static void defaults(void **state)
{
    (void)state;
    char err[512];
    config *c = config_new();
    assert_non_null(c);
    assert_string_equal(config_get(c, "topic.events"), "incident.events");
    assert_string_equal(config_get(c, "topic.tasks"), "notify.tasks");
    assert_string_equal(config_source(c, "batch.size"), "default");
    assert_null(config_get(c, "kafka.bootstrap.servers"));
    assert_null(config_get(c, "no.such.key"));
    assert_null(config_source(c, "no.such.key"));

    const char *s;
    assert_int_equal(config_get_str(c, "pg.conninfo", &s, err, sizeof err), -1);
    assert_string_equal(err, "pg.conninfo is not set (set it in the config file or "
                             "MNI_PG_CONNINFO)");
    long long v;
    assert_int_equal(config_get_int(c, "batch.size", 1, 100000, &v, err, sizeof err), 0);
    assert_int_equal(v, 500);

    /* A program's own default replaces a built-in one, not a value from elsewhere. */
    assert_int_equal(config_set_default(c, "group.id", "mni-ingest", err, sizeof err), 0);
    assert_string_equal(config_get(c, "group.id"), "mni-ingest");
    assert_int_equal(config_set(c, "group.id", "from-flag", err, sizeof err), 0);
    assert_int_equal(config_set_default(c, "group.id", "mni-assess", err, sizeof err), 0);
    assert_string_equal(config_get(c, "group.id"), "from-flag");
    assert_string_equal(config_source(c, "group.id"), "set");
    assert_int_equal(config_set(c, "Bad.Key", "x", err, sizeof err), -1);
    assert_non_null(strstr(err, "invalid key 'Bad.Key'"));
    config_free(c);
}

static void file_format(void **state)
{
    (void)state;
    char err[512];
    const char *path = write_conf("ok.conf", "# a comment\n"
                                             "\n"
                                             "   # an indented comment\n"
                                             "kafka.bootstrap.servers = broker1:9092,broker2:9092\n"
                                             "pg.conninfo=host=/run/pg port=5432 dbname=mni\n"
                                             "  batch.size   =   1000  \r\n"
                                             "notify.subject = Incident #42 = urgent\n"
                                             "empty.value =\n"
                                             "kafka.security.protocol = ssl");
    config *c = config_new();
    assert_int_equal(config_load_file(c, path, err, sizeof err), 0);
    assert_string_equal(config_get(c, "kafka.bootstrap.servers"), "broker1:9092,broker2:9092");
    assert_string_equal(config_get(c, "pg.conninfo"), "host=/run/pg port=5432 dbname=mni");
    assert_string_equal(config_get(c, "batch.size"), "1000");
    assert_string_equal(config_get(c, "notify.subject"), "Incident #42 = urgent");
    assert_string_equal(config_get(c, "empty.value"), "");
    assert_string_equal(config_get(c, "kafka.security.protocol"), "ssl");
    char want[300];
    snprintf(want, sizeof want, "file %s:6", path);
    assert_string_equal(config_source(c, "batch.size"), want);

    const char *s;
    assert_int_equal(config_get_str(c, "empty.value", &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "empty.value is empty (file "));
    config_free(c);
}

static void file_errors(void **state)
{
    (void)state;
    char err[512];
    struct {
        const char *text, *expect;
    } cases[] = {
        {"batch.size = 1\nno equals sign here\n", ":2: expected 'key = value'"},
        {"batch.size = 1\n\nbatch.size = 2\n", ":3: key batch.size given twice (first at line 1)"},
        {"Batch.Size = 1\n", ":1: invalid key 'Batch.Size'"},
        {" = value\n", ":1: invalid key ''"},
        {".starts.with.dot = 1\n", "invalid key '.starts.with.dot'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "bad%zu.conf", i);
        const char *path = write_conf(name, cases[i].text);
        config *c = config_new();
        assert_int_equal(config_load_file(c, path, err, sizeof err), -1);
        if (!strstr(err, cases[i].expect) || !strstr(err, path))
            fail_msg("case %zu: message '%s' lacks '%s'", i, err, cases[i].expect);
        config_free(c);
    }
    config *c = config_new();
    assert_int_equal(config_load_file(c, "/nonexistent/mni.conf", err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot open config file /nonexistent/mni.conf"));
    config_free(c);
}

static void env_overrides(void **state)
{
    (void)state;
    char err[512];
    const char *path = write_conf("env.conf", "custom.thing = from-file\n"
                                              "kafka.client.id = file-client\n"
                                              "batch.ms = 5\n");
    setenv("MNI_BATCH_SIZE", "42", 1);
    setenv("MNI_CUSTOM_THING", "from-env", 1);
    setenv("MNI_KAFKA_CLIENT_ID", "env-client", 1);
    setenv("MNI_NOT_A_KEY", "ignored", 1);
    setenv("MNI_PG_CONNINFO", "dbname=alias", 1);
    setenv("MNI_KAFKA_BOOTSTRAP", "alias:1", 1);
    setenv("MNI_KAFKA_BOOTSTRAP_SERVERS", "specific:2", 1);
    setenv("MNI_KAFKA_SECURITY_PROTOCOL", "sasl_ssl", 1);
    setenv("MNI_KAFKA_SASL_PASSWORD", "", 1);
    setenv("MNI_CONFIG", path, 1);

    config *c = config_new();
    assert_int_equal(config_load(c, NULL, err, sizeof err), 0);
    assert_string_equal(config_get(c, "batch.size"), "42");
    assert_string_equal(config_source(c, "batch.size"), "env MNI_BATCH_SIZE");
    assert_string_equal(config_get(c, "batch.ms"), "5"); /* from MNI_CONFIG's file */
    assert_string_equal(config_get(c, "custom.thing"), "from-env");
    assert_string_equal(config_get(c, "kafka.client.id"), "env-client");
    assert_null(config_get(c, "not.a.key"));
    assert_string_equal(config_get(c, "pg.conninfo"), "dbname=alias");
    assert_string_equal(config_source(c, "pg.conninfo"), "env MNI_PG_CONNINFO");
    /* The rule-1 name beats the alias. */
    assert_string_equal(config_get(c, "kafka.bootstrap.servers"), "specific:2");
    /* Rule 3: a librdkafka property from the environment alone; "" counts as set. */
    assert_string_equal(config_get(c, "kafka.security.protocol"), "sasl_ssl");
    assert_string_equal(config_get(c, "kafka.sasl.password"), "");
    assert_null(config_get(c, "kafka.bootstrap"));

    /* Typed getters name key, value and source. */
    setenv("MNI_METRICS_PORT", "ten", 1);
    setenv("MNI_GROUP_ID", "g", 1);
    config_free(c);
    c = config_new();
    assert_int_equal(config_load(c, path, err, sizeof err), 0);
    long long v;
    assert_int_equal(config_get_int(c, "metrics.port", 0, 65535, &v, err, sizeof err), -1);
    assert_string_equal(err, "metrics.port = 'ten' (env MNI_METRICS_PORT): not an integer");
    assert_int_equal(config_get_int(c, "batch.size", 100, 200, &v, err, sizeof err), -1);
    assert_string_equal(err, "batch.size = '42' (env MNI_BATCH_SIZE): out of range [100, 200]");
    assert_int_equal(config_get_int(c, "batch.ms", 1, 10, &v, err, sizeof err), 0);
    assert_int_equal(v, 5);
    int b;
    assert_int_equal(config_get_bool(c, "group.id", &b, err, sizeof err), -1);
    assert_non_null(strstr(err, "group.id = 'g' (env MNI_GROUP_ID): not a boolean"));
    config_free(c);

    /* A variable that cannot name a property is an error, not a silent drop. */
    setenv("MNI_KAFKA_bad", "x", 1);
    c = config_new();
    assert_int_equal(config_apply_env(c, err, sizeof err), -1);
    assert_non_null(strstr(err, "MNI_KAFKA_bad"));
    config_free(c);
}

static void typed_values(void **state)
{
    (void)state;
    char err[512];
    config *c = config_new();
    static const char *const good_ints[][2] = {{"0", "0"}, {"-5", "-5"}, {"+7", "7"}};
    for (size_t i = 0; i < 3; i++) {
        long long v;
        assert_int_equal(config_set(c, "n", good_ints[i][0], err, sizeof err), 0);
        assert_int_equal(config_get_int(c, "n", -10, 10, &v, err, sizeof err), 0);
        assert_int_equal(v, atoll(good_ints[i][1]));
    }
    static const char *const bad_ints[] = {
        "", " 1", "1 ", "1.5", "0x10", "-", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad_ints / sizeof bad_ints[0]; i++) {
        long long v;
        assert_int_equal(config_set(c, "n", bad_ints[i], err, sizeof err), 0);
        if (config_get_int(c, "n", LLONG_MIN, LLONG_MAX, &v, err, sizeof err) != -1)
            fail_msg("'%s' was accepted as an integer", bad_ints[i]);
        assert_non_null(strstr(err, "n = '"));
    }
    static const char *const yes[] = {"true", "YES", "On", "1"}, *const no[] = {"false", "no",
                                                                                "OFF", "0"};
    for (size_t i = 0; i < 4; i++) {
        int b = -1;
        config_set(c, "flag", yes[i], err, sizeof err);
        assert_int_equal(config_get_bool(c, "flag", &b, err, sizeof err), 0);
        assert_int_equal(b, 1);
        config_set(c, "flag", no[i], err, sizeof err);
        assert_int_equal(config_get_bool(c, "flag", &b, err, sizeof err), 0);
        assert_int_equal(b, 0);
    }
    config_set(c, "flag", "maybe", err, sizeof err);
    int b;
    assert_int_equal(config_get_bool(c, "flag", &b, err, sizeof err), -1);
    config_free(c);
}

static void prefix_iterator(void **state)
{
    (void)state;
    char err[512];
    config *c = config_new();
    config_set(c, "kafka.security.protocol", "ssl", err, sizeof err);
    config_set(c, "kafka.bootstrap.servers", "b:1", err, sizeof err);
    config_set(c, "kafkaesque", "not under kafka.", err, sizeof err);
    config_set(c, "kafka.acks", "all", err, sizeof err);
    config_set_default(c, "kafka.known.unset", NULL, err, sizeof err);

    config_iter it = config_iter_prefix(c, "kafka.");
    const char *names[8];
    int n = 0;
    while (config_iter_next(&it) && n < 8) {
        assert_int_equal(strncmp(it.key, "kafka.", 6), 0);
        assert_ptr_equal(it.name, it.key + 6);
        names[n++] = it.name;
    }
    assert_int_equal(n, 3);
    assert_string_equal(names[0], "acks");
    assert_string_equal(names[1], "bootstrap.servers");
    assert_string_equal(names[2], "security.protocol");
    assert_int_equal(config_iter_next(&it), 0);

    it = config_iter_prefix(c, "topic.");
    n = 0;
    while (config_iter_next(&it))
        n++;
    assert_int_equal(n, (int)mni_topic_count); /* lib/model/topics.c */
    it = config_iter_prefix(c, "zzz.");
    assert_int_equal(config_iter_next(&it), 0);
    config_free(c);
}

static void dump_masks_secrets(void **state)
{
    (void)state;
    char err[512];
    config *c = config_new();
    config_set(c, "kafka.sasl.password", "hunter2", err, sizeof err);
    config_set(c, "pg.conninfo", "host=db user=mni password=s3cret dbname=mni", err, sizeof err);
    config_set(c, "token.hmac.key", "k3y", err, sizeof err);
    /* Every *conninfo key (mni web's web.conninfo too) is a connection string to mask. */
    config_set(c, "web.conninfo", "host=db user=reader password=w3b dbname=mni", err, sizeof err);
    config_set(c, "notify.webhook.url", "https://mni:h00k@tickets.example/in", err, sizeof err);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(config_dump(c, f), 0);
    fclose(f);
    assert_null(strstr(buf, "hunter2"));
    assert_null(strstr(buf, "s3cret"));
    assert_null(strstr(buf, "k3y"));
    assert_null(strstr(buf, "w3b"));
    assert_null(strstr(buf, "h00k"));
    assert_non_null(
        strstr(buf, "notify.webhook.url = https://mni:****@tickets.example/in  # set\n"));
    assert_non_null(
        strstr(buf, "web.conninfo = user=reader password=**** dbname=mni host=db  # set\n"));
    assert_non_null(strstr(buf, "kafka.sasl.password = ****  # set\n"));
    assert_non_null(
        strstr(buf, "pg.conninfo = user=mni password=**** dbname=mni host=db  # set\n"));
    assert_non_null(strstr(buf, "topic.events = incident.events  # default\n"));
    free(buf);

    /* An '@' after the host is not a user part: nothing to mask. */
    config_set(c, "notify.webhook.url", "https://tickets.example/in?to=ops@example", err,
               sizeof err);
    f = open_memstream(&buf, &len);
    assert_int_equal(config_dump(c, f), 0);
    fclose(f);
    assert_non_null(
        strstr(buf, "notify.webhook.url = https://tickets.example/in?to=ops@example  # set\n"));
    free(buf);
    config_free(c);
}

/* Writes cfg's dump into a new string. */
static char *dump_text(const config *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(config_dump(c, f), 0);
    fclose(f);
    return buf;
}

/* Issue 8 item 9: every form libpq accepts for a password, and librdkafka's secret
 * properties. Each secret holds "s3cret", which must appear nowhere in the dump. */
static void dump_masks_every_conninfo_form(void **state)
{
    (void)state;
    static const struct {
        const char *conninfo, *shown;
    } forms[] = {
        {"host=db user=mni password=s3cret dbname=mni",
         "pg.conninfo = user=mni password=**** dbname=mni host=db  # set\n"},
        /* Spaces around '=' (libpq allows them). */
        {"host=db password = s3cret dbname=mni",
         "pg.conninfo = password=**** dbname=mni host=db  # set\n"},
        /* A second password=: libpq takes the last; both are secrets. */
        {"password=s3cret host=db password=s3cret2",
         "pg.conninfo = password=**** host=db  # set\n"},
        /* Quoted, with an escaped quote and spaces inside. */
        {"host=db password='s3 \\'cret' user=mni",
         "pg.conninfo = user=mni password=**** host=db  # set\n"},
        /* URI: the user part and the query, both at once. */
        {"postgresql://mni:s3cret@db:5432/mni?password=s3cret2&sslmode=require",
         "pg.conninfo = user=mni password=**** dbname=mni host=db port=5432 sslmode=require  # "
         "set\n"},
        {"postgres://mni:s3cret@db/mni",
         "pg.conninfo = user=mni password=**** dbname=mni host=db  # set\n"},
        /* The client key's passphrase is a secret too. */
        {"host=db sslpassword=s3cret", "pg.conninfo = host=db sslpassword=****  # set\n"},
        /* Not parsable: nothing of it is shown. */
        {"host=db password='s3cret", "pg.conninfo = (not shown: not a valid libpq connection"},
        {"postgresql://mni:s3cret@[db", "pg.conninfo = (not shown: not a valid libpq connection"},
    };
    char err[512];
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        config *c = config_new();
        assert_int_equal(config_set(c, "pg.conninfo", forms[i].conninfo, err, sizeof err), 0);
        char *text = dump_text(c);
        if (strstr(text, "s3cret") || !strstr(text, forms[i].shown))
            fail_msg("conninfo form %zu (%s) dumped as:\n%s", i, forms[i].shown, text);
        free(text);
        config_free(c);
    }
    /* libpq prints the options in its own order; a value with a space is quoted the way libpq
     * reads it back. */
    config *c = config_new();
    assert_int_equal(
        config_set(c, "pg.conninfo", "host=db application_name='a b\\'c'", err, sizeof err), 0);
    char *text = dump_text(c);
    assert_non_null(strstr(text, "pg.conninfo = host=db application_name='a b\\'c'  # set\n"));
    free(text);
    config_free(c);
}

static void dump_masks_kafka_secrets(void **state)
{
    (void)state;
    static const char *const secret_keys[] = {
        "kafka.sasl.password",
        "kafka.sasl.oauthbearer.config",
        "kafka.sasl.oauthbearer.client.secret",
        "kafka.ssl.key.password",
        "kafka.ssl.keystore.password",
        "kafka.ssl.key.pem",
        "kafka.ssl_key",
    };
    char err[512];
    config *c = config_new();
    for (size_t i = 0; i < sizeof secret_keys / sizeof secret_keys[0]; i++)
        assert_int_equal(config_set(c, secret_keys[i], "principal=mni s3cret", err, sizeof err), 0);
    assert_int_equal(config_set(c, "kafka.sasl.username", "mni-user", err, sizeof err), 0);
    char *text = dump_text(c);
    assert_null(strstr(text, "s3cret"));
    for (size_t i = 0; i < sizeof secret_keys / sizeof secret_keys[0]; i++) {
        char line[128];
        snprintf(line, sizeof line, "%s = ****  # set\n", secret_keys[i]);
        assert_non_null(strstr(text, line));
    }
    /* Not every kafka.* key is a secret. */
    assert_non_null(strstr(text, "kafka.sasl.username = mni-user  # set\n"));
    free(text);
    config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(defaults, setup),
        cmocka_unit_test_setup(file_format, setup),
        cmocka_unit_test_setup(file_errors, setup),
        cmocka_unit_test_setup(env_overrides, setup),
        cmocka_unit_test_setup(typed_values, setup),
        cmocka_unit_test_setup(prefix_iterator, setup),
        cmocka_unit_test_setup(dump_masks_secrets, setup),
        cmocka_unit_test_setup(dump_masks_every_conninfo_form, setup),
        cmocka_unit_test_setup(dump_masks_kafka_secrets, setup),
    };
    return cmocka_run_group_tests_name("config", tests, group_setup, group_teardown);
}
