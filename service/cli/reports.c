/* reports.c: onloan report; see reports.h. */
#include "cli/reports.h"

#include <errno.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/loader.h"
#include "core/calendar.h"
#include "report/goals.h"
#include "report/report_read.h"
#include "report/report_render.h"

#define CONNECT_MS 5000

static void usage(void)
{
    fprintf(stderr,
            "usage: onloan [-c config.json] report [--from YYYY-MM-DD] [--to YYYY-MM-DD]\n"
            "                                  [--group day,week,month,catalogue,branch,channel,"
            "status,arm]\n"
            "                                  [--format table|csv|json]\n"
            "       onloan [-c config.json] report --goals [--format table|json]\n");
}

/* ---- reading ------------------------------------------------------------------ */

struct read_state {
    int done;
    enum failure why;
    enum report_status status;
};

static void read_done(enum failure why, enum report_status status, void *arg)
{
    struct read_state *s = arg;
    s->why = why;
    s->status = status;
    s->done = 1;
}

/* Reads the n reports' days through the CLI's own loop: 0, or 1 or 2
 * (the exit status) after saying why on stderr. */
static int read_reports(const struct config *cfg, struct report_cells *cells,
                        struct report *const *reports, size_t n)
{
    struct loader run;
    struct strbuf err = {0};
    if (loader_open(&run, cfg, CONNECT_MS, &err) < 0) {
        fputs(strbuf_cstr(&err), stderr);
        strbuf_free(&err);
        return 1;
    }
    struct read_state s = {0};
    if (!report_read_start(run.st, cfg, cells, reports, n, read_done, &s))
        s = (struct read_state){1, FAILURE_NONE, REPORT_NO_MEMORY};
    while (!s.done)
        event_base_loop(run.base, EVLOOP_ONCE);
    loader_close(&run);
    if (s.why) {
        fprintf(stderr, "onloan report: the report counters could not be read: %s\n",
                failure_name(s.why));
        return 1;
    }
    if (s.status == REPORT_TOO_MANY_ROWS) {
        fprintf(stderr, "onloan report: group: the report would have more than "
                "reports.max_rows (%d) rows: group by fewer keys or ask for fewer days\n",
                cfg->report_max_rows);
        return 2;
    }
    if (s.status != REPORT_OK) {
        fprintf(stderr, "onloan report: out of memory\n");
        return 1;
    }
    return 0;
}

/* ---- writing ------------------------------------------------------------------ */

/* Writes out's bytes to standard output. -1 when that fails. */
static int drain(struct evbuffer *out)
{
    while (evbuffer_get_length(out)) {
        int n = evbuffer_write(out, STDOUT_FILENO);
        if (n < 0 && errno != EINTR && errno != EAGAIN)
            return -1;
    }
    return 0;
}

/* As onloand writes it, a large report in two halves at once (without a
 * loop: report_render_some waits for the second there). */
static int write_rendered(const struct report *r, enum report_format format)
{
    struct report_render *rr = report_render_new(r, format);
    struct evbuffer *out = evbuffer_new();
    int done = rr && out ? 0 : -1;
    if (done == 0 && report_render_split(rr, REPORT_RENDER_SPLIT_ROWS, NULL, NULL, NULL) < 0)
        fprintf(stderr, "onloan report: no thread for the second half (%s): written on one\n",
                strerror(errno));
    while (done == 0) {
        done = report_render_some(rr, out, REPORT_RENDER_SLICE);
        if (done >= 0 && drain(out) < 0) {
            fprintf(stderr, "onloan report: standard output: %s\n", strerror(errno));
            done = -2;
        }
    }
    if (done == -1)
        fprintf(stderr, "onloan report: out of memory\n");
    report_render_free(rr);
    if (out)
        evbuffer_free(out);
    return done < 0 ? 1 : 0;
}

/* A table: cells of text, row after row, aligned when printed. */
struct table {
    char **cell;                /* owned */
    size_t n, cap, cols;
    int *right;                 /* per column: right-aligned */
};

