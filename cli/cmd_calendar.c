/*
 * `mni calendar`: lists the days the deadline rules count with (rules/jpcal).
 *
 *   mni calendar holidays FROM TO   one line per national holiday:  YYYY-MM-DD name
 *   mni calendar closed FROM TO     one line per closed day:        YYYY-MM-DD reason
 *
 * FROM and TO are inclusive YYYY-MM-DD dates within JPCAL_FIRST_YEAR..JPCAL_LAST_YEAR, the years
 * whose holidays jpcal computes; outside them a holiday list (and so a closed-day list) would be
 * silently incomplete, so both subcommands refuse. The reason of a closed day is the holiday
 * name when it is a holiday, else 土曜日, 日曜日 or 年末年始 (Dec 29 - Jan 3): a holiday is named
 * first because that is the fact a reader cannot work out from the date alone.
 *
 * Exit codes as cli/commands.h: bad usage or an invalid argument prints one line on stderr that
 * names the argument and the reason, and exits MNI_EXIT_USAGE; a failed write to stdout exits
 * MNI_EXIT_FAILURE.
 */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "rules/jpcal.h"

static void calendar_usage(FILE *out)
{
    fprintf(out,
            "usage: mni calendar holidays FROM TO\n"
            "       mni calendar closed FROM TO\n"
            "\n"
            "  holidays  print each Japanese national holiday from FROM to TO (inclusive),\n"
            "            one line 'YYYY-MM-DD name', substitute and citizens' holidays included\n"
            "  closed    print each closed day of government from FROM to TO (inclusive), one\n"
            "            line 'YYYY-MM-DD reason': the holiday name, or 土曜日, 日曜日, 年末年始\n"
            "\n"
            "FROM and TO are dates YYYY-MM-DD from %d-01-01 to %d-12-31.\n",
            JPCAL_FIRST_YEAR, JPCAL_LAST_YEAR);
}

static bool calendar_is_help(const char *arg)
{
    return !strcmp(arg, "--help") || !strcmp(arg, "-h");
}

/* Parses one date argument (named FROM or TO in messages) and checks it lies in the computed
 * range. */
static bool calendar_date_arg(const char *label, const char *text, jpcal_day *out)
{
    int y, m, d;
    if (!jpcal_parse(text, out)) {
        fprintf(stderr, "mni calendar: %s: not a date (want YYYY-MM-DD): %s\n", label, text);
        return false;
    }
    jpcal_to_ymd(*out, &y, &m, &d);
    if (y < JPCAL_FIRST_YEAR || y > JPCAL_LAST_YEAR) {
        fprintf(stderr,
                "mni calendar: %s: outside the years whose holidays are computed (%d-%d): %s\n",
                label, JPCAL_FIRST_YEAR, JPCAL_LAST_YEAR, text);
        return false;
    }
    return true;
}

/* The reason a closed day is closed, or NULL when d is open. */
static const char *calendar_closed_reason(jpcal_day d)
{
    const char *name = jpcal_holiday_name(d);
    if (name) return name;
    int wd = jpcal_weekday(d);
    if (wd == 6) return "土曜日";
    if (wd == 0) return "日曜日";
    if (jpcal_is_closed(d)) return "年末年始";
    return NULL;
}

int cmd_calendar(int argc, char **argv)
{
    if (argc < 2) {
        calendar_usage(stderr);
        return MNI_EXIT_USAGE;
    }
    for (int i = 1; i < argc; i++)
        if (calendar_is_help(argv[i])) {
            calendar_usage(stdout);
            return MNI_EXIT_OK;
        }

    const char *sub = argv[1];
    bool closed = !strcmp(sub, "closed");
    if (!closed && strcmp(sub, "holidays") != 0) {
        fprintf(stderr,
                "mni calendar: unknown subcommand '%s' (want holidays or closed; see mni "
                "calendar --help)\n",
                sub);
        return MNI_EXIT_USAGE;
    }
    if (argc != 4) {
        fprintf(stderr, "mni calendar %s: want two dates, FROM and TO, got %d argument%s\n", sub,
                argc - 2, argc - 2 == 1 ? "" : "s");
        return MNI_EXIT_USAGE;
    }
    jpcal_day from, to;
    if (!calendar_date_arg("FROM", argv[2], &from) || !calendar_date_arg("TO", argv[3], &to))
        return MNI_EXIT_USAGE;
    if (from > to) {
        fprintf(stderr, "mni calendar: FROM: after TO (%s): %s\n", argv[3], argv[2]);
        return MNI_EXIT_USAGE;
    }

    for (jpcal_day d = from; d <= to; d++) {
        const char *what = closed ? calendar_closed_reason(d) : jpcal_holiday_name(d);
        if (!what) continue;
        char text[11];
        jpcal_format(d, text);
        printf("%s %s\n", text, what);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("mni calendar: writing the list");
        return MNI_EXIT_FAILURE;
    }
    return MNI_EXIT_OK;
}
