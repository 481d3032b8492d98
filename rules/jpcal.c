/*
 * jpcal: the Japanese calendar the deadlines are counted in (see rules/jpcal.h for the API).
 *
 * Dates. A day number counts days since 1970-01-01 in the proleptic Gregorian calendar. The
 * conversions are Howard Hinnant's days_from_civil / civil_from_days, done in 64-bit so that
 * every int32 day number converts without overflow.
 *
 * Holidays are computed from the rules of the Act on National Holidays (国民の祝日に関する法律,
 * 昭和23年法律第178号) as each amendment and special act left them, never looked up in a table of
 * years. A question "is day D a holiday?" is answered in three steps, in the order of the Act:
 *
 *   1. jpcal_shukujitsu: is D itself a national holiday (国民の祝日, Art. 2) or one of the days
 *      that special acts declared holidays (the imperial ceremonies, the 2019 enthronement)?
 *      Only the rules of D's month are consulted, so this is a switch and a few comparisons.
 *   2. Substitute holiday (振替休日, Art. 3(2), from 1973-04-12): D follows a run of national
 *      holidays that starts on a Sunday. Before 2007 only the Monday right after the Sunday
 *      qualified; from 2007 the first day after the run does. The run is at most three days
 *      long (Golden Week), so walking back over it is a bounded handful of steps.
 *   3. Citizens' holiday (国民の休日, Art. 3(3), from 1985-12-27): D lies between two national
 *      holidays. Before 2007 it also had to be neither a Sunday nor a substitute holiday.
 *
 * Steps 2 and 3 look only at D's neighbours, which are reached by stepping the (y, m, d,
 * weekday) tuple rather than by converting day numbers again; this keeps a holiday test at a
 * few tens of nanoseconds, which matters because jpcal_next_open sits in the rule core's hot
 * path.
 *
 * Names are spelled as in the published list the project tests against (the Cabinet Office's
 * syukujitsu.csv as carried by the holiday_jp data set): a substitute day is "<holiday> 振替休日"
 * after the national holiday on the day before it, a citizens' holiday is "休日", and the days
 * declared by special acts carry the names that list gives them. Where that list departs from
 * its own convention (2020-05-06, see jpcal_substitute) we follow the list, and say so.
 *
 * Everything here is pure: no allocation, no I/O, no mutable state outside the call.
 */
#include "rules/jpcal.h"

#include <stddef.h>

/* A calendar date with its weekday (0 = Sunday), the unit the holiday rules work on. */
typedef struct {
    int y, m, d, wd;
} jpcal_date;

/* Packs a date into one comparable integer, so that "on or after the day an amendment took
 * effect" reads as a single comparison. */
#define JPCAL_KEY(y, m, d) ((y)*10000 + (m)*100 + (d))

/* The Act was promulgated and took effect on 1948-07-20; no day before it is a holiday. */
#define JPCAL_ACT_START JPCAL_KEY(1948, 7, 20)
/* 1973 amendment (昭和48年法律第10号), in force 1973-04-12: substitute holidays. */
#define JPCAL_SUBSTITUTE_START JPCAL_KEY(1973, 4, 12)
/* 1985 amendment (昭和60年法律第103号), in force 1985-12-27: citizens' holidays. */
#define JPCAL_CITIZENS_START JPCAL_KEY(1985, 12, 27)
/* 2005 amendment (平成17年法律第43号), in force 2007-01-01: the substitute moves past a run of
 * holidays, and a citizens' holiday need no longer avoid Sundays and substitute days. */
#define JPCAL_2007_START JPCAL_KEY(2007, 1, 1)

