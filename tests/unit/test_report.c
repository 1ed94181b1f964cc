/* test_report.c: the outcomes report's arithmetic (report/report.h): the
 * query and its errors, cells, rows by every key, rates over on-loan
 * touchpoints only, experiment arms against their reference, limits; its
 * JSON and CSV (report_render.h), a large report's in two halves on two
 * threads too; and the goals (goals.h). Day strings are made here as
 * rollup.h lays them out. */
#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "core/calendar.h"
#include "report/goals.h"
#include "report/report.h"
#include "report/report_render.h"
#include "unit.h"

static struct config *cfg;

/* Experiment x has a control (ctl shows no alternatives); y has none, so
 * its first arm (a) is the reference. Two goals. */
#define REPORT_CONFIG \
    "{\"privacy\": {\"patron_key\": " \
    "\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"}, " UNIT_TOUCHPOINTS "," \
    " \"reports\": {\"max_days\": 40, \"max_rows\": 1000}," \
    " \"experiments\": [" \
    "  {\"name\": \"x\", \"from\": \"2026-11-01\", \"until\": \"2027-01-01\", \"channels\": [\"opac\"]," \
    "   \"arms\": [{\"name\": \"alt\", \"share\": 50}, {\"name\": \"ctl\", \"share\": 50, \"alternatives\": 0}]}," \
    "  {\"name\": \"y\", \"from\": \"2026-11-01\", \"until\": \"2027-01-01\", \"channels\": [\"app\"]," \
    "   \"arms\": [{\"name\": \"a\", \"share\": 50}, {\"name\": \"b\", \"share\": 50, \"alternatives\": 3}]}]," \
    " \"goals\": [" \
    "  {\"name\": \"reserve at CEN\", \"metric\": \"reserve_rate\", \"target\": 0.25, \"from\": \"2026-11-20\"," \
    "   \"by\": \"2026-12-25\", \"segment\": {\"branch\": \"CEN\", \"channel\": \"opac\"}}," \
    "  {\"name\": \"later\", \"metric\": \"click_rate\", \"target\": 0.5, \"from\": \"2026-12-10\"," \
    "   \"by\": \"2026-12-31\"}]," \
    " \"catalogues\": [{\"name\": \"demo\", \"target\": \"127.0.0.1:2100/demo\"," \
    " \"link\": {\"plugin\": \"koha\", \"base_url\": \"https://x\"}}]}"

static const char *const cell_names[] = {
    "demo|CEN|opac|on_loan|",       /* 0 */
    "demo|CEN|opac|available|",     /* 1 */
    "demo|NRD|kiosk|on_loan|",      /* 2 */
    "demo||opac|on_loan|",          /* 3: no branch */
    "demo|CEN|opac|on_loan|alt",    /* 4 */
    "demo|CEN|opac|on_loan|ctl",    /* 5 */
    "demo|CEN|app|on_loan|a",       /* 6 */
    "demo|CEN|app|on_loan|b",       /* 7 */
};
#define NCELLS 8

/* Counters of one day: cell x counter. */
struct day {
    uint32_t c[NCELLS][RU_NCOUNTERS];
};

static long D(const char *date)
{
    return config_date_days(date);
}

/* The day as Redis has it: big-endian u32s, cut after the last counter
 * that is not 0, as BITFIELD leaves it (the rest reads as 0). */
static unsigned char *day_string(const struct day *d, size_t *len)
{
    unsigned char *s = calloc(NCELLS * RU_NCOUNTERS, 4);
    size_t used = 0;
    for (int n = 0; n < NCELLS; n++)
        for (int c = 0; c < RU_NCOUNTERS; c++) {
            uint32_t v = d->c[n][c];
            unsigned char *p = s + ((size_t)n * RU_NCOUNTERS + (size_t)c) * 4;
            p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
            p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
            if (v)
                used = ((size_t)n * RU_NCOUNTERS + (size_t)c + 1) * 4;
        }
    *len = used;
    return s;
}

/* Three days: Sunday 29 November (ISO week 48), Monday 30 November and
 * Tuesday 1 December (week 49, another month). */
static struct day days[3];
static const char *const day_dates[3] = {"2026-11-29", "2026-11-30", "2026-12-01"};

static void set(int day, int cell, uint32_t touchpoints, uint32_t click, uint32_t reserve,
                uint32_t attributed_borrow)
{
    uint32_t *c = days[day].c[cell];
    int on_loan = strstr(cell_names[cell], "|on_loan|") != NULL;
    c[RU_TOUCHPOINTS] = touchpoints;
    c[RU_ON_LOAN] = on_loan ? touchpoints : 0;
    c[RU_WITH_ALTERNATIVES] = touchpoints / 2;
    c[RU_SHOWN] = touchpoints;
    c[RU_CLICK] = click;
    c[RU_RESERVE] = reserve;
    c[RU_ATTRIBUTED_BORROW] = attributed_borrow;
}

static void make_days(void)
{
    memset(days, 0, sizeof days);
    set(0, 0, 10, 2, 1, 1);
    set(0, 1, 5, 3, 0, 0);          /* available: counts, but in no rate */
    set(0, 2, 4, 1, 1, 0);
    set(1, 0, 20, 5, 2, 2);
    set(1, 3, 6, 1, 0, 0);
    set(1, 4, 40, 10, 4, 4);
    set(1, 5, 30, 3, 6, 0);
    set(2, 0, 8, 0, 0, 0);
    set(2, 6, 12, 6, 3, 1);
    set(2, 7, 10, 2, 1, 1);
}

static struct report_cells *cells_new(void)
{
    struct report_cells *c = report_cells_new();
    for (int n = 0; n < NCELLS; n++) {
        char num[16];
        snprintf(num, sizeof num, "%d", n);
        CHECK(report_cells_add(c, cell_names[n], strlen(cell_names[n]), num, strlen(num)) == 0);
    }
    /* skipped: four parts, a bad number, a number given twice, a control byte */
    CHECK(report_cells_add(c, "demo|CEN|opac|on_loan", 21, "20", 2) == 0);
    CHECK(report_cells_add(c, "demo|CEN|kiosk|on_loan|", 23, "1x", 2) == 0);
    CHECK(report_cells_add(c, "demo|CEN|kiosk|on_loan|", 23, "3", 1) == 0);
    CHECK(report_cells_add(c, "demo|C\tN|kiosk|on_loan|", 23, "30", 2) == 0);
    CHECK(report_cells_add(c, "demo|CEN|kiosk|on_loan|", 23, "99999999", 8) == 0);
    CHECK(report_cells_count(c) == NCELLS);
    CHECK(report_cells_skipped(c) == 5);
    CHECK(report_cells_span(c) == NCELLS);
    return c;
}

