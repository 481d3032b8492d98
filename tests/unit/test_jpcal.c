/*
 * Unit tests of rules/jpcal: date arithmetic, parsing and formatting, national holidays,
 * closed days of government and the next open day.
 *
 * The holiday rules are checked two ways. First against the published list of every holiday
 * 1970-2027 (tests/data/jp-holidays-1970-2027.txt, the Cabinet Office list as spelled by
 * holiday_jp, a copy of the project's shared data kept as a test fixture so that a clone alone
 * passes its tests), read at run time and compared day by day. The code never reads it: the
 * holidays are computed from the Act. Its folder is $MNI_SHARED_DATA when set, else tests/data
 * relative to the current directory (the repository root when the tests run). Then by tables of
 * single days, each citing the rule it exercises, for what the list does not cover: the years
 * 1948-1969 and 2028-2099 and the edges of the computed range.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first. */
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/jpcal.h"
#include "tests/support/testdata.h"

#define REFERENCE_FILE "jp-holidays-1970-2027.txt"

static jpcal_day day_of(const char *text)
{
    jpcal_day d = 0;
    if (!jpcal_parse(text, &d)) fail_msg("test table holds an invalid date: %s", text);
    return d;
}

/* ------------------------------------------------------------------------------------------ */
/* The published list, day by day                                                             */

/* Reads the whole list into memory; the caller frees the returned buffer. Fails the test with
 * the path and the reason when the file cannot be read. */
static char *read_reference(void)
{
    const char *dir = getenv("MNI_SHARED_DATA");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "tests/data", REFERENCE_FILE);
    errno = 0;
    char *buf = testdata_read(path, NULL);
    if (!buf)
        fail_msg("cannot read the holiday list %s: %s (set MNI_SHARED_DATA to the folder that "
                 "holds %s)",
                 path, errno ? strerror(errno) : "unknown error", REFERENCE_FILE);
    return buf;
}

static void test_every_day_1970_2027_matches_the_published_list(void **state)
{
    (void)state;
    const jpcal_day first = day_of("1970-01-01"), last = day_of("2027-12-31");
    const size_t ndays = (size_t)(last - first + 1);
    const char **expected = calloc(ndays, sizeof *expected);
    assert_non_null(expected);
    char *buf = read_reference();

    /* Lines are "YYYY-MM-DD name"; the name runs to the end of the line and may hold a space
     * ("元日 振替休日"). Lines starting with '#' are comments. */
    int listed = 0, lineno = 0;
    char *next;
    for (char *line = buf; line; line = next) {
        lineno++;
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r') line[--len] = '\0';
        if (len == 0 || line[0] == '#') continue;
        jpcal_day d;
        if (len < 12 || line[10] != ' ')
            fail_msg("%s line %d: want 'YYYY-MM-DD name': %s", REFERENCE_FILE, lineno, line);
        line[10] = '\0';
        if (!jpcal_parse(line, &d) || d < first || d > last)
            fail_msg("%s line %d: date outside 1970..2027 or invalid: %s", REFERENCE_FILE, lineno,
                     line);
        expected[d - first] = line + 11;
        listed++;
    }
    /* Guards against comparing with an empty or truncated list (58 years, about 16 a year). */
    assert_true(listed > 900);

    int mismatches = 0;
    for (jpcal_day d = first; d <= last; d++) {
        const char *want = expected[d - first];
        const char *got = jpcal_holiday_name(d);
        if ((want == NULL) != (got == NULL) || (want && strcmp(want, got) != 0)) {
            char text[11];
            jpcal_format(d, text);
            print_error("%s: list says %s, jpcal says %s\n", text, want ? want : "(none)",
                        got ? got : "(none)");
            mismatches++;
        }
        assert_true(jpcal_is_holiday(d) == (got != NULL));
    }
    free(buf);
    free(expected);
    assert_int_equal(mismatches, 0);
}

