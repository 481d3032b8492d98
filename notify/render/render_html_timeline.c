/*
 * render_html_timeline: the timeline picture of a case page, an inline SVG drawn from the
 * model alone (render_html.h).
 *
 *   x axis   time in Japan days, from the earliest to the latest instant of the case (known
 *            at, clock start, every deadline's end, every action, as of), ticks at 00:00 JST
 *   lanes    one per group of deadlines with the same obligation, end and state (a thousand
 *            client notices due at one instant are one lane, "×1000"): a bar from the day the
 *            reporter knew (day 1 of every clock) to the deadline's end, coloured by state; a met
 * deadline carries a circle where it was met; an overdue one a red stretch from its end to the
 * as-of line and the word 期限超過 actions  a lane of response steps and a lane of reports filed
 * and notices sent, a dot each, with the detail as the dot's <title> (a tooltip on screen) lines
 * known at (grey), clocks from (when an obligation first fired; orange) and as of (dashed)
 *
 * At most TIMELINE_LANES deadline lanes are drawn; the table below the picture lists every
 * deadline anyway, and a note says how many lanes were left out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify/render/render_html_int.h"
#include "notify/render/render_int.h"
#include "rules/jpcal.h"

#define TIMELINE_LANES 40
#define TL_WIDTH 1000
#define TL_LEFT 250
#define TL_RIGHT 70
#define TL_TOP 46
#define TL_LANE 24
#define DAY_MS 86400000LL
#define JST_MS (9 * 3600 * 1000LL)

typedef struct {
    const char *kind, *client, *state, *due_end;
    long long end_ms, met_ms; /* met_ms -1: not met */
    int count;
} tl_lane;

typedef struct {
    long long t0, t1; /* the axis, ms */
} tl_axis;

static double x_of(const tl_axis *a, long long ms)
{
    double f = (double)(ms - a->t0) / (double)(a->t1 - a->t0);
    if (f < 0) f = 0;
    if (f > 1) f = 1;
    return TL_LEFT + f * (TL_WIDTH - TL_LEFT - TL_RIGHT);
}

static void widen(long long *lo, long long *hi, const char *rfc3339)
{
    long long ms;
    if (render_html__ms(rfc3339, &ms) != 0) return;
    if (ms < *lo) *lo = ms;
    if (ms > *hi) *hi = ms;
}

static const char *colour(const char *state)
{
    if (!state) return "#9e9e9e";
    if (!strcmp(state, "overdue")) return "#c62828";
    if (!strcmp(state, "met")) return "#2e7d32";
    if (!strcmp(state, "met_late")) return "#e65100";
    if (!strcmp(state, "open")) return "#1565c0";
    return "#9e9e9e";
}

/* Groups the deadlines into lanes; returns how many groups there were in all. */
static size_t make_lanes(const json_t *deadlines, tl_lane *lanes, size_t *n)
{
    size_t groups = 0;
    *n = 0;
    size_t i;
    const json_t *d;
    json_array_foreach (deadlines, i, d) {
        const char *kind = render__str(d, "kind"), *state = render__str(d, "state"),
                   *end = render__str(d, "due_end");
        long long end_ms, met_ms = -1;
        if (!kind || !state || render_html__ms(end, &end_ms) != 0) continue;
        if (render_html__ms(render__str(d, "met_at"), &met_ms) != 0) met_ms = -1;
        size_t g = 0;
        while (g < *n && !(strcmp(lanes[g].kind, kind) == 0 && strcmp(lanes[g].state, state) == 0 &&
                           lanes[g].end_ms == end_ms))
            g++;
        if (g < *n) {
            lanes[g].count++;
            if (met_ms > lanes[g].met_ms) lanes[g].met_ms = met_ms; /* the last one met */
            continue;
        }
        groups++;
        if (*n == TIMELINE_LANES) continue;
        lanes[(*n)++] = (tl_lane){kind, render__str(d, "client_id"), state, end, end_ms, met_ms, 1};
    }
    return groups;
}

static void axis_ticks(buf *b, const tl_axis *a, int height)
{
    static const int steps[] = {1, 2, 3, 7, 14, 30, 61, 91, 182, 365, 730};
    long long span_days = (a->t1 - a->t0) / DAY_MS + 1;
    int step = steps[0];
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        step = steps[i];
        if (span_days / step <= 10) break;
    }
    /* The first 00:00 JST at or after t0. */
    long long day = (a->t0 + JST_MS + DAY_MS - 1) / DAY_MS;
    for (long long t = day * DAY_MS - JST_MS; t <= a->t1; t += (long long)step * DAY_MS) {
        int y, mo, dd;
        jpcal_to_ymd((jpcal_day)((t + JST_MS) / DAY_MS), &y, &mo, &dd);
        double x = x_of(a, t);
        buf_printf(b,
                   "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e0e0e0\"/>"
                   "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\" "
                   "fill=\"#555\">%d/%d</text>\n",
                   x, TL_TOP - 8, x, height - 20, x, TL_TOP - 12, mo, dd);
    }
}