/* A report of the three days grouped by group ("" for none), read. */
static struct report *run(struct report_cells *cells, const char *group,
                          const struct report_segment *seg, size_t max_rows,
                          enum report_status *st)
{
    struct report_query q;
    struct report_error err;
    report_query_init(&q);
    CHECK(report_query_set(&q, "from", "2026-11-29", 0, &err) == 0);
    CHECK(report_query_set(&q, "to", "2026-12-01", 0, &err) == 0);
    CHECK(report_query_set(&q, "group", group, 0, &err) == 0);
    CHECK(report_query_finish(&q, cfg, D("2026-12-04"), &err) == 0);
    struct report *r = report_new(cfg, &q, seg, max_rows);
    *st = report_bind(r, cells);
    for (int i = 0; i < 3 && *st == REPORT_OK; i++) {
        size_t len;
        unsigned char *s = day_string(&days[i], &len);
        *st = report_add_day(r, D(day_dates[i]), s, len);
        free(s);
    }
    if (*st == REPORT_OK)
        *st = report_finish(r);
    return r;
}

static struct strbuf t;

/* "value=value=count ..." of every row: its keys' values ("-": none) and
 * the given counter. */
static const char *rows_text(const struct report *r, enum ru_counter c)
{
    strbuf_reset(&t);
    const struct report_query *q = report_query_of(r);
    for (size_t i = 0; i < report_nrows(r); i++) {
        const struct report_row *row = report_row(r, i);
        if (i)
            strbuf_puts(&t, " ");
        for (size_t k = 0; k < q->ngroup; k++) {
            const char *v = report_key_value(r, row, q->group[k]);
            strbuf_printf(&t, "%s=", v ? v : "-");
        }
        strbuf_printf(&t, "%llu", (unsigned long long)row->count[c]);
    }
    return strbuf_cstr(&t);
}

static const char *field_of(const char *name, const char *value, int table_ok)
{
    static struct report_error err;
    struct report_query q;
    report_query_init(&q);
    if (report_query_set(&q, name, value, table_ok, &err) == 0)
        return "(accepted)";
    return err.field;
}

TEST(query_parameters)
{
    CHECK_STR(field_of("from", "2026-12-01", 0), "(accepted)");
    CHECK_STR(field_of("from", "2026-02-30", 0), "from");
    CHECK_STR(field_of("to", "yesterday", 0), "to");
    CHECK_STR(field_of("to", "2026-12-1", 0), "to");
    CHECK_STR(field_of("group", "day,branch", 0), "(accepted)");
    CHECK_STR(field_of("group", "", 0), "(accepted)");
    CHECK_STR(field_of("group", "day,shelf", 0), "group");
    CHECK_STR(field_of("group", "day,,branch", 0), "group");
    CHECK_STR(field_of("group", "day,", 0), "group");
    CHECK_STR(field_of("group", "branch,branch", 0), "group");
    CHECK_STR(field_of("group", "DAY", 0), "group");
    CHECK_STR(field_of("format", "csv", 0), "(accepted)");
    CHECK_STR(field_of("format", "table", 0), "format");    /* the CLI's only */
    CHECK_STR(field_of("format", "table", 1), "(accepted)");
    CHECK_STR(field_of("format", "xml", 0), "format");
    struct report_query q;
    struct report_error err;
    report_query_init(&q);
    CHECK(report_query_set(&q, "group", "week,arm,status", 0, &err) == 0);
    CHECK(q.ngroup == 3 && q.group[0] == REPORT_WEEK && q.group[1] == REPORT_ARM &&
          q.group[2] == REPORT_STATUS);
    CHECK(report_query_set(&q, "group", "day,shelf", 0, &err) < 0);
    CHECK(strstr(err.message, "day, week, month, catalogue, branch, channel, status, arm"));
}

TEST(query_span)
{
    struct report_query q;
    struct report_error err;
    long today = D("2026-12-04");
    /* defaults: the 30 days up to today */
    report_query_init(&q);
    CHECK(report_query_finish(&q, cfg, today, &err) == 0);
    CHECK(q.to == today && q.from == today - 29 && report_query_days(&q) == 30);
    CHECK(q.format == REPORT_JSON && q.ngroup == 0);
    /* to before from: to is named; from after today with no to: from is */
    report_query_init(&q);
    report_query_set(&q, "from", "2026-12-02", 0, &err);
    report_query_set(&q, "to", "2026-12-01", 0, &err);
    CHECK(report_query_finish(&q, cfg, today, &err) < 0);
    CHECK_STR(err.field, "to");
    report_query_init(&q);
    report_query_set(&q, "from", "2026-12-05", 0, &err);
    CHECK(report_query_finish(&q, cfg, today, &err) < 0);
    CHECK_STR(err.field, "from");
    /* one day: from = to */
    report_query_init(&q);
    report_query_set(&q, "from", "2026-12-01", 0, &err);
    report_query_set(&q, "to", "2026-12-01", 0, &err);
    CHECK(report_query_finish(&q, cfg, today, &err) == 0 && report_query_days(&q) == 1);
    /* reports.max_days (40 here): from and to both count */
    report_query_init(&q);
    report_query_set(&q, "from", "2026-11-01", 0, &err);
    report_query_set(&q, "to", "2026-12-10", 0, &err);
    CHECK(report_query_finish(&q, cfg, today, &err) == 0 && report_query_days(&q) == 40);
    report_query_init(&q);
    report_query_set(&q, "from", "2026-10-31", 0, &err);
    report_query_set(&q, "to", "2026-12-10", 0, &err);
    CHECK(report_query_finish(&q, cfg, today, &err) < 0);
    CHECK_STR(err.field, "to");
    CHECK(strstr(err.message, "41 days") && strstr(err.message, "reports.max_days (40"));
    report_query_init(&q);
    report_query_set(&q, "from", "2026-10-01", 0, &err);   /* to: today */
    CHECK(report_query_finish(&q, cfg, today, &err) < 0);
    CHECK_STR(err.field, "from");
}