/* ------------------------------------------------------------------------------------------ */
/* Day numbers                                                                                 */

static const struct {
    int y, m, d;
    jpcal_day day;
    int weekday;
} conversion_cases[] = {
    {1970, 1, 1, 0, 4},       /* the epoch, a Thursday */
    {1969, 12, 31, -1, 3},    /* the first negative day */
    {1948, 7, 20, -7835, 2},  /* the Act's first day, a Tuesday */
    {1900, 1, 1, -25567, 1},  /* 1900 is not a leap year */
    {2000, 2, 29, 11016, 2},  /* 2000 is (divisible by 400) */
    {2000, 3, 1, 11017, 3},   /* the day after 2000's leap day */
    {1600, 3, 1, -135080, 3}, /* a 400-year era boundary */
    {1, 1, 1, -719162, 1},    /* year 1 of the proleptic calendar */
    {2099, 12, 31, 47481, 4}, /* the last computed day */
    {2100, 1, 4, 47485, 1},   /* 2100 is not a leap year either */
};

static void test_conversion_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof conversion_cases / sizeof conversion_cases[0]; i++) {
        int y, m, d;
        assert_int_equal(
            jpcal_from_ymd(conversion_cases[i].y, conversion_cases[i].m, conversion_cases[i].d),
            conversion_cases[i].day);
        jpcal_to_ymd(conversion_cases[i].day, &y, &m, &d);
        assert_int_equal(y, conversion_cases[i].y);
        assert_int_equal(m, conversion_cases[i].m);
        assert_int_equal(d, conversion_cases[i].d);
        assert_int_equal(jpcal_weekday(conversion_cases[i].day), conversion_cases[i].weekday);
    }
}

/* Every day in about ±2700 years around the epoch converts to a valid date and back, each day
 * is the day after the one before, and weekdays cycle. */
static void test_round_trip_and_continuity(void **state)
{
    (void)state;
    int py, pm, pd;
    jpcal_to_ymd(-1000001, &py, &pm, &pd);
    for (jpcal_day day = -1000000; day <= 1000000; day++) {
        int y, m, d;
        jpcal_to_ymd(day, &y, &m, &d);
        assert_int_equal(jpcal_from_ymd(y, m, d), day);
        if (d == 1) {
            assert_true(m == pm + 1 || (m == 1 && pm == 12 && y == py + 1));
        } else {
            assert_int_equal(d, pd + 1);
            assert_int_equal(m, pm);
        }
        assert_int_equal(jpcal_weekday(day), (jpcal_weekday(day - 1) + 1) % 7);
        py = y, pm = m, pd = d;
    }
}

static void test_leap_years(void **state)
{
    (void)state;
    assert_int_equal(jpcal_from_ymd(1900, 3, 1) - jpcal_from_ymd(1900, 2, 28), 1);
    assert_int_equal(jpcal_from_ymd(2000, 3, 1) - jpcal_from_ymd(2000, 2, 28), 2);
    assert_int_equal(jpcal_from_ymd(2024, 3, 1) - jpcal_from_ymd(2024, 2, 28), 2);
    assert_int_equal(jpcal_from_ymd(2100, 3, 1) - jpcal_from_ymd(2100, 2, 28), 1);
    assert_int_equal(jpcal_from_ymd(2001, 1, 1) - jpcal_from_ymd(2000, 1, 1), 366);
    assert_int_equal(jpcal_from_ymd(1901, 1, 1) - jpcal_from_ymd(1900, 1, 1), 365);
}

/* ------------------------------------------------------------------------------------------ */
/* Parsing and formatting                                                                     */

static const char *const valid_dates[] = {
    "1970-01-01", "1969-12-31", "2000-02-29", "2024-02-29", "1948-07-20",
    "2099-12-31", "0001-01-01", "9999-12-31", "2023-04-30", "2023-12-31",
};

