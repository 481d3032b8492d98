/*
 * timefmt: see timefmt.h. Date arithmetic goes through jpcal's day numbers so there is one
 * calendar in the program.
 */
#include "lib/base/timefmt.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lib/base/errbuf.h"

#include "rules/jpcal.h"

static bool read_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

int timefmt_parse_rfc3339(const char *text, int64_t *epoch_ms, char *err, size_t errlen)
{
    int y, mo, d, h, mi, sec;
    const char *s = text;
    char date[11];
    if (strlen(s) < 19)
        return errbuf_fail(err, errlen, "not an RFC 3339 time (want YYYY-MM-DDTHH:MM:SS+09:00)");
    memcpy(date, s, 10);
    date[10] = '\0';
    jpcal_day day;
    if (!jpcal_parse(date, &day))
        return errbuf_fail(err, errlen, "not an RFC 3339 time: bad or impossible date");
    if (!(s[10] == 'T' || s[10] == 't' || s[10] == ' ') || !read_digits(s + 11, 2, &h) ||
        s[13] != ':' || !read_digits(s + 14, 2, &mi) || s[16] != ':' ||
        !read_digits(s + 17, 2, &sec))
        return errbuf_fail(err, errlen, "not an RFC 3339 time: bad time of day (want THH:MM:SS)");
    if (h > 23 || mi > 59 || sec > 60)
        return errbuf_fail(err, errlen, "not an RFC 3339 time: time of day out of range");
    if (sec == 60) sec = 59; /* a leap second belongs to the same day; POSIX time has none */
    jpcal_to_ymd(day, &y, &mo, &d);
    s += 19;
    int ms = 0;
    if (*s == '.') {
        int digits = 0;
        s++;
        while (isdigit((unsigned char)*s)) {
            if (digits < 3) ms = ms * 10 + (*s - '0');
            digits++;
            s++;
        }
        if (digits == 0)
            return errbuf_fail(err, errlen, "not an RFC 3339 time: empty fraction of a second");
        for (; digits < 3; digits++)
            ms *= 10;
    }
    int offset_min;
    if (*s == 'Z' || *s == 'z') {
        offset_min = 0;
        s++;
    } else if (*s == '+' || *s == '-') {
        int oh, om;
        if (!read_digits(s + 1, 2, &oh) || s[3] != ':' || !read_digits(s + 4, 2, &om) || oh > 23 ||
            om > 59)
            return errbuf_fail(err, errlen, "not an RFC 3339 time: bad offset (want +HH:MM)");
        offset_min = (oh * 60 + om) * (*s == '-' ? -1 : 1);
        s += 6;
    } else {
        return errbuf_fail(err, errlen,
                           "not an RFC 3339 time: the offset (Z or +HH:MM) is required");
    }
    if (*s != '\0') return errbuf_fail(err, errlen, "not an RFC 3339 time: text after the offset");
    int64_t secs = (int64_t)day * 86400 + h * 3600 + mi * 60 + sec - (int64_t)offset_min * 60;
    *epoch_ms = secs * 1000 + ms;
    return 0;
}

static void format_parts(int64_t secs, char *out, size_t n, const char *suffix, int ms)
{
    int64_t day = secs / 86400, rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        day--;
    }
    int y, mo, d;
    jpcal_to_ymd((jpcal_day)day, &y, &mo, &d);
    if (ms >= 0)
        snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03d%s", y, mo, d, (int)(rem / 3600),
                 (int)(rem % 3600 / 60), (int)(rem % 60), ms, suffix);
    else
        snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d%s", y, mo, d, (int)(rem / 3600),
                 (int)(rem % 3600 / 60), (int)(rem % 60), suffix);
}

void timefmt_format_jst(int64_t epoch_seconds, char out[32])
{
    format_parts(epoch_seconds + 9 * 3600, out, 32, "+09:00", -1);
}

void timefmt_format_utc_ms(int64_t epoch_ms, char out[32])
{
    int64_t secs = epoch_ms / 1000, ms = epoch_ms % 1000;
    if (ms < 0) {
        ms += 1000;
        secs--;
    }
    format_parts(secs, out, 32, "Z", (int)ms);
}

int64_t timefmt_ms_to_s(int64_t epoch_ms)
{
    return epoch_ms >= 0 ? epoch_ms / 1000 : -((-epoch_ms + 999) / 1000);
}

void timefmt_format_jst_ms(int64_t epoch_ms, char out[32])
{
    timefmt_format_jst(timefmt_ms_to_s(epoch_ms), out);
}