TEST(rows_by_day_and_branch)
{
    make_days();
    struct report_cells *cells = cells_new();
    enum report_status st;
    struct report *r = run(cells, "day,branch", NULL, 1000, &st);
    CHECK(st == REPORT_OK);
    /* a missing branch sorts first; rows nothing counted in are left out */
    CHECK_STR(rows_text(r, RU_TOUCHPOINTS),
              "2026-11-29=CEN=15 2026-11-29=NRD=4 2026-11-30=-=6 2026-11-30=CEN=90 "
              "2026-12-01=CEN=30");
    CHECK_STR(rows_text(r, RU_ON_LOAN),
              "2026-11-29=CEN=10 2026-11-29=NRD=4 2026-11-30=-=6 2026-11-30=CEN=90 "
              "2026-12-01=CEN=30");
    /* the clicks of the available cell count, but not in click_rate */
    const struct report_row *row = report_row(r, 0);
    CHECK(row->count[RU_CLICK] == 5 && row->rate_count[RATE_CLICK] == 2);
    struct estimate e, want;
    report_rate(row, RATE_CLICK, &e);
    rate_wilson(2, 10, &want);
    CHECK(e.known && e.value == 0.2 && e.low == want.low && e.high == want.high);
    report_rate(row, RATE_ALTERNATIVE_BORROW, &e);
    CHECK(e.known && e.value == 0.1);
    const struct report_row *total = report_total(r);
    CHECK(total->count[RU_TOUCHPOINTS] == 145 && total->count[RU_ON_LOAN] == 140);
    CHECK(total->count[RU_CLICK] == 33 && total->rate_count[RATE_CLICK] == 30);
    CHECK(total->rate_count[RATE_RESERVE] == 18 && total->rate_count[RATE_ALTERNATIVE_BORROW] == 9);
    report_free(r);
    /* the same rows whatever the order of the keys; sorted by the first */
    r = run(cells, "branch,day", NULL, 1000, &st);
    CHECK_STR(rows_text(r, RU_TOUCHPOINTS),
              "-=2026-11-30=6 CEN=2026-11-29=15 CEN=2026-11-30=90 CEN=2026-12-01=30 "
              "NRD=2026-11-29=4");
    report_free(r);
    report_cells_free(cells);
}

TEST(rows_by_week_month_channel_status)
{
    make_days();
    struct report_cells *cells = cells_new();
    enum report_status st;
    struct report *r = run(cells, "week", NULL, 1000, &st);
    CHECK_STR(rows_text(r, RU_TOUCHPOINTS), "2026-W48=19 2026-W49=126");
    report_free(r);
    r = run(cells, "month", NULL, 1000, &st);
    CHECK_STR(rows_text(r, RU_TOUCHPOINTS), "2026-11=115 2026-12=30");
    report_free(r);
    /* week and month: the week of 30 November and 1 December splits */
    r = run(cells, "week,month", NULL, 1000, &st);
    CHECK_STR(rows_text(r, RU_TOUCHPOINTS),
              "2026-W48=2026-11=19 2026-W49=2026-11=96 2026-W49=2026-12=30");
    report_free(r);
    r = run(cells, "channel,status", NULL, 1000, &st);
    CHECK_STR(rows_text(r, RU_TOUCHPOINTS),
              "app=on_loan=22 kiosk=on_loan=4 opac=available=5 opac=on_loan=114");
    CHECK(report_nrows(r) == 4);
    struct estimate e;
    report_rate(report_row(r, 2), RATE_CLICK, &e);     /* available: no on-loan touchpoint */
    CHECK(!e.known);
    report_free(r);
    r = run(cells, "catalogue", NULL, 1000, &st);
    CHECK_STR(rows_text(r, RU_TOUCHPOINTS), "demo=145");
    report_free(r);
    /* no keys: one row, the total */
    r = run(cells, "", NULL, 1000, &st);
    CHECK(report_nrows(r) == 1 && report_row(r, 0)->count[RU_TOUCHPOINTS] == 145);
    CHECK(report_total(r)->count[RU_TOUCHPOINTS] == 145);
    report_free(r);
    report_cells_free(cells);
}

TEST(arms_against_their_reference)
{
    make_days();
    struct report_cells *cells = cells_new();
    enum report_status st;
    struct report *r = run(cells, "arm", NULL, 1000, &st);
    CHECK_STR(rows_text(r, RU_ON_LOAN), "-=48 a=12 alt=40 b=10 ctl=30");
    const struct report_row *ref;
    /* outside experiments, and the references themselves: no difference */
    CHECK(report_reference(r, report_row(r, 0), &ref) == NULL);
    CHECK(report_reference(r, report_row(r, 1), &ref) == NULL);
    CHECK(report_reference(r, report_row(r, 4), &ref) == NULL);
    /* alt against its control ctl */
    CHECK_STR(report_reference(r, report_row(r, 2), &ref), "ctl");
    CHECK(ref == report_row(r, 4));
    struct estimate d = {0, 0, 0, 0}, want;
    if (ref)
        report_difference(report_row(r, 2), ref, RATE_CLICK, &d);
    rate_difference(10, 40, 3, 30, &want);
    CHECK(d.known && d.value == want.value && d.low == want.low && d.high == want.high);
    /* b against a, y's first arm: y has no control */
    CHECK_STR(report_reference(r, report_row(r, 3), &ref), "a");
    CHECK(ref == report_row(r, 1));
    int control;
    CHECK_STR(report_reference_arm(&cfg->experiments[0], &control)->name, "ctl");
    CHECK(control == 1);
    CHECK_STR(report_reference_arm(&cfg->experiments[1], &control)->name, "a");
    CHECK(control == 0);
    report_free(r);
    /* by day and arm: the reference of the same day, or none that day */
    r = run(cells, "day,arm", NULL, 1000, &st);
    CHECK_STR(rows_text(r, RU_ON_LOAN),
              "2026-11-29=-=14 2026-11-30=-=26 2026-11-30=alt=40 2026-11-30=ctl=30 "
              "2026-12-01=-=8 2026-12-01=a=12 2026-12-01=b=10");
    CHECK_STR(report_reference(r, report_row(r, 2), &ref), "ctl");
    CHECK(ref == report_row(r, 3));
    report_free(r);
    /* the difference is to the reference with the same other keys: by
     * branch and arm, NRD's and the branchless rows have none */
    set(1, 5, 0, 0, 0, 0);          /* ctl counted nothing */
    r = run(cells, "arm", NULL, 1000, &st);
    CHECK_STR(report_reference(r, report_row(r, 2), &ref), "ctl");
    CHECK(ref == NULL);             /* named, but with nothing to compare */
    report_free(r);
    report_cells_free(cells);
}