static const char *const invalid_dates[] = {
    "2023-02-29",  /* not a leap year */
    "1900-02-29",  /* century, not a leap year */
    "2023-13-01",  /* no month 13 */
    "2023-00-10",  /* no month 0 */
    "2023-01-00",  /* no day 0 */
    "2023-01-32",  /* January has 31 days */
    "2023-04-31",  /* April has 30 */
    "2023-1-01",   /* month needs two digits */
    "2023-01-1",   /* day needs two digits */
    "2023-01-01x", /* trailing junk */
    "2023-01-01 ", /* trailing space */
    " 2023-01-01", /* leading space */
    "2023/01/01",  /* wrong separator */
    "20230101",    /* no separators */
    "+023-01-01",  /* sign instead of a digit */
    "abcd-ef-gh",  /* not digits */
    "2023-01-",    /* truncated */
    "",            /* empty */
};

static void test_parse_and_format(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof valid_dates / sizeof valid_dates[0]; i++) {
        jpcal_day d;
        char text[11];
        assert_true(jpcal_parse(valid_dates[i], &d));
        jpcal_format(d, text);
        assert_string_equal(text, valid_dates[i]);
    }
    for (size_t i = 0; i < sizeof invalid_dates / sizeof invalid_dates[0]; i++) {
        jpcal_day d = 12345;
        if (jpcal_parse(invalid_dates[i], &d))
            fail_msg("accepted invalid date '%s'", invalid_dates[i]);
        assert_int_equal(d, 12345); /* output untouched on failure */
    }
    assert_false(jpcal_parse(NULL, &(jpcal_day){0}));
}

static void test_format_negative_and_extreme_days(void **state)
{
    (void)state;
    char text[11];
    jpcal_format(-1, text);
    assert_string_equal(text, "1969-12-31");
    jpcal_format(jpcal_from_ymd(-1, 12, 31) + 1, text);
    assert_string_equal(text, "0000-01-01");
    /* Years that need more than four digits are not printed wrongly; the buffer stays 11
     * bytes. */
    jpcal_format(INT32_MIN, text);
    assert_int_equal(strlen(text), 10);
    assert_memory_equal(text, "\?\?\?\?-", 5);
    jpcal_format(INT32_MAX, text);
    assert_int_equal(strlen(text), 10);
    assert_memory_equal(text, "\?\?\?\?-", 5);
}

/* ------------------------------------------------------------------------------------------ */
/* Holidays outside and at the edges of the published list                                    */