/* Every named day the calendar can produce. JPCAL_NONE (0) means "not a national holiday". */
typedef enum {
    JPCAL_NONE = 0,
    JPCAL_GANJITSU,
    JPCAL_SEIJIN,
    JPCAL_KENKOKU,
    JPCAL_SHUNBUN,
    JPCAL_TENNO,
    JPCAL_MIDORI,
    JPCAL_SHOWA,
    JPCAL_KENPO,
    JPCAL_KODOMO,
    JPCAL_UMI,
    JPCAL_YAMA,
    JPCAL_KEIRO,
    JPCAL_SHUBUN,
    JPCAL_TAIIKU,
    JPCAL_TAIIKU_SPORTS,
    JPCAL_SPORTS,
    JPCAL_BUNKA,
    JPCAL_KINRO,
    JPCAL_KEKKON,
    JPCAL_TAISO,
    JPCAL_SOKUI,
    JPCAL_SHUKUJITSU_ATSUKAI,
    JPCAL_KIND_COUNT
} jpcal_kind;

/* Each kind's own name and the name of a substitute day that follows it. The substitute names
 * of the special-act days are never produced (none of those days fell on a Sunday or right
 * before a substitute day) but are filled so that no path can return NULL for a holiday. */
static const struct {
    const char *name;
    const char *substitute;
} jpcal_names[JPCAL_KIND_COUNT] = {
    [JPCAL_NONE] = {NULL, NULL},
    [JPCAL_GANJITSU] = {"元日", "元日 振替休日"},
    [JPCAL_SEIJIN] = {"成人の日", "成人の日 振替休日"},
    [JPCAL_KENKOKU] = {"建国記念の日", "建国記念の日 振替休日"},
    [JPCAL_SHUNBUN] = {"春分の日", "春分の日 振替休日"},
    [JPCAL_TENNO] = {"天皇誕生日", "天皇誕生日 振替休日"},
    [JPCAL_MIDORI] = {"みどりの日", "みどりの日 振替休日"},
    [JPCAL_SHOWA] = {"昭和の日", "昭和の日 振替休日"},
    [JPCAL_KENPO] = {"憲法記念日", "憲法記念日 振替休日"},
    [JPCAL_KODOMO] = {"こどもの日", "こどもの日 振替休日"},
    [JPCAL_UMI] = {"海の日", "海の日 振替休日"},
    [JPCAL_YAMA] = {"山の日", "山の日 振替休日"},
    [JPCAL_KEIRO] = {"敬老の日", "敬老の日 振替休日"},
    [JPCAL_SHUBUN] = {"秋分の日", "秋分の日 振替休日"},
    [JPCAL_TAIIKU] = {"体育の日", "体育の日 振替休日"},
    [JPCAL_TAIIKU_SPORTS] = {"体育の日（スポーツの日）", "体育の日（スポーツの日） 振替休日"},
    [JPCAL_SPORTS] = {"スポーツの日", "スポーツの日 振替休日"},
    [JPCAL_BUNKA] = {"文化の日", "文化の日 振替休日"},
    [JPCAL_KINRO] = {"勤労感謝の日", "勤労感謝の日 振替休日"},
    [JPCAL_KEKKON] = {"結婚の儀", "結婚の儀 振替休日"},
    [JPCAL_TAISO] = {"大喪の礼", "大喪の礼 振替休日"},
    [JPCAL_SOKUI] = {"即位礼正殿の儀", "即位礼正殿の儀 振替休日"},
    [JPCAL_SHUKUJITSU_ATSUKAI] = {"休日（祝日扱い）", "休日（祝日扱い） 振替休日"},
};

/* Art. 3(3) calls a citizens' holiday just 休日, and so does the published list. */
static const char jpcal_citizens_name[] = "休日";

/* ------------------------------------------------------------------------------------------ */
/* Day numbers and civil dates                                                                 */