TEST(segments_and_limits)
{
    make_days();
    struct report_cells *cells = cells_new();
    enum report_status st;
    struct report_segment cen_opac = {NULL, "CEN", "opac", NULL};
    struct report *r = run(cells, "day", &cen_opac, 1000, &st);
    CHECK_STR(rows_text(r, RU_TOUCHPOINTS), "2026-11-29=15 2026-11-30=90 2026-12-01=8");
    report_free(r);
    struct report_segment arm = {NULL, NULL, NULL, "alt"};
    r = run(cells, "", &arm, 1000, &st);
    CHECK(report_total(r)->count[RU_TOUCHPOINTS] == 40);
    report_free(r);
    struct report_segment nothing = {"other", NULL, NULL, NULL};
    r = run(cells, "day", &nothing, 1000, &st);
    CHECK(st == REPORT_OK && report_nrows(r) == 0 && report_total(r)->count[RU_TOUCHPOINTS] == 0);
    report_free(r);
    /* max_rows: 5 rows fit in 5, not in 4 */
    r = run(cells, "day,branch", NULL, 5, &st);
    CHECK(st == REPORT_OK && report_nrows(r) == 5);
    report_free(r);
    r = run(cells, "day,branch", NULL, 4, &st);
    CHECK(st == REPORT_TOO_MANY_ROWS);
    report_free(r);
    /* days in ascending order only; days outside the span are ignored */
    struct report_query q;
    struct report_error err;
    report_query_init(&q);
    report_query_set(&q, "from", "2026-11-30", 0, &err);
    report_query_set(&q, "to", "2026-11-30", 0, &err);
    report_query_finish(&q, cfg, D("2026-12-04"), &err);
    r = report_new(cfg, &q, NULL, 10);
    CHECK(report_bind(r, cells) == REPORT_OK);
    size_t len;
    unsigned char *s = day_string(&days[0], &len);
    CHECK(report_add_day(r, D("2026-11-29"), s, len) == REPORT_OK);     /* before: ignored */
    CHECK(report_add_day(r, D("2026-11-30"), s, len) == REPORT_OK);
    CHECK(report_add_day(r, D("2026-11-30"), s, len) == REPORT_OUT_OF_ORDER);
    CHECK(report_add_day(r, D("2026-12-01"), s, len) == REPORT_OK);     /* after: ignored */
    CHECK(report_finish(r) == REPORT_OK && report_total(r)->count[RU_TOUCHPOINTS] == 19);
    free(s);
    report_free(r);
    report_cells_free(cells);
}

/* ---- JSON and CSV ---------------------------------------------------------------- */

static char *render(const struct report *r, enum report_format f, size_t slice)
{
    struct report_render *rr = report_render_new(r, f);
    struct evbuffer *out = evbuffer_new();
    int done = 0, passes = 0;
    while (done == 0) {
        done = report_render_some(rr, out, slice);
        passes++;
    }
    CHECK(done == 1);
    CHECK(passes >= 1);
    size_t n = evbuffer_get_length(out);
    char *text = malloc(n + 1);
    evbuffer_remove(out, text, n);
    text[n] = '\0';
    evbuffer_free(out);
    report_render_free(rr);
    return text;
}

static int near(json_t *v, double want)
{
    return json_is_real(v) && fabs(json_real_value(v) - want) <= fabs(want) * 1e-5 + 1e-9;
}

TEST(json_document)
{
    make_days();
    struct report_cells *cells = cells_new();
    enum report_status st;
    struct report *r = run(cells, "day,branch", NULL, 1000, &st);
    char *text = render(r, REPORT_JSON, 2);     /* a slice of 2 rows: 3 passes */
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    CHECK(doc != NULL);
    CHECK(text[strlen(text) - 1] == '\n');
    CHECK_STR(json_string_value(json_object_get(doc, "from")), "2026-11-29");
    CHECK_STR(json_string_value(json_object_get(doc, "to")), "2026-12-01");
    json_t *group = json_object_get(doc, "group");
    CHECK(json_array_size(group) == 2 &&
          strcmp(json_string_value(json_array_get(group, 1)), "branch") == 0);
    CHECK(!json_object_get(doc, "reference_arms"));
    json_t *rows = json_object_get(doc, "rows");
    CHECK(json_array_size(rows) == 5);
    json_t *first = json_array_get(rows, 0), *branchless = json_array_get(rows, 2);
    CHECK_STR(json_string_value(json_object_get(first, "day")), "2026-11-29");
    CHECK_STR(json_string_value(json_object_get(first, "branch")), "CEN");
    CHECK(json_is_null(json_object_get(branchless, "branch")));
    CHECK(json_integer_value(json_object_get(first, "touchpoints")) == 15);
    CHECK(json_integer_value(json_object_get(first, "click")) == 5);
    CHECK(json_object_size(first) == 2 + RU_NCOUNTERS + NRATES);
    struct estimate want;
    rate_wilson(2, 10, &want);
    json_t *cr = json_object_get(first, "click_rate");
    CHECK(near(json_object_get(cr, "value"), 0.2) && near(json_object_get(cr, "low"), want.low) &&
          near(json_object_get(cr, "high"), want.high));
    json_t *total = json_object_get(doc, "total");
    CHECK(json_integer_value(json_object_get(total, "touchpoints")) == 145);
    CHECK(json_object_size(total) == RU_NCOUNTERS + NRATES);
    rate_wilson(18, 140, &want);
    CHECK(near(json_object_get(json_object_get(total, "reserve_rate"), "low"), want.low));
    /* the members in the documented order */
    const char *head = "{\"from\":\"2026-11-29\",\"to\":\"2026-12-01\",\"group\":[\"day\",\"branch\"],"
                       "\"rows\":[{\"day\":\"2026-11-29\",\"branch\":\"CEN\",\"touchpoints\":15,";
    CHECK(strncmp(text, head, strlen(head)) == 0);
    CHECK(strstr(text, "}],\"total\":{\"touchpoints\":145,") != NULL);
    json_decref(doc);
    free(text);
    /* whatever the slice, the same text */
    char *again = render(r, REPORT_JSON, 1000), *small = render(r, REPORT_JSON, 1);
    text = render(r, REPORT_JSON, 2);
    CHECK(strcmp(again, text) == 0 && strcmp(small, text) == 0);
    free(again);
    free(small);
    free(text);
    report_free(r);
    /* with arm: the references, and each row's difference */
    r = run(cells, "arm", NULL, 1000, &st);
    text = render(r, REPORT_JSON, 1000);
    doc = json_loads(text, 0, &jerr);
    json_t *arms = json_object_get(doc, "reference_arms");
    CHECK(json_array_size(arms) == 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(arms, 0), "arm")), "ctl");
    CHECK(json_is_true(json_object_get(json_array_get(arms, 0), "control")));
    CHECK_STR(json_string_value(json_object_get(json_array_get(arms, 1), "experiment")), "y");
    CHECK(json_is_false(json_object_get(json_array_get(arms, 1), "control")));
    rows = json_object_get(doc, "rows");
    CHECK(json_is_null(json_object_get(json_array_get(rows, 0), "difference")));
    CHECK(json_is_null(json_object_get(json_array_get(rows, 4), "difference")));
    json_t *diff = json_object_get(json_array_get(rows, 2), "difference");
    CHECK_STR(json_string_value(json_object_get(diff, "reference")), "ctl");
    rate_difference(10, 40, 3, 30, &want);
    CHECK(near(json_object_get(json_object_get(diff, "click_rate"), "low"), want.low));
    CHECK(near(json_object_get(json_object_get(diff, "click_rate"), "value"), want.value));
    CHECK(!json_object_get(total = json_object_get(doc, "total"), "difference"));
    json_decref(doc);
    free(text);
    report_free(r);
    report_cells_free(cells);
}