static const struct {
    const char *date;
    const char *name; /* NULL: not a holiday */
    const char *why;
} holiday_cases[] = {
    /* Range: nothing before the Act took effect on 1948-07-20, nothing after 2099. */
    {"1947-11-03", NULL, "before JPCAL_FIRST_YEAR"},
    {"1948-01-01", NULL, "1948 before the Act"},
    {"1948-05-05", NULL, "1948 before the Act"},
    {"1948-07-20", NULL, "the day the Act took effect is no holiday"},
    {"1948-09-23", "秋分の日", "first holiday under the Act (equinox formula)"},
    {"1948-11-03", "文化の日", "Art. 2 (1948)"},
    {"1948-11-23", "勤労感謝の日", "Art. 2 (1948)"},
    {"1949-01-01", "元日", "Art. 2 (1948)"},
    {"1949-01-15", "成人の日", "Art. 2 (1948)"},
    {"1949-03-21", "春分の日", "equinox formula, 1900-1979 constants"},
    {"2100-01-01", NULL, "after JPCAL_LAST_YEAR"},
    {"2100-03-20", NULL, "after JPCAL_LAST_YEAR"},
    /* 1948-1969, checked against the Cabinet Office list from 1955. */
    {"1955-09-24", "秋分の日", "equinox: (Y-1983)/4 truncates toward zero"},
    {"1960-03-20", "春分の日", "equinox formula"},
    {"1963-09-24", "秋分の日", "equinox formula"},
    {"1966-02-11", NULL, "建国記念の日 only from 1967"},
    {"1966-09-15", "敬老の日", "1966 amendment"},
    {"1966-10-10", "体育の日", "1966 amendment"},
    {"1967-02-11", "建国記念の日", "1966 amendment, from 1967"},
    {"1972-04-30", NULL, "Sunday holiday before substitutes existed"},
    {"1973-04-30", "天皇誕生日 振替休日", "Art. 3(2), first substitute day"},
    /* One-off days of the special acts. */
    {"1959-04-10", "結婚の儀", "昭和34年法律第16号"},
    {"1989-02-24", "大喪の礼", "平成元年法律第4号"},
    {"1990-11-12", "即位礼正殿の儀", "平成2年法律第24号"},
    {"1993-06-09", "結婚の儀", "平成5年法律第32号"},
    {"2019-04-30", "休日", "Art. 3(3), between 昭和の日 and the deemed holiday"},
    {"2019-05-01", "休日（祝日扱い）", "平成30年法律第99号"},
    {"2019-05-02", "休日", "Art. 3(3)"},
    {"2019-10-22", "休日（祝日扱い）", "平成30年法律第99号"},
    {"2019-12-23", NULL, "no 天皇誕生日 in 2019"},
    {"2019-02-23", NULL, "no 天皇誕生日 in 2019"},
    {"2020-02-23", "天皇誕生日", "from 2020"},
    /* Citizens' holidays. */
    {"1985-05-04", NULL, "before the 1985 amendment (and a Saturday)"},
    {"1988-05-04", "休日", "Art. 3(3), first citizens' holiday"},
    {"2006-05-04", "休日", "Art. 3(3), before みどりの日 moved to 5/4"},
    {"2015-09-22", "休日", "Art. 3(3), between 敬老の日 and 秋分の日"},
    {"2026-09-22", "休日", "Art. 3(3), between 敬老の日 and 秋分の日"},
    {"2099-09-22", "休日", "Art. 3(3), computed"},
    /* Substitute holidays. */
    {"1987-05-04", "憲法記念日 振替休日", "Art. 3(2) before 2007: the Monday"},
    {"2008-05-06", "こどもの日 振替休日", "Art. 3(2) from 2007: after the run"},
    {"2020-05-06", "憲法記念日 振替休日", "the list's own spelling for 2020"},
    {"2021-08-09", "山の日 振替休日", "after the Olympic move to Sunday 8/8"},
    {"2027-03-21", "春分の日", "vernal equinox on a Sunday"},
    {"2027-03-22", "春分の日 振替休日", "its substitute"},
    {"2033-03-20", "春分の日", "vernal equinox on a Sunday, after the list"},
    {"2033-03-21", "春分の日 振替休日", "its substitute"},
    {"2029-09-23", "秋分の日", "autumnal equinox on a Sunday"},
    {"2029-09-24", "秋分の日 振替休日", "its substitute"},
    /* Olympic moves. */
    {"2020-07-24", "スポーツの日", "Olympics act"},
    {"2020-10-12", NULL, "スポーツの日 moved to July"},
    {"2021-10-11", NULL, "スポーツの日 moved to July"},
    {"2022-10-10", "スポーツの日", "second Monday again"},
    /* After the list: equinoxes by the formula, Happy Monday days. */
    {"2030-03-20", "春分の日", "equinox formula"},
    {"2030-09-23", "秋分の日", "equinox formula"},
    {"2099-03-20", "春分の日", "equinox formula"},
    {"2099-03-21", NULL, "not the equinox in 2099"},
    {"2099-09-23", "秋分の日", "equinox formula"},
    {"2099-12-23", NULL, "天皇誕生日 is 2/23"},
    {"2099-02-23", "天皇誕生日", "from 2020"},
    {"2099-05-06", "こどもの日 振替休日", "5/3 on a Sunday"},
    {"2099-10-12", "スポーツの日", "second Monday"},
};