/* A line across the lanes with its label at label_y, anchored start, middle or end. */
static void vertical(buf *b, double x, int height, const char *style, const char *label,
                     int label_y, const char *anchor)
{
    buf_printf(b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" %s/>", x, TL_TOP - 6, x,
               height - 20, style);
    /* A little apart from the line, so that two labels at one instant do not touch. */
    double dx = !strcmp(anchor, "end") ? -4 : !strcmp(anchor, "start") ? 4 : 0;
    buf_printf(b,
               "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"%s\" "
               "fill=\"#333\">%s</text>\n",
               x + dx, label_y, anchor, label);
}

static void lane_label(buf *b, const tl_lane *l, int y)
{
    buf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"end\">", TL_LEFT - 8,
               y + 16);
    render_html_escape(b, render_html__obligation(l->kind));
    if (l->count > 1)
        buf_printf(b, " ×%d", l->count);
    else if (l->client) {
        buf_puts(b, " ");
        render_html_escape(b, l->client);
    }
    buf_puts(b, "</text>\n");
}

static void draw_lane(buf *b, const tl_axis *a, const tl_lane *l, long long start, long long as_of,
                      int y)
{
    const char *fill = colour(l->state);
    double xs = x_of(a, start < l->end_ms ? start : l->end_ms), xe = x_of(a, l->end_ms);
    lane_label(b, l, y);
    buf_printf(b, "<g data-state=\"");
    render_html_escape(b, l->state);
    buf_printf(b,
               "\"><rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"14\" rx=\"3\" "
               "fill=\"%s\" fill-opacity=\"0.75\"><title>",
               xs, y + 5, xe - xs < 2 ? 2 : xe - xs, fill);
    render_html_escape(b, render_html__obligation(l->kind));
    buf_puts(b, " — ");
    render_html__time(b, l->due_end);
    buf_puts(b, "</title></rect>");
    buf_printf(b,
               "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#222\" "
               "stroke-width=\"2\"/>",
               xe, y + 2, xe, y + 22);
    if (!strcmp(l->state, "overdue") && as_of > l->end_ms) {
        double xn = x_of(a, as_of);
        buf_printf(b,
                   "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"14\" "
                   "fill=\"#c62828\" fill-opacity=\"0.3\" stroke=\"#c62828\" "
                   "stroke-dasharray=\"3 2\"/>"
                   "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" font-weight=\"bold\" "
                   "fill=\"#c62828\">期限超過</text>",
                   xe, y + 5, xn - xe, xn + 4, y + 16);
    }
    if (l->met_ms >= 0) {
        double xm = x_of(a, l->met_ms);
        buf_printf(b,
                   "<circle cx=\"%.1f\" cy=\"%d\" r=\"6\" fill=\"#fff\" stroke=\"%s\" "
                   "stroke-width=\"3\"><title>履行 met</title></circle>",
                   xm, y + 12, fill);
    }
    buf_puts(b, "</g>\n");
}

/* A lane of dots: the response steps (which 0) or the reports filed and notices sent (1). */
static void action_lane(buf *b, const tl_axis *a, const json_t *m, int which, int y)
{
    buf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"end\">%s</text>\n",
               TL_LEFT - 8, y + 16, which == 0 ? "対応（ステップ）" : "報告・通知・送付");
    buf_printf(b,
               "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#bbb\" "
               "stroke-dasharray=\"2 3\"/>\n",
               TL_LEFT, y + 12, TL_WIDTH - TL_RIGHT, y + 12);
    const json_t *arr = json_object_get(m, which == 0 ? "steps" : "filings");
    size_t i;
    const json_t *e;
    json_array_foreach (arr, i, e) {
        long long ms;
        if (render_html__ms(render__str(e, which == 0 ? "completed_at" : "filed_at"), &ms) != 0)
            continue;
        buf_printf(b, "<circle cx=\"%.1f\" cy=\"%d\" r=\"5\" fill=\"%s\"><title>", x_of(a, ms),
                   y + 12, which == 0 ? "#6a1b9a" : "#00695c");
        if (which == 0) {
            render_html_escape(b, render__step_ja(render__str(e, "step")));
        } else {
            render_html_escape(b, render_html__obligation(render__str(e, "report")));
            if (render__str(e, "client_id")) {
                buf_puts(b, " ");
                render_html_escape(b, render__str(e, "client_id"));
            }
        }
        buf_puts(b, "</title></circle>\n");
    }
    if (which == 1) {
        json_array_foreach (json_object_get(m, "documents"), i, e) {
            long long ms;
            const char *st = render__str(e, "status"), *fmt = render__str(e, "format");
            if (!st || strcmp(st, "sent") != 0 || !fmt || strcmp(fmt, "text") != 0 ||
                render_html__ms(render__str(e, "sent_at"), &ms) != 0)
                continue;
            buf_printf(b,
                       "<rect x=\"%.1f\" y=\"%d\" width=\"8\" height=\"8\" "
                       "fill=\"#00695c\"><title>送付 ",
                       x_of(a, ms) - 4, y + 8);
            render_html_escape(b, render__str(e, "channel"));
            buf_puts(b, "</title></rect>\n");
        }
    }
}