TEST(csv_document)
{
    make_days();
    struct report_cells *cells = cells_new();
    enum report_status st;
    struct report *r = run(cells, "week,status", NULL, 1000, &st);
    char *text = render(r, REPORT_CSV, 1);
    const char *want =
        "week,status,touchpoints,on_loan,with_alternatives,shown,click,reserve,borrow,dismiss,"
        "attributed_borrow,attributed_reserve,attributed_borrow_wanted,click_rate,click_rate_low,"
        "click_rate_high,reserve_rate,reserve_rate_low,reserve_rate_high,alternative_borrow_rate,"
        "alternative_borrow_rate_low,alternative_borrow_rate_high\r\n"
        "2026-W48,available,5,0,2,5,3,0,0,0,0,0,0,,,,,,,,,\r\n"
        "2026-W48,on_loan,14,14,7,14,3,2,0,0,1,0,0,";
    CHECK(strncmp(text, want, strlen(want)) == 0);
    if (strncmp(text, want, strlen(want)) != 0)
        printf("  got %s\n", text);
    /* 14 on loan, 3 clicks: the rate and its interval as %.6g */
    struct estimate e;
    rate_wilson(3, 14, &e);
    char line[256];
    snprintf(line, sizeof line, "%.6g,%.6g,%.6g,", e.value, e.low, e.high);
    CHECK(strstr(text, line) != NULL);
    int lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    CHECK(lines == 1 + 3);
    free(text);
    report_free(r);
    /* with arm: the reference and the differences; an empty field is null */
    r = run(cells, "arm", NULL, 1000, &st);
    text = render(r, REPORT_CSV, 1000);
    CHECK(strstr(text, ",reference_arm,click_rate_difference,click_rate_difference_low,"
                       "click_rate_difference_high,reserve_rate_difference,") != NULL);
    CHECK(strncmp(text + strlen(text) - 2, "\r\n", 2) == 0);
    struct estimate d;
    rate_difference(10, 40, 3, 30, &d);
    snprintf(line, sizeof line, "\r\nalt,40,40,20,40,10,4,0,0,4,0,0,");
    CHECK(strstr(text, line) != NULL);
    snprintf(line, sizeof line, ",ctl,%.6g,%.6g,%.6g,", d.value, d.low, d.high);
    CHECK(strstr(text, line) != NULL);
    CHECK(strstr(text, "\r\nctl,30,30,15,30,3,6,0,0,0,0,0,") != NULL);
    CHECK(strstr(text, ",,,,,,,,,,\r\n") != NULL);      /* ctl itself: no difference */
    free(text);
    report_free(r);
    report_cells_free(cells);
}

TEST(csv_quotes_what_needs_it)
{
    /* onloand's own names need no quotes, but ru1:cells may hold others */
    struct report_cells *cells = report_cells_new();
    const char *odd = "demo|A,\"B\"|opac|on_loan|";
    CHECK(report_cells_add(cells, odd, strlen(odd), "0", 1) == 0);
    struct day d = {0};
    d.c[0][RU_TOUCHPOINTS] = 1;
    size_t len;
    unsigned char *s = day_string(&d, &len);
    struct report_query q;
    struct report_error err;
    report_query_init(&q);
    report_query_set(&q, "from", "2026-11-29", 0, &err);
    report_query_set(&q, "to", "2026-11-29", 0, &err);
    report_query_set(&q, "group", "branch", 0, &err);
    report_query_finish(&q, cfg, D("2026-12-04"), &err);
    struct report *r = report_new(cfg, &q, NULL, 10);
    report_bind(r, cells);
    report_add_day(r, D("2026-11-29"), s, len);
    report_finish(r);
    char *text = render(r, REPORT_CSV, 10);
    CHECK(strstr(text, "\r\n\"A,\"\"B\"\"\",1,0,") != NULL);
    free(text);
    text = render(r, REPORT_JSON, 10);
    CHECK(strstr(text, "\"branch\":\"A,\\\"B\\\"\"") != NULL);
    free(text);
    free(s);
    report_free(r);
    report_cells_free(cells);
}

/* ---- a large report in two halves ------------------------------------------------ */