static void test_holiday_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof holiday_cases / sizeof holiday_cases[0]; i++) {
        const char *got = jpcal_holiday_name(day_of(holiday_cases[i].date));
        const char *want = holiday_cases[i].name;
        if ((want == NULL) != (got == NULL) || (want && strcmp(want, got) != 0))
            fail_msg("%s (%s): want %s, got %s", holiday_cases[i].date, holiday_cases[i].why,
                     want ? want : "(none)", got ? got : "(none)");
    }
}

/* Golden Week 2026: 4/29 Wednesday, then 5/3 falls on a Sunday, so the substitute lands on
 * 5/6, the first day after the run 5/3-5/5 (Art. 3(2) as amended in 2005). */
static void test_golden_week_2026(void **state)
{
    (void)state;
    static const struct {
        const char *date;
        const char *name;
        bool closed;
    } days[] = {
        {"2026-04-28", NULL, false},        {"2026-04-29", "昭和の日", true},
        {"2026-04-30", NULL, false},        {"2026-05-01", NULL, false},
        {"2026-05-02", NULL, true}, /* Saturday */
        {"2026-05-03", "憲法記念日", true}, {"2026-05-04", "みどりの日", true},
        {"2026-05-05", "こどもの日", true}, {"2026-05-06", "こどもの日 振替休日", true},
        {"2026-05-07", NULL, false},
    };
    for (size_t i = 0; i < sizeof days / sizeof days[0]; i++) {
        jpcal_day d = day_of(days[i].date);
        const char *got = jpcal_holiday_name(d);
        if (days[i].name)
            assert_string_equal(got, days[i].name);
        else
            assert_null(got);
        assert_true(jpcal_is_closed(d) == days[i].closed);
    }
    assert_int_equal(jpcal_next_open(day_of("2026-05-02")), day_of("2026-05-07"));
}

/* ------------------------------------------------------------------------------------------ */
/* Closed days and the next open day                                                          */

static const struct {
    const char *date;
    bool closed;
    const char *why;
} closed_cases[] = {
    {"2023-12-28", false, "Thursday before the year-end closure"},
    {"2023-12-29", true, "Dec 29 (Art. 1(1)(iii))"},
    {"2023-12-30", true, "Dec 30, also a Saturday"},
    {"2023-12-31", true, "Dec 31, also a Sunday"},
    {"2024-01-01", true, "元日"},
    {"2024-01-02", true, "Jan 2"},
    {"2024-01-03", true, "Jan 3"},
    {"2024-01-04", false, "Thursday after the closure"},
    {"2024-06-08", true, "Saturday"},
    {"2024-06-09", true, "Sunday"},
    {"2024-06-10", false, "Monday"},
    {"2026-09-22", true, "citizens' holiday"},
    {"2027-03-22", true, "substitute holiday"},
    {"2100-12-29", true, "year-end closure outside the holiday range"},
    {"2100-01-04", false, "Monday outside the holiday range"},
    {"1900-01-02", true, "year-end closure outside the holiday range"},
};

static void test_closed_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof closed_cases / sizeof closed_cases[0]; i++)
        if (jpcal_is_closed(day_of(closed_cases[i].date)) != closed_cases[i].closed)
            fail_msg("%s (%s): want %s", closed_cases[i].date, closed_cases[i].why,
                     closed_cases[i].closed ? "closed" : "open");
}

static const struct {
    const char *from, *open;
} next_open_cases[] = {
    {"2023-12-28", "2023-12-28"}, /* open days are their own answer */
    {"2023-12-29", "2024-01-04"}, /* across the year end */
    {"2025-12-27", "2026-01-05"}, /* Saturday into the closure, Jan 3-4 weekend */
    {"2026-04-29", "2026-04-30"}, /* one holiday */
    {"2019-04-27", "2019-05-07"}, /* the ten days of Golden Week 2019 */
    {"2026-09-19", "2026-09-24"}, /* the September run with its citizens' holiday */
    {"2027-03-20", "2027-03-23"}, /* Saturday, Sunday equinox, its substitute */
    {"2099-12-29", "2100-01-04"}, /* out of the holiday range: weekends and closure only */
};