static int table_put(struct table *t, const char *text)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        char **grown = realloc(t->cell, cap * sizeof *grown);
        if (!grown)
            return -1;
        t->cell = grown;
        t->cap = cap;
    }
    if (!(t->cell[t->n] = strdup(text)))
        return -1;
    t->n++;
    return 0;
}

static void table_free(struct table *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->cell[i]);
    free(t->cell);
    free(t->right);
}

static int table_print(const struct table *t)
{
    size_t *w = calloc(t->cols, sizeof *w);
    if (!w)
        return -1;
    for (size_t i = 0; i < t->n; i++)
        if (strlen(t->cell[i]) > w[i % t->cols])
            w[i % t->cols] = strlen(t->cell[i]);
    for (size_t i = 0; i < t->n; i++) {
        size_t c = i % t->cols;
        int last = c + 1 == t->cols;
        if (t->right[c])
            printf("%*s", (int)w[c], t->cell[i]);
        else if (last)
            fputs(t->cell[i], stdout);
        else
            printf("%-*s", (int)w[c], t->cell[i]);
        fputs(last ? "\n" : "  ", stdout);
    }
    free(w);
    return 0;
}

static void percent_text(const struct estimate *e, char *out, size_t size)
{
    if (!e->known)
        snprintf(out, size, "-");
    else
        snprintf(out, size, "%.2f %% [%.2f, %.2f]", 100 * e->value, 100 * e->low, 100 * e->high);
}

static void difference_text(const struct estimate *e, char *out, size_t size)
{
    if (!e->known)
        snprintf(out, size, "-");
    else
        snprintf(out, size, "%+.2f pp [%+.2f, %+.2f]", 100 * e->value, 100 * e->low,
                 100 * e->high);
}

/* One row of the table (row NULL: the header; total: the total's). */
static int table_row(struct table *t, const struct report *r, const struct report_row *row,
                     int total)
{
    const struct report_query *q = report_query_of(r);
    int with_arm = report_has_key(r, REPORT_ARM);
    char text[96];
    int rc = 0;
    for (size_t i = 0; i < q->ngroup; i++) {
        const char *v = !row ? report_key_names[q->group[i]]
                        : total ? (i == 0 ? "total" : "")
                                : report_key_value(r, row, q->group[i]);
        rc |= table_put(t, v ? v : "-");
    }
    for (int c = 0; c < RU_NCOUNTERS; c++) {
        snprintf(text, sizeof text, "%llu", row ? (unsigned long long)row->count[c] : 0ULL);
        rc |= table_put(t, row ? text : ru_counter_names[c]);
    }
    for (int k = 0; k < NRATES; k++) {
        struct estimate e = {0, 0, 0, 0};
        if (row)
            report_rate(row, (enum rate)k, &e);
        percent_text(&e, text, sizeof text);
        rc |= table_put(t, row ? text : rate_names[k]);
    }
    if (!with_arm)
        return rc;
    const struct report_row *ref = NULL;
    const char *arm = row && !total ? report_reference(r, row, &ref) : NULL;
    rc |= table_put(t, !row ? "vs" : arm ? arm : "-");
    for (int k = 0; k < NRATES; k++) {
        struct estimate e = {0, 0, 0, 0};
        if (arm && ref)
            report_difference(row, ref, (enum rate)k, &e);
        difference_text(&e, text, sizeof text);
        char head[64];
        snprintf(head, sizeof head, "%s difference", rate_names[k]);
        rc |= table_put(t, row ? text : head);
    }
    return rc;
}