/* jansson's allocations in this binary (main sets them): on any thread
 * but the tests' own, that is a split report's, they are counted and can
 * be held back until the gate opens, or refused. Held back, the thread
 * sits in its first row, so that the loop's half is seen waiting for it. */
static pthread_t test_thread;
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_opened = PTHREAD_COND_INITIALIZER;
static int gate_closed;
static atomic_int half_refused;         /* the thread's allocations fail */
static atomic_ulong half_allocations;   /* the thread's allocations so far */

static void *json_malloc_gated(size_t n)
{
    if (pthread_equal(pthread_self(), test_thread))
        return malloc(n);
    atomic_fetch_add(&half_allocations, 1);
    pthread_mutex_lock(&gate_lock);
    while (gate_closed)
        pthread_cond_wait(&gate_opened, &gate_lock);
    pthread_mutex_unlock(&gate_lock);
    return atomic_load(&half_refused) ? NULL : malloc(n);
}

static void gate_set(int closed)
{
    pthread_mutex_lock(&gate_lock);
    gate_closed = closed;
    pthread_cond_broadcast(&gate_opened);
    pthread_mutex_unlock(&gate_lock);
}

#define BIG_DAYS 1000           /* by 5 or 8 groups: more than REPORT_RENDER_SPLIT_ROWS rows */

/* A report of BIG_DAYS days from 2025-01-01 grouped by group, each cell's
 * counts varying by day (some 0: rows left out, references missing). */
static struct report *big_report(struct report_cells *cells, const char *group)
{
    struct report_query q;
    struct report_error err;
    report_query_init(&q);
    CHECK(report_query_set(&q, "group", group, 0, &err) == 0);
    q.from = D("2025-01-01");
    q.to = q.from + BIG_DAYS - 1;
    struct report *r = report_new(cfg, &q, NULL, (size_t)BIG_DAYS * NCELLS);
    CHECK(r && report_bind(r, cells) == REPORT_OK);
    struct day d;
    for (long i = 0; i < BIG_DAYS; i++) {
        memset(&d, 0, sizeof d);
        for (int n = 0; n < NCELLS; n++) {
            uint32_t *c = d.c[n];
            uint32_t tp = (uint32_t)((i * 7 + n * 13) % 29);
            c[RU_TOUCHPOINTS] = tp;
            c[RU_ON_LOAN] = strstr(cell_names[n], "|on_loan|") ? tp : 0;
            c[RU_SHOWN] = tp / 2;
            c[RU_CLICK] = (uint32_t)((i + n) % 5) % (tp + 1);
            c[RU_RESERVE] = tp / 4;
            c[RU_ATTRIBUTED_BORROW] = (uint32_t)(i % 3) % (tp + 1);
        }
        size_t len;
        unsigned char *s = day_string(&d, &len);
        CHECK(report_add_day(r, q.from + i, s, len) == REPORT_OK);
        free(s);
    }
    CHECK(report_finish(r) == REPORT_OK);
    return r;
}

static char *text_of(struct evbuffer *out)
{
    size_t n = evbuffer_get_length(out);
    char *text = malloc(n + 1);
    evbuffer_remove(out, text, n);
    text[n] = '\0';
    return text;
}

/* r's text split at min_rows, without a loop (the second half waited for
 * in place); NULL when out of memory. */
static char *render_split(const struct report *r, enum report_format f, size_t min_rows)
{
    struct report_render *rr = report_render_new(r, f);
    struct evbuffer *out = evbuffer_new();
    CHECK(report_render_split(rr, min_rows, NULL, NULL, NULL) == 0);
    enum report_render_step step;
    while ((step = report_render_some(rr, out, REPORT_RENDER_SLICE)) == REPORT_RENDER_MORE)
        continue;
    CHECK(step == REPORT_RENDER_DONE || step == REPORT_RENDER_NO_MEMORY);
    char *text = step == REPORT_RENDER_DONE ? text_of(out) : NULL;
    evbuffer_free(out);
    report_render_free(rr);
    return text;
}

/* A split report on a loop: the ready callback writes the rest. */
struct on_loop {
    struct report_render *rr;
    struct evbuffer *out;
    enum report_render_step step;
    int waits, woken;
};

static void write_on(struct on_loop *ol)
{
    while ((ol->step = report_render_some(ol->rr, ol->out, REPORT_RENDER_SLICE)) ==
           REPORT_RENDER_MORE)
        continue;
    ol->waits += ol->step == REPORT_RENDER_WAITING;
}

static void half_ready(void *arg)
{
    struct on_loop *ol = arg;
    ol->woken++;
    write_on(ol);
}

/* r as format, split on base's loop, written until it is done or waits. */
static void on_loop_start(struct on_loop *ol, const struct report *r, enum report_format format,
                          struct event_base *base)
{
    *ol = (struct on_loop){report_render_new(r, format), evbuffer_new(), REPORT_RENDER_MORE, 0, 0};
    CHECK(report_render_split(ol->rr, REPORT_RENDER_SPLIT_ROWS, base, half_ready, ol) == 0);
    write_on(ol);
}

static void on_loop_end(struct on_loop *ol)
{
    evbuffer_free(ol->out);
    report_render_free(ol->rr);
}

TEST(two_halves_same_text)
{
    make_days();
    struct report_cells *cells = cells_new();
    static const char *const groups[] = {"day,branch,channel,status,arm", "day,branch,channel,status"};
    for (size_t g = 0; g < 2; g++) {
        struct report *r = big_report(cells, groups[g]);
        CHECK(report_nrows(r) > REPORT_RENDER_SPLIT_ROWS);
        for (int f = REPORT_JSON; f <= REPORT_CSV; f++) {
            char *one = render(r, (enum report_format)f, REPORT_RENDER_SLICE);
            char *two = render_split(r, (enum report_format)f, REPORT_RENDER_SPLIT_ROWS);
            CHECK(two && strcmp(one, two) == 0);
            free(two);
            /* on a loop, whether it waits or not */
            struct event_base *base = event_base_new();
            struct on_loop ol;
            on_loop_start(&ol, r, (enum report_format)f, base);
            while (ol.step == REPORT_RENDER_WAITING)
                event_base_loop(base, EVLOOP_ONCE);
            CHECK(ol.step == REPORT_RENDER_DONE && ol.woken == ol.waits);
            two = text_of(ol.out);
            CHECK(strcmp(one, two) == 0);
            free(two);
            on_loop_end(&ol);
            event_base_free(base);
            free(one);
        }
        report_free(r);
    }
    /* a small report stays on one thread: nothing allocated on another */
    atomic_store(&half_allocations, 0);
    enum report_status st;
    struct report *r = run(cells, "day,branch", NULL, 1000, &st);
    char *text = render_split(r, REPORT_JSON, REPORT_RENDER_SPLIT_ROWS), *one = render(r, REPORT_JSON, 2);
    CHECK(strcmp(text, one) == 0 && atomic_load(&half_allocations) == 0);
    free(text);
    free(one);
    /* ... unless told: 5 rows in 2 and 3 */
    text = render_split(r, REPORT_JSON, 2);
    one = render(r, REPORT_JSON, 1);
    CHECK(strcmp(text, one) == 0 && atomic_load(&half_allocations) > 0);
    free(text);
    free(one);
    report_free(r);
    report_cells_free(cells);
}