static void test_next_open_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof next_open_cases / sizeof next_open_cases[0]; i++) {
        jpcal_day got = jpcal_next_open(day_of(next_open_cases[i].from));
        char text[11];
        jpcal_format(got, text);
        if (got != day_of(next_open_cases[i].open))
            fail_msg("next open from %s: want %s, got %s", next_open_cases[i].from,
                     next_open_cases[i].open, text);
    }
}

/* The next open day is open, and every day between is closed, over the whole range. */
static void test_next_open_is_first_open_day(void **state)
{
    (void)state;
    for (jpcal_day d = day_of("1948-01-01"); d <= day_of("2099-12-31"); d++) {
        jpcal_day open = jpcal_next_open(d);
        assert_true(open >= d && open - d <= 10);
        assert_false(jpcal_is_closed(open));
        for (jpcal_day k = d; k < open; k++)
            assert_true(jpcal_is_closed(k));
    }
}

/* The closed-day test as Art. 1(1) of the act on closed days states it, built from the
 * public per-day answers (date conversion, weekday, holiday name). jpcal_is_closed and
 * jpcal_next_open take shortcuts (the weekday before any conversion, a date stepped instead of
 * converted); they must agree with this on every day. */
static bool closed_by_definition(jpcal_day d)
{
    int y, m, dd;
    jpcal_to_ymd(d, &y, &m, &dd);
    int wd = jpcal_weekday(d);
    return wd == 0 || wd == 6 || (m == 12 && dd >= 29) || (m == 1 && dd <= 3) ||
           jpcal_holiday_name(d) != NULL;
}

static jpcal_day next_open_by_definition(jpcal_day d)
{
    while (d < INT32_MAX && closed_by_definition(d))
        d++;
    return d;
}

static void check_shortcuts_on(jpcal_day from, jpcal_day to)
{
    for (jpcal_day d = from;; d++) {
        char text[11];
        if (jpcal_is_closed(d) != closed_by_definition(d)) {
            jpcal_format(d, text);
            fail_msg("%s (day %ld): jpcal_is_closed says %d", text, (long)d, jpcal_is_closed(d));
        }
        if (jpcal_next_open(d) != next_open_by_definition(d)) {
            jpcal_format(d, text);
            fail_msg("%s (day %ld): jpcal_next_open gives day %ld, the definition day %ld", text,
                     (long)d, (long)jpcal_next_open(d), (long)next_open_by_definition(d));
        }
        if (d == to) break;
    }
}

/* Every day of the computed range with years of margin on both sides, and the ends of the
 * day numbers. */
static void test_closed_shortcuts_match_the_definition(void **state)
{
    (void)state;
    check_shortcuts_on(day_of("1940-01-01"), day_of("2110-12-31"));
    check_shortcuts_on(INT32_MIN, INT32_MIN + 400);
    check_shortcuts_on(INT32_MAX - 400, INT32_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_day_1970_2027_matches_the_published_list),
        cmocka_unit_test(test_conversion_table),
        cmocka_unit_test(test_round_trip_and_continuity),
        cmocka_unit_test(test_leap_years),
        cmocka_unit_test(test_parse_and_format),
        cmocka_unit_test(test_format_negative_and_extreme_days),
        cmocka_unit_test(test_holiday_table),
        cmocka_unit_test(test_golden_week_2026),
        cmocka_unit_test(test_closed_table),
        cmocka_unit_test(test_next_open_table),
        cmocka_unit_test(test_next_open_is_first_open_day),
        cmocka_unit_test(test_closed_shortcuts_match_the_definition),
    };
    return cmocka_run_group_tests_name("jpcal", tests, NULL, NULL);
}
