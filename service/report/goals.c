/* goals.c: see goals.h. */
#include "report/goals.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/calendar.h"
#include "report/report_render.h"

struct goals {
    const struct config *cfg;
    long today;
    struct report **reports;    /* one per goal, in the config's order */
    size_t n;
};

/* The first and last day goal g counts, today being today (last < first
 * when none has come yet). */
static void goal_span(const struct goal_config *g, long today, long *first, long *last)
{
    long by = config_date_days(g->by);
    *first = g->from[0] ? config_date_days(g->from) : cal_year_before(by);
    *last = today < by ? today : by;
}

struct goals *goals_new(const struct config *cfg, long today)
{
    struct goals *g = calloc(1, sizeof *g);
    if (!g || !(g->reports = calloc(cfg->ngoals + 1, sizeof *g->reports))) {
        free(g);
        return NULL;
    }
    g->cfg = cfg;
    g->today = today;
    for (size_t i = 0; i < cfg->ngoals; i++) {
        const struct goal_config *gc = &cfg->goals[i];
        struct report_query q;
        report_query_init(&q);
        goal_span(gc, today, &q.from, &q.to);
        q.group[q.ngroup++] = REPORT_DAY;
        struct report_segment seg = {gc->catalogue, gc->branch,
                                     gc->channel >= 0 ? channel_names[gc->channel] : NULL,
                                     gc->arm};
        if (!(g->reports[i] = report_new(cfg, &q, &seg, (size_t)report_query_days(&q) + 1))) {
            goals_free(g);
            return NULL;
        }
        g->n++;
    }
    return g;
}

void goals_free(struct goals *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++)
        report_free(g->reports[i]);
    free(g->reports);
    free(g);
}

struct report *const *goals_reports(const struct goals *g, size_t *n)
{
    *n = g->n;
    return g->reports;
}

enum report_status goals_finish(struct goals *g)
{
    for (size_t i = 0; i < g->n; i++) {
        enum report_status st = report_finish(g->reports[i]);
        if (st != REPORT_OK)
            return st;
    }
    return REPORT_OK;
}

/* k and n of the goal's rate over the days first..last of its report. */
static void sum_days(const struct report *r, enum rate metric, long first, long last,
                     uint64_t *k, uint64_t *n)
{
    *k = *n = 0;
    for (size_t i = 0; i < report_nrows(r); i++) {
        const struct report_row *row = report_row(r, i);
        long day = report_row_day(r, row);
        if (day >= first && day <= last) {
            *k += row->rate_count[metric];
            *n += row->count[RU_ON_LOAN];
        }
    }
}

/* {["from", "to",] "on_loan", "value", "low", "high"} of k of n; the
 * rates null when n is 0. */
static json_t *estimate_json(json_t *o, uint64_t k, uint64_t n, struct estimate *e)
{
    rate_wilson(k, n, e);
    if (!o)
        return NULL;
    if (json_object_set_new(o, "on_loan", json_integer((json_int_t)n)) < 0 ||
        json_object_set_new(o, "value", e->known ? json_real(e->value) : json_null()) < 0 ||
        json_object_set_new(o, "low", e->known ? json_real(e->low) : json_null()) < 0 ||
        json_object_set_new(o, "high", e->known ? json_real(e->high) : json_null()) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *span_json(long first, long last, uint64_t k, uint64_t n, struct estimate *e)
{
    char a[CAL_DATE_BYTES + 1], b[CAL_DATE_BYTES + 1];
    cal_date_text(first, a);
    cal_date_text(last, b);
    return estimate_json(json_pack("{s:s, s:s}", "from", a, "to", b), k, n, e);
}

static json_t *segment_json(const struct goal_config *gc)
{
    json_t *s = json_object();
    if (s && ((gc->catalogue && json_object_set_new(s, "catalogue", json_string(gc->catalogue))) ||
              (gc->branch && json_object_set_new(s, "branch", json_string(gc->branch))) ||
              (gc->channel >= 0 &&
               json_object_set_new(s, "channel", json_string(channel_names[gc->channel]))) ||
              (gc->arm && json_object_set_new(s, "arm", json_string(gc->arm))))) {
        json_decref(s);
        return NULL;
    }
    return s;
}

static json_t *goal_json(const struct goals *g, size_t i)
{
    const struct goal_config *gc = &g->cfg->goals[i];
    const struct report *r = g->reports[i];
    long first, last;
    goal_span(gc, g->today, &first, &last);
    long by = config_date_days(gc->by);
    char from_text[CAL_DATE_BYTES + 1];
    cal_date_text(first, from_text);
    json_t *o = json_pack("{s:s, s:s, s:f, s:s, s:s, s:o, s:I}", "name", gc->name, "metric",
                          rate_names[gc->metric], "target", gc->target, "from", from_text, "by",
                          gc->by, "segment", segment_json(gc), "days_left",
                          (json_int_t)(by > g->today ? by - g->today : 0));
    if (!o)
        return NULL;
    int started = last >= first;
    long recent_first = last - (GOAL_RECENT_DAYS - 1) > first ? last - (GOAL_RECENT_DAYS - 1)
                                                              : first;
    uint64_t k, n;
    struct estimate cur = {0, 0, 0, 0}, recent = {0, 0, 0, 0};
    json_t *current = json_null(), *rec = json_null(), *weeks = json_array();
    if (started) {
        sum_days(r, gc->metric, first, last, &k, &n);
        current = span_json(first, last, k, n, &cur);
        sum_days(r, gc->metric, recent_first, last, &k, &n);
        rec = span_json(recent_first, last, k, n, &recent);
    }
    int rc = current && rec && weeks ? 0 : -1;
    for (long monday = cal_monday(first); rc == 0 && started && monday <= last; monday += 7) {
        char week[CAL_WEEK_BYTES + 1];
        struct estimate e;
        cal_week_text(monday, week);
        sum_days(r, gc->metric, monday, monday + 6, &k, &n);
        rc = json_array_append_new(weeks, estimate_json(json_pack("{s:s}", "week", week), k, n,
                                                        &e));
    }
    if (rc == 0) {
        rc = json_object_set_new(o, "current", current) |
             json_object_set_new(o, "recent", rec) | json_object_set_new(o, "weeks", weeks) |
             json_object_set_new(o, "on_track", recent.known ? json_boolean(recent.value >=
                                                                            gc->target)
                                                             : json_null()) |
             json_object_set_new(o, "met", recent.known ? json_boolean(recent.low >= gc->target)
                                                        : json_null());
    } else {
        json_decref(current);
        json_decref(rec);
        json_decref(weeks);
    }
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *goals_json(const struct goals *g)
{
    char today[CAL_DATE_BYTES + 1];
    cal_date_text(g->today, today);
    json_t *list = json_array();
    json_t *doc = list ? json_pack("{s:s, s:O}", "today", today, "goals", list) : NULL;
    int rc = doc ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < g->n; i++)
        rc = json_array_append_new(list, goal_json(g, i));
    json_decref(list);
    if (rc) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

static int add_to_evbuffer(const char *buffer, size_t size, void *data)
{
    return evbuffer_add(data, buffer, size);
}

int goals_write(const struct goals *g, struct evbuffer *out)
{
    json_t *doc = goals_json(g);
    int rc = doc ? json_dump_callback(doc, add_to_evbuffer, out, REPORT_JSON_FLAGS) : -1;
    json_decref(doc);
    return rc < 0 || evbuffer_add(out, "\n", 1) < 0 ? -1 : 0;
}