TEST(two_halves_loop_waits)
{
    make_days();
    struct report_cells *cells = cells_new();
    struct report *r = big_report(cells, "day,branch,channel,status,arm");
    char *one = render(r, REPORT_JSON, REPORT_RENDER_SLICE);
    struct event_base *base = event_base_new();
    /* the thread held in its first row: the loop's half is written, then it waits */
    gate_set(1);
    struct on_loop ol;
    on_loop_start(&ol, r, REPORT_JSON, base);
    CHECK(ol.step == REPORT_RENDER_WAITING && ol.waits == 1);
    size_t first_half = evbuffer_get_length(ol.out);
    CHECK(first_half > 0 && first_half < strlen(one));
    /* written so far: the head and the loop's rows, exactly */
    CHECK(memcmp(evbuffer_pullup(ol.out, -1), one, first_half) == 0);
    /* asked again meanwhile: still waiting, nothing more */
    CHECK(report_render_some(ol.rr, ol.out, REPORT_RENDER_SLICE) == REPORT_RENDER_WAITING);
    CHECK(evbuffer_get_length(ol.out) == first_half);
    event_base_loop(base, EVLOOP_NONBLOCK);
    CHECK(ol.woken == 0);
    /* let go: the loop is woken once, and the rest written */
    gate_set(0);
    while (ol.step == REPORT_RENDER_WAITING)
        event_base_loop(base, EVLOOP_ONCE);
    CHECK(ol.woken == 1 && ol.step == REPORT_RENDER_DONE);
    char *two = text_of(ol.out);
    CHECK(strcmp(one, two) == 0);
    free(two);
    on_loop_end(&ol);
    event_base_free(base);
    free(one);
    report_free(r);
    report_cells_free(cells);
}

TEST(two_halves_freed_early)
{
    make_days();
    struct report_cells *cells = cells_new();
    struct report *r = big_report(cells, "day,branch,channel,status,arm");
    /* what the thread allocates for all of its rows */
    atomic_store(&half_allocations, 0);
    char *text = render_split(r, REPORT_JSON, REPORT_RENDER_SPLIT_ROWS);
    unsigned long whole = atomic_load(&half_allocations);
    CHECK(text && whole > report_nrows(r) / 2);
    free(text);
    /* freed at once, the thread just started */
    struct report_render *rr = report_render_new(r, REPORT_JSON);
    CHECK(report_render_split(rr, REPORT_RENDER_SPLIT_ROWS, NULL, NULL, NULL) == 0);
    report_render_free(rr);
    /* freed while the loop waits: the thread stops after its row */
    struct event_base *base = event_base_new();
    gate_set(1);
    struct on_loop ol;
    on_loop_start(&ol, r, REPORT_JSON, base);
    CHECK(ol.step == REPORT_RENDER_WAITING);
    atomic_store(&half_allocations, 0);
    gate_set(0);
    report_render_free(ol.rr);
    CHECK(atomic_load(&half_allocations) < whole / 2);
    event_base_loop(base, EVLOOP_NONBLOCK);     /* its event is gone with it */
    CHECK(ol.woken == 0);
    evbuffer_free(ol.out);
    event_base_free(base);
    report_free(r);
    report_cells_free(cells);
}

TEST(two_halves_out_of_memory)
{
    make_days();
    struct report_cells *cells = cells_new();
    struct report *r = big_report(cells, "day,branch,channel,status");
    /* the thread's allocations refused: out of memory, however it is waited for */
    atomic_store(&half_refused, 1);
    CHECK(render_split(r, REPORT_JSON, REPORT_RENDER_SPLIT_ROWS) == NULL);
    struct event_base *base = event_base_new();
    struct on_loop ol;
    on_loop_start(&ol, r, REPORT_JSON, base);
    while (ol.step == REPORT_RENDER_WAITING)
        event_base_loop(base, EVLOOP_ONCE);
    CHECK(ol.step == REPORT_RENDER_NO_MEMORY);
    atomic_store(&half_refused, 0);
    on_loop_end(&ol);
    event_base_free(base);
    report_free(r);
    report_cells_free(cells);
}

/* ---- goals ----------------------------------------------------------------------- */

static json_t *goals_doc(long today, struct report_cells *cells)
{
    struct goals *g = goals_new(cfg, today);
    size_t n;
    struct report *const *reports = goals_reports(g, &n);
    CHECK(n == 2);
    for (size_t j = 0; j < n; j++) {
        CHECK(report_bind(reports[j], cells) == REPORT_OK);
        for (int i = 0; i < 3; i++) {
            size_t len;
            unsigned char *s = day_string(&days[i], &len);
            CHECK(report_add_day(reports[j], D(day_dates[i]), s, len) == REPORT_OK);
            free(s);
        }
    }
    CHECK(goals_finish(g) == REPORT_OK);
    struct evbuffer *out = evbuffer_new();
    CHECK(goals_write(g, out) == 0);
    size_t len = evbuffer_get_length(out);
    char *text = malloc(len + 1);
    evbuffer_remove(out, text, len);
    text[len] = '\0';
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    CHECK(doc != NULL && text[len - 1] == '\n');
    free(text);
    evbuffer_free(out);
    goals_free(g);
    return doc;
}