static int write_table(const struct config *cfg, const struct report *r)
{
    const struct report_query *q = report_query_of(r);
    char from[CAL_DATE_BYTES + 1], to[CAL_DATE_BYTES + 1];
    cal_date_text(q->from, from);
    cal_date_text(q->to, to);
    printf("outcomes from %s to %s", from, to);
    for (size_t i = 0; i < q->ngroup; i++)
        printf("%s%s", i ? ", " : ", by ", report_key_names[q->group[i]]);
    printf(" (rates per on-loan touchpoint, 95 %% intervals)\n");
    if (report_has_key(r, REPORT_ARM))
        for (size_t i = 0; i < cfg->nexperiments; i++) {
            int control;
            const struct arm_config *ref = report_reference_arm(&cfg->experiments[i], &control);
            printf("experiment %s: arms compared with %s (%s)\n", cfg->experiments[i].name,
                   ref->name, control ? "the control: no alternatives"
                                      : "its first arm: none shows no alternatives");
        }
    struct table t = {0};
    t.cols = q->ngroup + RU_NCOUNTERS + NRATES + (report_has_key(r, REPORT_ARM) ? 1 + NRATES : 0);
    int rc = (t.right = calloc(t.cols, sizeof *t.right)) ? 0 : -1;
    for (size_t c = q->ngroup; rc == 0 && c < t.cols; c++)
        t.right[c] = c != q->ngroup + RU_NCOUNTERS + NRATES;     /* the "vs" arm: left */
    if (rc == 0)
        rc = table_row(&t, r, NULL, 0);
    for (size_t i = 0; rc == 0 && i < report_nrows(r); i++)
        rc = table_row(&t, r, report_row(r, i), 0);
    if (rc == 0 && q->ngroup)
        rc = table_row(&t, r, report_total(r), 1);
    if (rc == 0)
        rc = table_print(&t);
    table_free(&t);
    if (rc < 0) {
        fprintf(stderr, "onloan report: out of memory\n");
        return 1;
    }
    return 0;
}

/* ---- goals -------------------------------------------------------------------- */

static void estimate_from_json(const json_t *o, struct estimate *e)
{
    const json_t *v = json_object_get(o, "value");
    e->known = json_is_number(v);
    e->value = json_number_value(v);
    e->low = json_number_value(json_object_get(o, "low"));
    e->high = json_number_value(json_object_get(o, "high"));
}

static const char *verdict(const json_t *v)
{
    return json_is_true(v) ? "yes" : json_is_false(v) ? "no" : "- (no on-loan touchpoints)";
}

static void goal_table(const json_t *goal)
{
    char text[96];
    printf("%s: %s to %.2f %% by %s (%lld days left)", json_string_value(json_object_get(goal, "name")),
           json_string_value(json_object_get(goal, "metric")),
           100 * json_number_value(json_object_get(goal, "target")),
           json_string_value(json_object_get(goal, "by")),
           (long long)json_integer_value(json_object_get(goal, "days_left")));
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(goal, "segment"), key, v)
        printf(", %s %s", key, json_string_value(v));
    printf("\n");
    static const char *const spans[] = {"current", "recent"};
    for (int i = 0; i < 2; i++) {
        const json_t *s = json_object_get(goal, spans[i]);
        if (!json_is_object(s)) {
            printf("  %-8s -: counted from %s\n", spans[i],
                   json_string_value(json_object_get(goal, "from")));
            continue;
        }
        struct estimate e;
        estimate_from_json(s, &e);
        percent_text(&e, text, sizeof text);
        printf("  %-8s %s over %s..%s, %lld on-loan touchpoints\n", spans[i], text,
               json_string_value(json_object_get(s, "from")),
               json_string_value(json_object_get(s, "to")),
               (long long)json_integer_value(json_object_get(s, "on_loan")));
    }
    printf("  on track: %s; met: %s\n", verdict(json_object_get(goal, "on_track")),
           verdict(json_object_get(goal, "met")));
    size_t i;
    json_array_foreach(json_object_get(goal, "weeks"), i, v) {
        struct estimate e;
        estimate_from_json(v, &e);
        percent_text(&e, text, sizeof text);
        printf("  %s  %8lld  %s\n", json_string_value(json_object_get(v, "week")),
               (long long)json_integer_value(json_object_get(v, "on_loan")), text);
    }
}