void render_html__timeline(buf *b, const json_t *m)
{
    const json_t *deadlines = json_object_get(m, "deadlines");
    long long as_of = 0, known = 0, start = 0;
    if (render_html__ms(render__str(m, "as_of"), &as_of) != 0) {
        buf_puts(b, "<p class=\"note\">（作成時点が不明なため図は省略しました）</p>\n");
        return;
    }
    tl_axis a = {as_of, as_of};
    widen(&a.t0, &a.t1, render__str(m, "known_at"));
    widen(&a.t0, &a.t1, render__str(m, "opened_at"));
    widen(&a.t0, &a.t1, render__str(m, "mandatory_since"));
    size_t i;
    const json_t *e;
    json_array_foreach (deadlines, i, e) {
        widen(&a.t0, &a.t1, render__str(e, "due_end"));
        widen(&a.t0, &a.t1, render__str(e, "met_at"));
    }
    json_array_foreach (json_object_get(m, "steps"), i, e)
        widen(&a.t0, &a.t1, render__str(e, "completed_at"));
    json_array_foreach (json_object_get(m, "filings"), i, e)
        widen(&a.t0, &a.t1, render__str(e, "filed_at"));
    if (a.t1 - a.t0 < 2 * DAY_MS) a.t1 = a.t0 + 2 * DAY_MS;
    long long pad = (a.t1 - a.t0) / 25;
    a.t0 -= pad;
    a.t1 += pad;

    /* Every clock counts from the day the reporter knew (day 1). */
    if (render_html__ms(render__str(m, "known_at"), &start) != 0 &&
        render_html__ms(render__str(m, "opened_at"), &start) != 0)
        start = a.t0;

    tl_lane lanes[TIMELINE_LANES];
    size_t n = 0, groups = make_lanes(deadlines, lanes, &n);
    int height = TL_TOP + (int)(n + 2) * TL_LANE + 50;
    buf_printf(b,
               "<figure id=\"timeline-picture\"><svg xmlns=\"http://www.w3.org/2000/svg\" "
               "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" "
               "aria-label=\"期限と対応の経過 timeline\" font-family=\"sans-serif\">\n"
               "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n",
               TL_WIDTH, height, TL_WIDTH, height, TL_WIDTH, height);
    axis_ticks(b, &a, height);
    if (render_html__ms(render__str(m, "known_at"), &known) == 0)
        vertical(b, x_of(&a, known), height, "stroke=\"#777\" stroke-width=\"1.5\"", "把握 known",
                 height - 6, "end");
    long long since;
    if (render_html__ms(render__str(m, "mandatory_since"), &since) == 0)
        vertical(b, x_of(&a, since), height, "stroke=\"#ef6c00\" stroke-width=\"1.5\"",
                 "義務発生 clocks from", height - 6, "start");
    for (size_t l = 0; l < n; l++)
        draw_lane(b, &a, &lanes[l], start, as_of, TL_TOP + (int)l * TL_LANE);
    int y = TL_TOP + (int)n * TL_LANE;
    action_lane(b, &a, m, 0, y);
    action_lane(b, &a, m, 1, y + TL_LANE);
    vertical(b, x_of(&a, as_of), height,
             "stroke=\"#000\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"", "作成時点 as of",
             TL_TOP - 28, "middle");
    /* The legend. */
    static const struct {
        const char *state, *label;
    } legend[] = {{"open", "期限前 open"},
                  {"met", "履行済み met"},
                  {"met_late", "期限後に履行 met late"},
                  {"overdue", "期限超過 OVERDUE"},
                  {"closed", "終結 closed"}};
    for (size_t k = 0; k < sizeof legend / sizeof legend[0]; k++) {
        int x = TL_LEFT + (int)k * 140;
        buf_printf(b,
                   "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"10\" fill=\"%s\" "
                   "fill-opacity=\"0.75\"/><text x=\"%d\" y=\"%d\" font-size=\"11\">%s"
                   "</text>\n",
                   x, height - 32, colour(legend[k].state), x + 18, height - 23, legend[k].label);
    }
    buf_puts(b, "</svg>");
    if (groups > n)
        buf_printf(b,
                   "<figcaption class=\"note\">図には%zu件のうち%zu件を表示しています"
                   "（すべての期限は下の表にあります）。</figcaption>",
                   groups, n);
    buf_puts(b, "</figure>\n");
}