TEST(goals_measured)
{
    make_days();
    struct report_cells *cells = cells_new();
    json_t *doc = goals_doc(D("2026-12-04"), cells);
    CHECK_STR(json_string_value(json_object_get(doc, "today")), "2026-12-04");
    json_t *g = json_array_get(json_object_get(doc, "goals"), 0);
    CHECK_STR(json_string_value(json_object_get(g, "name")), "reserve at CEN");
    CHECK_STR(json_string_value(json_object_get(g, "metric")), "reserve_rate");
    CHECK(near(json_object_get(g, "target"), 0.25));
    CHECK_STR(json_string_value(json_object_get(json_object_get(g, "segment"), "branch")), "CEN");
    CHECK(json_integer_value(json_object_get(g, "days_left")) == 21);
    /* CEN on opac, every arm: cells 0, 4 and 5 (1 is available) */
    json_t *cur = json_object_get(g, "current");
    CHECK_STR(json_string_value(json_object_get(cur, "from")), "2026-11-20");
    CHECK_STR(json_string_value(json_object_get(cur, "to")), "2026-12-04");
    CHECK(json_integer_value(json_object_get(cur, "on_loan")) == 108);
    struct estimate e;
    rate_wilson(13, 108, &e);
    CHECK(near(json_object_get(cur, "value"), e.value) && near(json_object_get(cur, "high"), e.high));
    /* 28 recent days hold all three: the same; 0.12 < 0.25, high 0.197 < 0.25 */
    json_t *rec = json_object_get(g, "recent");
    CHECK_STR(json_string_value(json_object_get(rec, "from")), "2026-11-20");
    CHECK(json_is_false(json_object_get(g, "on_track")) && json_is_false(json_object_get(g, "met")));
    /* weeks 47 to 49, every one, counted or not */
    json_t *weeks = json_object_get(g, "weeks");
    CHECK(json_array_size(weeks) == 3);
    CHECK_STR(json_string_value(json_object_get(json_array_get(weeks, 0), "week")), "2026-W47");
    CHECK(json_integer_value(json_object_get(json_array_get(weeks, 0), "on_loan")) == 0);
    CHECK(json_is_null(json_object_get(json_array_get(weeks, 0), "value")));
    CHECK(json_integer_value(json_object_get(json_array_get(weeks, 1), "on_loan")) == 10);
    CHECK(json_integer_value(json_object_get(json_array_get(weeks, 2), "on_loan")) == 98);
    rate_wilson(12, 98, &e);
    CHECK(near(json_object_get(json_array_get(weeks, 2), "low"), e.low));
    /* the second goal has not begun: no days, no verdict */
    json_t *later = json_array_get(json_object_get(doc, "goals"), 1);
    CHECK(json_is_null(json_object_get(later, "current")) &&
          json_is_null(json_object_get(later, "on_track")));
    CHECK(json_array_size(json_object_get(later, "weeks")) == 0);
    CHECK(json_object_size(json_object_get(later, "segment")) == 0);
    json_decref(doc);

    /* at the end of the month: the first goal ended on its by (its recent
     * days are the 28 up to it); the second has begun, with nothing
     * counted yet: no verdict */
    doc = goals_doc(D("2026-12-31"), cells);
    g = json_array_get(json_object_get(doc, "goals"), 0);
    CHECK(json_integer_value(json_object_get(g, "days_left")) == 0);
    CHECK_STR(json_string_value(json_object_get(json_object_get(g, "current"), "to")), "2026-12-25");
    CHECK_STR(json_string_value(json_object_get(json_object_get(g, "recent"), "from")), "2026-11-28");
    CHECK(json_is_false(json_object_get(g, "on_track")));
    later = json_array_get(json_object_get(doc, "goals"), 1);
    cur = json_object_get(later, "current");
    CHECK(json_integer_value(json_object_get(cur, "on_loan")) == 0);
    CHECK(json_is_null(json_object_get(cur, "value")));
    CHECK(json_is_null(json_object_get(later, "on_track")) &&
          json_is_null(json_object_get(later, "met")));
    weeks = json_object_get(later, "weeks");
    CHECK(json_array_size(weeks) == 4);     /* W50 (the 10th) to W53 (the 31st) */
    CHECK_STR(json_string_value(json_object_get(json_array_get(weeks, 3), "week")), "2026-W53");
    json_decref(doc);

    /* on track and met: CEN's reserves up to 40 of 108 */
    days[1].c[4][RU_RESERVE] = 31;
    doc = goals_doc(D("2026-12-04"), cells);
    g = json_array_get(json_object_get(doc, "goals"), 0);
    rate_wilson(40, 108, &e);
    CHECK(e.low >= 0.25);
    CHECK(json_is_true(json_object_get(g, "on_track")) && json_is_true(json_object_get(g, "met")));
    json_decref(doc);
    /* on track, not met: 30 of 108 (0.278, low 0.2 under the target) */
    days[1].c[4][RU_RESERVE] = 21;
    doc = goals_doc(D("2026-12-04"), cells);
    g = json_array_get(json_object_get(doc, "goals"), 0);
    rate_wilson(30, 108, &e);
    CHECK(e.value >= 0.25 && e.low < 0.25);
    CHECK(json_is_true(json_object_get(g, "on_track")) && json_is_false(json_object_get(g, "met")));
    json_decref(doc);
    report_cells_free(cells);
}

int main(void)
{
    test_thread = pthread_self();
    json_set_alloc_funcs(json_malloc_gated, free);
    struct strbuf err = {0};
    cfg = config_parse(REPORT_CONFIG, "report.json", &err);
    if (!cfg) {
        printf("FAIL config: %s", strbuf_cstr(&err));
        return 1;
    }
    RUN(query_parameters);
    RUN(query_span);
    RUN(rows_by_day_and_branch);
    RUN(rows_by_week_month_channel_status);
    RUN(arms_against_their_reference);
    RUN(segments_and_limits);
    RUN(json_document);
    RUN(csv_document);
    RUN(csv_quotes_what_needs_it);
    RUN(two_halves_same_text);
    RUN(two_halves_loop_waits);
    RUN(two_halves_freed_early);
    RUN(two_halves_out_of_memory);
    RUN(goals_measured);
    config_free(cfg);
    strbuf_free(&err);
    strbuf_free(&t);
    return unit_failures != 0;
}