static int goals_cmd(const struct config *cfg, enum report_format format)
{
    struct goals *g = goals_new(cfg, cal_today(time(NULL)));
    struct report_cells *cells = report_cells_new();
    int rc = 1;
    if (!g || !cells) {
        fprintf(stderr, "onloan report: out of memory\n");
    } else {
        size_t n;
        struct report *const *reports = goals_reports(g, &n);
        rc = read_reports(cfg, cells, reports, n);
        if (rc == 0 && goals_finish(g) != REPORT_OK) {
            fprintf(stderr, "onloan report: out of memory\n");
            rc = 1;
        }
    }
    if (rc == 0 && format == REPORT_JSON) {
        struct evbuffer *out = evbuffer_new();
        rc = out && goals_write(g, out) == 0 ? 0 : 1;
        if (rc)
            fprintf(stderr, "onloan report: out of memory\n");
        else if (drain(out) < 0)
            rc = 1;
        if (out)
            evbuffer_free(out);
    } else if (rc == 0) {
        json_t *doc = goals_json(g);
        size_t i;
        json_t *goal;
        if (!doc) {
            fprintf(stderr, "onloan report: out of memory\n");
            rc = 1;
        } else if (json_array_size(json_object_get(doc, "goals")) == 0) {
            printf("no goals in the configuration (goals)\n");
        }
        json_array_foreach(json_object_get(doc, "goals"), i, goal) {
            if (i)
                printf("\n");
            goal_table(goal);
        }
        json_decref(doc);
    }
    goals_free(g);
    report_cells_free(cells);
    return rc;
}

/* ---- the command ---------------------------------------------------------------- */

int reports_main(const struct config *cfg, int argc, char **argv)
{
    struct report_query q;
    struct report_error err = {0};
    report_query_init(&q);
    q.format = REPORT_TABLE;
    int goals = 0, ranged = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--goals") == 0) {
            goals = 1;
            continue;
        }
        static const char *const options[] = {"from", "to", "group", "format", NULL};
        const char *name = NULL, *value = NULL;
        for (int o = 0; options[o] && !name; o++) {
            size_t n = strlen(options[o]);
            if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, options[o], n) != 0)
                continue;
            if (a[2 + n] == '=')
                value = a + 3 + n;
            else if (a[2 + n] == '\0' && i + 1 < argc)
                value = argv[++i];
            else if (a[2 + n] != '\0')
                continue;
            name = options[o];
        }
        if (!name || !value) {
            if (name)
                fprintf(stderr, "onloan report: --%s needs a value\n", name);
            usage();
            return 2;
        }
        if (report_query_set(&q, name, value, 1, &err) < 0) {
            fprintf(stderr, "onloan report: %s: %s\n", err.field, err.message);
            return 2;
        }
        ranged |= strcmp(name, "format") != 0;
    }
    if (goals) {
        if (ranged || q.format == REPORT_CSV) {
            fprintf(stderr, "onloan report: --goals takes only --format table or json\n");
            return 2;
        }
        return goals_cmd(cfg, q.format);
    }
    if (report_query_finish(&q, cfg, cal_today(time(NULL)), &err) < 0) {
        fprintf(stderr, "onloan report: %s: %s\n", err.field, err.message);
        return 2;
    }
    struct report_cells *cells = report_cells_new();
    struct report *r = cells ? report_new(cfg, &q, NULL, (size_t)cfg->report_max_rows) : NULL;
    int rc;
    if (!r) {
        fprintf(stderr, "onloan report: out of memory\n");
        rc = 1;
    } else if ((rc = read_reports(cfg, cells, &r, 1)) == 0) {
        if (report_finish(r) != REPORT_OK) {
            fprintf(stderr, "onloan report: out of memory\n");
            rc = 1;
        } else if (q.format == REPORT_TABLE) {
            rc = write_table(cfg, r);
        } else {
            rc = write_rendered(r, q.format);
        }
    }
    report_free(r);
    report_cells_free(cells);
    return rc;
}