jpcal_day jpcal_from_ymd(int year, int month, int day)
{
    /* Counting years from March puts the leap day at the end of the year, so the day of the
     * year is a linear function of the month (Hinnant, "chrono-Compatible Low-Level Date
     * Algorithms"). */
    int64_t y = (int64_t)year - (month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mp = month > 2 ? month - 3 : month + 9;
    int64_t doy = (153 * mp + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (jpcal_day)(era * 146097 + doe - 719468);
}

void jpcal_to_ymd(jpcal_day d, int *year, int *month, int *day)
{
    int64_t z = (int64_t)d + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    *year = (int)(yoe + era * 400 + (m <= 2));
    *month = (int)m;
    *day = (int)(doy - (153 * mp + 2) / 5 + 1);
}

int jpcal_weekday(jpcal_day d)
{
    /* 1970-01-01 was a Thursday (4). d % 7 lies in -6..6, so the sum never goes negative. */
    return (d % 7 + 11) % 7;
}

static bool jpcal_is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int jpcal_days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && jpcal_is_leap(y) ? 29 : days[m - 1];
}

static bool jpcal_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool jpcal_parse(const char *text, jpcal_day *out)
{
    int y, m, d;
    /* The checks run left to right, so a short string stops at its NUL before any byte past
     * it is read. */
    if (!text || !jpcal_digits(text, 4, &y) || text[4] != '-' || !jpcal_digits(text + 5, 2, &m) ||
        text[7] != '-' || !jpcal_digits(text + 8, 2, &d) || text[10] != '\0')
        return false;
    if (m < 1 || m > 12 || d < 1 || d > jpcal_days_in_month(y, m)) return false;
    *out = jpcal_from_ymd(y, m, d);
    return true;
}

static void jpcal_put_digits(char *out, int n, int v)
{
    for (int i = n - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

void jpcal_format(jpcal_day d, char out[11])
{
    int y, m, dd;
    jpcal_to_ymd(d, &y, &m, &dd);
    /* Four digits cannot hold a year outside 0..9999 (reachable from extreme day numbers);
     * writing "????" keeps the 11-byte contract instead of printing a wrong year. */
    if (y >= 0 && y <= 9999)
        jpcal_put_digits(out, 4, y);
    else
        out[0] = out[1] = out[2] = out[3] = '?';
    out[4] = '-';
    jpcal_put_digits(out + 5, 2, m);
    out[7] = '-';
    jpcal_put_digits(out + 8, 2, dd);
    out[10] = '\0';
}

static jpcal_date jpcal_date_of(jpcal_day d)
{
    jpcal_date t;
    jpcal_to_ymd(d, &t.y, &t.m, &t.d);
    t.wd = jpcal_weekday(d);
    return t;
}

static jpcal_date jpcal_prev(jpcal_date t)
{
    t.wd = t.wd == 0 ? 6 : t.wd - 1;
    if (--t.d == 0) {
        if (--t.m == 0) {
            t.m = 12;
            t.y--;
        }
        t.d = jpcal_days_in_month(t.y, t.m);
    }
    return t;
}

static jpcal_date jpcal_next(jpcal_date t)
{
    t.wd = t.wd == 6 ? 0 : t.wd + 1;
    if (++t.d > jpcal_days_in_month(t.y, t.m)) {
        t.d = 1;
        if (++t.m == 13) {
            t.m = 1;
            t.y++;
        }
    }
    return t;
}

/* ------------------------------------------------------------------------------------------ */
/* National holidays (Art. 2) and the days special acts added                                  */

/* The Act fixes 春分の日 and 秋分の日 as "the day of the equinox" (春分日, 秋分日), which the
 * National Astronomical Observatory announces each February for the next year. The standard
 * approximation reproduces every announced date: day = int(C + 0.242194 (Y - 1980) -
 * int((Y - B) / 4)), with B = 1980 from 1980 and B = 1983 before, C per equinox and era.
 * int() truncates toward zero (C's integer division), which the published dates of 1948-1979
 * confirm (floor would put 1955's autumnal equinox on 9/25). The constants are taken in
 * millionths so that the arithmetic is exact: one year's value lands a millionth above a whole
 * day, where floating point could round either way. */
static int jpcal_equinox(int y, int64_t c_new, int64_t c_old)
{
    int64_t v = y >= 1980 ? c_new - 1000000 * ((y - 1980) / 4) : c_old - 1000000 * ((y - 1983) / 4);
    return (int)((v + 242194 * (int64_t)(y - 1980)) / 1000000);
}

static int jpcal_vernal_equinox(int y)
{
    return jpcal_equinox(y, 20843100, 20835700);
}

static int jpcal_autumnal_equinox(int y)
{
    return jpcal_equinox(y, 23248800, 23258800);
}

/* The n-th Monday of the month (Happy Monday system): a Monday whose day falls in week n. */
static bool jpcal_nth_monday(jpcal_date t, int n)
{
    return t.wd == 1 && (t.d - 1) / 7 == n - 1;
}

/* The national holiday (or special-act day) that t itself is, or JPCAL_NONE. Only the rules
 * of t's month are consulted. The special-act days are included because the 2019 act deems
 * its days national holidays for Art. 3(2)-(3) (2019-04-30 and 05-02 follow from that), while
 * the earlier ones never had a holiday on either side, so treating them alike changes
 * nothing. */
static jpcal_kind jpcal_shukujitsu(jpcal_date t)
{
    const int y = t.y, d = t.d;
    if (y > JPCAL_LAST_YEAR || JPCAL_KEY(y, t.m, d) <= JPCAL_ACT_START) return JPCAL_NONE;

    switch (t.m) {
    case 1:
        /* Art. 2 (1948): 元日 1/1. */
        if (d == 1) return JPCAL_GANJITSU;
        /* 成人の日: 1/15 (1948); the second Monday from 2000 (1998 amendment,
         * 平成10年法律第141号). */
        if (y < 2000 ? d == 15 : jpcal_nth_monday(t, 2)) return JPCAL_SEIJIN;
        return JPCAL_NONE;
    case 2:
        /* 建国記念の日 2/11 from 1967 (1966 amendment, 昭和41年法律第86号; the day set by
         * 昭和41年政令第376号). */
        if (d == 11 && y >= 1967) return JPCAL_KENKOKU;
        /* 天皇誕生日 2/23 from 2020: the abdication act (平成29年法律第63号, supplementary
         * Art. 10) moved it from 12/23 as of 2019-04-30, so 2019 had none. */
        if (d == 23 && y >= 2020) return JPCAL_TENNO;
        /* The funeral of Emperor Showa (平成元年法律第4号). */
        if (d == 24 && y == 1989) return JPCAL_TAISO;
        return JPCAL_NONE;
    case 3:
        /* Art. 2 (1948): 春分の日, the day of the vernal equinox. */
        return d == jpcal_vernal_equinox(y) ? JPCAL_SHUNBUN : JPCAL_NONE;
    case 4:
        /* 4/29: 天皇誕生日 until 1988; みどりの日 1989-2006 (1989 amendment, 平成元年法律第5号);
         * 昭和の日 from 2007 (2005 amendment, 平成17年法律第43号). */
        if (d == 29) return y <= 1988 ? JPCAL_TENNO : y <= 2006 ? JPCAL_MIDORI : JPCAL_SHOWA;
        /* The wedding of Crown Prince Akihito (昭和34年法律第16号). */
        if (d == 10 && y == 1959) return JPCAL_KEKKON;
        return JPCAL_NONE;
    case 5:
        /* Art. 2 (1948): 憲法記念日 5/3, こどもの日 5/5; みどりの日 5/4 from 2007 (2005
         * amendment). */
        if (d == 3) return JPCAL_KENPO;
        if (d == 5) return JPCAL_KODOMO;
        if (d == 4 && y >= 2007) return JPCAL_MIDORI;
        /* The enthronement day (平成30年法律第99号), deemed a national holiday. */
        if (d == 1 && y == 2019) return JPCAL_SHUKUJITSU_ATSUKAI;
        return JPCAL_NONE;
    case 6:
        /* The wedding of Crown Prince Naruhito (平成5年法律第32号). */
        return d == 9 && y == 1993 ? JPCAL_KEKKON : JPCAL_NONE;
    case 7:
        /* The Tokyo Olympics act (平成30年法律第55号, for 2020; 令和2年法律第68号, for 2021) moved
         * 海の日 and スポーツの日 next to the opening ceremony. */
        if (y == 2020) return d == 23 ? JPCAL_UMI : d == 24 ? JPCAL_SPORTS : JPCAL_NONE;
        if (y == 2021) return d == 22 ? JPCAL_UMI : d == 23 ? JPCAL_SPORTS : JPCAL_NONE;
        /* 海の日: 7/20 from 1996 (1995 amendment, 平成7年法律第22号); the third Monday from
         * 2003 (2001 amendment, 平成13年法律第59号). */
        if (y >= 1996 && (y < 2003 ? d == 20 : jpcal_nth_monday(t, 3))) return JPCAL_UMI;
        return JPCAL_NONE;
    case 8:
        /* 山の日 8/11 from 2016 (2014 amendment, 平成26年法律第43号); the Olympics act moved it
         * to 8/10 in 2020 and 8/8 in 2021. */
        if (y < 2016) return JPCAL_NONE;
        return d == (y == 2020 ? 10 : y == 2021 ? 8 : 11) ? JPCAL_YAMA : JPCAL_NONE;
    case 9:
        /* 敬老の日: 9/15 from 1966 (1966 amendment); the third Monday from 2003 (2001
         * amendment). */
        if (y >= 1966 && (y < 2003 ? d == 15 : jpcal_nth_monday(t, 3))) return JPCAL_KEIRO;
        /* Art. 2 (1948): 秋分の日, the day of the autumnal equinox. */
        return d == jpcal_autumnal_equinox(y) ? JPCAL_SHUBUN : JPCAL_NONE;
    case 10:
        /* 体育の日: 10/10 from 1966 (1966 amendment); the second Monday from 2000 (1998
         * amendment). Renamed スポーツの日 from 2020 (2018 amendment, 平成30年法律第57号); the
         * Cabinet Office lists 2019's as 体育の日（スポーツの日）. In 2020 and 2021 the Olympics
         * act moved it to July. */
        if (y < 1966 || y == 2020 || y == 2021) return JPCAL_NONE;
        if (y < 2000 ? d == 10 : jpcal_nth_monday(t, 2))
            return y < 2019 ? JPCAL_TAIIKU : y == 2019 ? JPCAL_TAIIKU_SPORTS : JPCAL_SPORTS;
        /* The enthronement ceremony (平成30年法律第99号), deemed a national holiday. */
        if (d == 22 && y == 2019) return JPCAL_SHUKUJITSU_ATSUKAI;
        return JPCAL_NONE;
    case 11:
        /* Art. 2 (1948): 文化の日 11/3, 勤労感謝の日 11/23. */
        if (d == 3) return JPCAL_BUNKA;
        if (d == 23) return JPCAL_KINRO;
        /* The enthronement ceremony of Emperor Akihito (平成2年法律第24号). */
        if (d == 12 && y == 1990) return JPCAL_SOKUI;
        return JPCAL_NONE;
    case 12:
        /* 天皇誕生日 12/23 from 1989 (1989 amendment) until the 2019 move to 2/23. */
        return d == 23 && y >= 1989 && y <= 2018 ? JPCAL_TENNO : JPCAL_NONE;
    default:
        return JPCAL_NONE;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Substitute and citizens' holidays (Art. 3(2) and 3(3))                                      */

/* The substitute-day name for t, which is not itself a national holiday and whose previous
 * day `prev` is one (prev_kind), or NULL when t is no substitute day.
 *
 * Art. 3(2): when a national holiday falls on a Sunday, the nearest following day that is
 * not a national holiday becomes a holiday (2005 amendment, from 2007); before 2007 only the
 * Monday after it (1973 amendment, from 1973-04-12). So walk back over the run of national
 * holidays that ends on the day before t, looking for a Sunday; a run is at most three days
 * (5/3-5/5), the bound of 7 is only a guard. */
static const char *jpcal_substitute(jpcal_date t, jpcal_date prev, jpcal_kind prev_kind)
{
    jpcal_date s = prev;
    for (int back = 1; back <= 7; back++) {
        if (s.wd == 0) {
            int key = JPCAL_KEY(s.y, s.m, s.d);
            bool applies = key >= JPCAL_2007_START || (back == 1 && key >= JPCAL_SUBSTITUTE_START);
            if (!applies) return NULL;
            /* The published list names a substitute day after the holiday the day before it,
             * except 2020-05-06, which holiday_jp renamed after the Sunday holiday
             * (憲法記念日) while leaving every other Golden Week year as it was. We follow the
             * list rather than either convention alone. */
            if (t.y == 2020 && t.m == 5 && t.d == 6) return jpcal_names[JPCAL_KENPO].substitute;
            return jpcal_names[prev_kind].substitute;
        }
        s = jpcal_prev(s);
        if (jpcal_shukujitsu(s) == JPCAL_NONE) return NULL;
    }
    return NULL;
}

/* The holiday name of t (national, substitute or citizens'), or NULL. */
static const char *jpcal_name_of(jpcal_date t)
{
    jpcal_kind kind = jpcal_shukujitsu(t);
    if (kind != JPCAL_NONE) return jpcal_names[kind].name;

    /* Substitute and citizens' holidays both need a national holiday on the day before, so
     * most days stop here. */
    jpcal_date prev = jpcal_prev(t);
    jpcal_kind prev_kind = jpcal_shukujitsu(prev);
    if (prev_kind == JPCAL_NONE) return NULL;

    const char *substitute = jpcal_substitute(t, prev, prev_kind);
    if (substitute) return substitute;

    /* Art. 3(3): a day between two national holidays (1985 amendment, from 1985-12-27).
     * Before 2007 a Sunday was excluded (and a substitute day, already returned above). */
    int key = JPCAL_KEY(t.y, t.m, t.d);
    if (key < JPCAL_CITIZENS_START || (key < JPCAL_2007_START && t.wd == 0)) return NULL;
    if (jpcal_shukujitsu(jpcal_next(t)) == JPCAL_NONE) return NULL;
    return jpcal_citizens_name;
}

const char *jpcal_holiday_name(jpcal_day d)
{
    jpcal_date t = jpcal_date_of(d);
    if (t.y < JPCAL_FIRST_YEAR || t.y > JPCAL_LAST_YEAR) return NULL;
    return jpcal_name_of(t);
}

bool jpcal_is_holiday(jpcal_day d)
{
    return jpcal_holiday_name(d) != NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Closed days of government                                                                   */

/* 行政機関の休日に関する法律 (昭和63年法律第91号) Art. 1(1): Sundays and Saturdays, national
 * holidays (which that act takes to include substitute and citizens' holidays), and
 * December 29 through January 3. The cheap tests go first: two days of seven are closed by
 * their weekday alone, without a holiday rule being consulted. */
static bool jpcal_date_closed(jpcal_date t)
{
    if (t.wd == 0 || t.wd == 6) return true;
    if ((t.m == 12 && t.d >= 29) || (t.m == 1 && t.d <= 3)) return true;
    if (t.y < JPCAL_FIRST_YEAR || t.y > JPCAL_LAST_YEAR) return false;
    return jpcal_name_of(t) != NULL;
}

bool jpcal_is_closed(jpcal_day d)
{
    int wd = jpcal_weekday(d);
    if (wd == 0 || wd == 6) return true; /* no date conversion for a weekend */
    return jpcal_date_closed(jpcal_date_of(d));
}

jpcal_day jpcal_next_open(jpcal_day d)
{
    /* No run of closed days is longer than about ten (Golden Week 2019), so this loop is
     * short; the bound on d only keeps the increment defined at the end of the range. The
     * date is converted once and then stepped, since this sits in the rule core's hot path
     * (every final report's due day). */
    jpcal_date t = jpcal_date_of(d);
    while (d < INT32_MAX && jpcal_date_closed(t)) {
        d++;
        t = jpcal_next(t);
    }
    return d;
}
