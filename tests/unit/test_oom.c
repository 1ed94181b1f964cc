/* test_oom.c: running out of memory is reported as ours, never as a
 * problem of the caller's input.
 *
 * This binary is linked with -Wl,--wrap for malloc, calloc, realloc,
 * strdup and asprintf (Makefile), so the allocations our code makes with
 * those go through the wrappers below; jansson's too, routed through
 * loan_event.c by loan_json_init as the daemon does, and libevent's
 * (event_set_mem_functions). strndup and vasprintf are not wrapped: what
 * our code allocates with them is never refused here. A test runs an operation again and again, the
 * first time failing its first allocation and every one after it, then
 * from its second on, and so on until it runs without a failure. The
 * count is atomic: a report split in two halves allocates on two threads
 * (report_render.h), and the k-th allocation is then whichever comes. */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "http/loans.h"
#include "http/reply.h"
#include "ingest/loan_event.h"
#include "redis/touchpoint_log.h"
#include "report/goals.h"
#include "report/report.h"
#include "report/report_render.h"
#include "unit.h"

/* ---- failing allocations ---------------------------------------------------- */

static struct {
    atomic_ulong from;          /* the allocation (1-based) from which all fail; 0: none */
    atomic_ulong seen;          /* allocations since the count was started */
    atomic_int failed;          /* one was refused */
} inject;

static int refuse(void)
{
    if (!inject.from)
        return 0;
    if (++inject.seen < inject.from)
        return 0;
    inject.failed = 1;
    return 1;
}

static void fail_from(unsigned long k)
{
    inject.from = k;
    inject.seen = 0;
    inject.failed = 0;
}

/* Allocations are granted again; inject.failed still says whether one was refused. */
static void stop_failing(void)
{
    inject.from = 0;
}

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
int __wrap_asprintf(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void *__wrap_malloc(size_t n)
{
    return refuse() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return refuse() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    return refuse() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return refuse() ? NULL : __real_strdup(s);
}

int __wrap_asprintf(char **out, const char *fmt, ...)
{
    if (refuse())
        return -1;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(out, fmt, ap);
    va_end(ap);
    return n;
}

/* ---- the events of a body or file ------------------------------------------- */

static struct config *cfg;

#define NOW 1795343460LL

/* Parses text (JSON when json is set, else a text body) with allocations
 * failing from the k-th on; returns the status, *np and the events. */
static enum loans_status parse(const char *text, int json, unsigned long k, size_t *np,
                               size_t *nevents, const char **field)
{
    struct loan_batch b = {0};
    struct loan_problem pr[4] = {{0}};
    enum loans_status st;
    *np = 0;
    if (json) {
        json_error_t jerr;
        json_t *body = json_loads(text, 0, &jerr);     /* before the failures begin */
        if (!body) {
            printf("  bad test JSON: %s\n", jerr.text);
            return LOANS_NO_MEMORY;
        }
        fail_from(k);
        st = loans_from_json(body, cfg, NOW, 100, &b, pr, 4, np);
        stop_failing();
        json_decref(body);
    } else {
        fail_from(k);
        st = loans_from_text(text, strlen(text), cfg, NOW, 100, &b, pr, 4, np);
        stop_failing();
    }
    *nevents = b.n;
    *field = *np ? pr[0].field : NULL;
    loan_batch_free(&b);
    return st;
}

/* Every failure point of the parse of text: out of memory is
 * LOANS_NO_MEMORY, every time, and nothing else is; with every allocation
 * granted the outcome is want (with want_events taken, or the first
 * problem in want_field). Returns how many failure points there were. */
static unsigned long every_failure(const char *name, const char *text, int json,
                                   enum loans_status want, size_t want_events,
                                   const char *want_field)
{
    for (unsigned long k = 1; k < 10000; k++) {
        size_t np, nevents;
        const char *field;
        enum loans_status st = parse(text, json, k, &np, &nevents, &field);
        int failed = inject.failed;
        if (failed && st != LOANS_NO_MEMORY) {
            printf("FAIL %s: %s: allocation %lu refused, yet status %d, %zu problems "
                   "(first: %s)\n", unit_current, name, k, (int)st, np, field ? field : "-");
            unit_current_failed = 1;
            return k;
        }
        if (!failed) {
            if (st != want || (want == LOANS_OK && nevents != want_events) ||
                (want == LOANS_INVALID && (!field || strcmp(field, want_field) != 0))) {
                printf("FAIL %s: %s: without failures status %d, %zu events, first problem %s\n",
                       unit_current, name, (int)st, nevents, field ? field : "-");
                unit_current_failed = 1;
            }
            return k - 1;
        }
    }
    printf("FAIL %s: %s: still failing after 10000 allocations\n", unit_current, name);
    unit_current_failed = 1;
    return 0;
}

TEST(events_out_of_memory_is_not_bad_input)
{
    /* JSON bodies: one object, an array with branch, id and a numeric
     * patron, and one with a bad event among good ones (the bad one must
     * not hide a later failure, nor a failure pass for bad input). */
    CHECK(every_failure("object", "{\"patron\": \"p1\", \"record\": \"f1\", \"time\": 1}", 1,
                        LOANS_OK, 1, NULL) >= 1);
    CHECK(every_failure("array",
                        "[{\"patron\": \"p1\", \"record\": \"f1\", \"time\": 1, \"branch\": \"CEN\","
                        "  \"id\": \"ils-1\"},"
                        " {\"patron\": 2100000001, \"record\": \"f2\", \"time\": 2, \"id\": \"ils-2\"},"
                        " {\"patron\": \"p3\", \"record\": \"f3\", \"time\": 3, \"branch\": \"NRD\","
                        "  \"type\": \"hold\"}]",
                        1, LOANS_OK, 3, NULL) >= 3);
    CHECK(every_failure("array with a bad event",
                        "[{\"patron\": \"p1\", \"record\": \"f1\", \"time\": 1},"
                        " {\"patron\": \"p2\", \"record\": \"no good\", \"time\": 1},"
                        " {\"patron\": \"p3\", \"record\": \"f3\", \"time\": 1, \"id\": \"x\"}]",
                        1, LOANS_INVALID, 0, "record") >= 2);
    /* Text bodies and files: loans CSV, MovieLens (the record prefix),
     * JSON lines (jansson's own allocations fail too). */
    CHECK(every_failure("csv",
                        "patron,record,time,branch,id\n"
                        "p1,f1,2026-11-01,CEN,ils-1\n"
                        "p2,f2,2026-11-02T10:00:00Z,,ils-2\n"
                        "p1,f3,1795000000,NRD,\n", 0, LOANS_OK, 3, NULL) >= 3);
    CHECK(every_failure("csv with types",
                        "patron,record,time,type\n"
                        "p1,f1,2026-11-01,hold\n"
                        "p2,f2,2026-11-02T10:00:00Z,\n"
                        "p1,f1,1795000000,hold_filled\n", 0, LOANS_OK, 3, NULL) >= 3);
    CHECK(every_failure("csv with a bad event",
                        "patron,record,time\np1,f1,1\np1,bad record,1\np2,f2,1\n", 0,
                        LOANS_INVALID, 0, "record") >= 2);
    CHECK(every_failure("movielens",
                        "userId,movieId,rating,timestamp\n1,356,4.0,1795000000\n"
                        "2,377,3.5,1795000001\n", 0, LOANS_OK, 2, NULL) >= 2);
    CHECK(every_failure("json lines",
                        "{\"patron\": \"p1\", \"record\": \"f1\", \"time\": 1, \"id\": \"e1\"}\n"
                        "{\"patron\": \"p2\", \"record\": \"f2\", \"time\": 2, \"branch\": \"CEN\"}\n",
                        0, LOANS_OK, 2, NULL) >= 2);
}

/* Allocations the parse of text makes (none refused). */
static unsigned long allocations(const char *text, int json)
{
    size_t np, nevents;
    const char *field;
    parse(text, json, (unsigned long)-1, &np, &nevents, &field);
    return np ? 0 : inject.seen;
}

/* One event, one allocation (its strings: record with prefix, branch);
 * the id is hashed without one, and the batch grows by doubling. */
TEST(one_allocation_per_event)
{
    const char *one_json = "[{\"patron\": \"p1\", \"record\": \"f1\", \"time\": 1,"
                           " \"branch\": \"CEN\", \"id\": \"ils-1\"}]";
    const char *two_json = "[{\"patron\": \"p1\", \"record\": \"f1\", \"time\": 1,"
                           " \"branch\": \"CEN\", \"id\": \"ils-1\"},"
                           " {\"patron\": \"p2\", \"record\": \"f2\", \"time\": 2,"
                           " \"branch\": \"NRD\", \"id\": \"ils-2\"}]";
    unsigned long a1 = allocations(one_json, 1), a2 = allocations(two_json, 1);
    if (a2 - a1 != 1)
        printf("  JSON: %lu allocations for one event, %lu for two\n", a1, a2);
    CHECK(a1 > 0 && a2 - a1 == 1);
    a1 = allocations("userId,movieId,rating,timestamp\n1,356,4.0,1795000000\n", 0);
    a2 = allocations("userId,movieId,rating,timestamp\n1,356,4.0,1795000000\n"
                     "2,377,3.5,1795000001\n", 0);
    if (a2 - a1 != 1)
        printf("  MovieLens: %lu allocations for one event, %lu for two\n", a1, a2);
    CHECK(a1 > 0 && a2 - a1 == 1);
    a1 = allocations("patron,record,time,branch,id\np1,f1,1,CEN,ils-1\n", 0);
    a2 = allocations("patron,record,time,branch,id\np1,f1,1,CEN,ils-1\np2,f2,2,NRD,ils-2\n", 0);
    if (a2 - a1 != 1)
        printf("  CSV: %lu allocations for one event, %lu for two\n", a1, a2);
    CHECK(a1 > 0 && a2 - a1 == 1);
    /* a type costs no allocation */
    unsigned long t1 = allocations("patron,record,time,branch,id,type\np1,f1,1,CEN,ils-1,hold\n", 0);
    unsigned long t2 = allocations("patron,record,time,branch,id,type\np1,f1,1,CEN,ils-1,hold\n"
                                   "p2,f2,2,NRD,ils-2,loan\n", 0);
    if (t1 != a1 || t2 != a2)
        printf("  CSV with types: %lu allocations for one event, %lu for two\n", t1, t2);
    CHECK(t1 == a1 && t2 == a2);
}

/* ---- the HTTP side ---------------------------------------------------------- */

/* The body is read in place: the join of its chains (libevent's
 * allocation) is the one that can fail. */
TEST(body_out_of_memory_is_not_too_large)
{
    static const char part1[] = "{\"patron\": \"p1\", ", part2[] = "\"record\": \"f1\", \"time\": 1}";
    size_t n = sizeof part1 - 1 + sizeof part2 - 1;
    for (int chains = 1; chains <= 2; chains++) {
        struct evhttp_request *req = evhttp_request_new(NULL, NULL);
        CHECK(req != NULL);
        if (!req)
            return;
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        if (chains == 1) {
            evbuffer_add(in, part1, sizeof part1 - 1);
            evbuffer_add(in, part2, sizeof part2 - 1);
        } else {                                /* two chains, as a body read in two parts */
            evbuffer_add_reference(in, part1, sizeof part1 - 1, NULL, NULL);
            evbuffer_add_reference(in, part2, sizeof part2 - 1, NULL, NULL);
        }
        const char *body = NULL;
        size_t len = 0;
        CHECK(http_request_body(req, n - 1, &body, &len) == HTTP_BODY_TOO_LARGE);
        fail_from(1);
        enum http_body got = http_request_body(req, n, &body, &len);
        stop_failing();
        /* one chain: nothing to allocate, nothing to fail */
        CHECK(got == (chains == 1 ? HTTP_BODY_OK : HTTP_BODY_NO_MEMORY));
        CHECK(inject.failed == (chains == 2));
        CHECK(http_request_body(req, n, &body, &len) == HTTP_BODY_OK);
        CHECK(len == n && body && memcmp(body, part1, sizeof part1 - 1) == 0 &&
              memcmp(body + sizeof part1 - 1, part2, sizeof part2 - 1) == 0);
        evhttp_request_free(req);
    }
    /* an empty body is a body */
    struct evhttp_request *req = evhttp_request_new(NULL, NULL);
    const char *body = NULL;
    size_t len = 1;
    CHECK(req && http_request_body(req, 10, &body, &len) == HTTP_BODY_OK && len == 0 && body);
    if (req)
        evhttp_request_free(req);
}

TEST(refusal_of_events)
{
    int code = 0;
    /* out of memory: a 503 that names no field, whatever was found before */
    struct loan_problem pr[2] = {{3, 0, "record", "must be a record id"},
                                 {5, 7, "time", "must be ISO 8601"}};
    json_t *j = loans_refusal(LOANS_NO_MEMORY, pr, 1, &code);
    CHECK(code == 503);
    CHECK_STR(json_string_value(json_object_get(j, "error")), "out of memory");
    CHECK(json_is_null(json_object_get(j, "field")) && !json_object_get(j, "index") &&
          !json_object_get(j, "problems"));
    json_decref(j);
    /* bad input: a 400 naming the first problem, listing them all */
    j = loans_refusal(LOANS_INVALID, pr, 2, &code);
    CHECK(code == 400);
    CHECK_STR(json_string_value(json_object_get(j, "field")), "record");
    CHECK(json_integer_value(json_object_get(j, "index")) == 3);
    CHECK(json_integer_value(json_object_get(j, "problems_total")) == 2);
    json_t *second = json_array_get(json_object_get(j, "problems"), 1);
    CHECK(json_integer_value(json_object_get(second, "line")) == 7);
    CHECK_STR(json_string_value(json_object_get(second, "field")), "time");
    json_decref(j);
}

/* ---- reports ---------------------------------------------------------------- */

/* Cells, a report of three days grouped by day, branch and arm, its
 * rendering (format; split: in two halves on two threads), or the goals'
 * document: the text, or NULL when something said it ran out of memory. */
static char *report_text(const struct config *c, enum report_format format, int goals, int split)
{
    static const char *const names[] = {"demo|CEN|opac|on_loan|alt", "demo|CEN|opac|on_loan|ctl",
                                        "demo|NRD|kiosk|available|"};
    unsigned char day[3 * RU_NCOUNTERS * 4] = {0};
    for (size_t i = 3; i < sizeof day; i += 8)
        day[i] = (unsigned char)(i % 7);
    struct report_cells *cells = report_cells_new();
    struct report *r = NULL;
    struct goals *g = NULL;
    struct report_render *rr = NULL;
    struct evbuffer *out = NULL;
    char *text = NULL;
    int ok = cells != NULL;
    for (int n = 0; n < 3 && ok; n++) {
        char num[2] = {(char)('0' + n), 0};
        ok = report_cells_add(cells, names[n], strlen(names[n]), num, 1) == 0;
    }
    struct report_query q;
    report_query_init(&q);
    q.from = config_date_days("2026-11-29");
    q.to = config_date_days("2026-12-01");
    q.group[q.ngroup++] = REPORT_DAY;
    q.group[q.ngroup++] = REPORT_BRANCH;
    q.group[q.ngroup++] = REPORT_ARM;
    size_t nreports = 1;
    struct report *const *reports = &r;
    if (ok && goals) {
        ok = (g = goals_new(c, config_date_days("2026-12-04"))) != NULL;
        if (ok)
            reports = goals_reports(g, &nreports);
    } else if (ok) {
        ok = (r = report_new(c, &q, NULL, 100)) != NULL;
    }
    for (size_t j = 0; ok && j < nreports; j++) {
        ok = report_bind(reports[j], cells) == REPORT_OK;
        for (long d = q.from; ok && d <= q.to; d++)
            ok = report_add_day(reports[j], d, day, sizeof day) == REPORT_OK;
    }
    if (ok)
        ok = (goals ? goals_finish(g) : report_finish(r)) == REPORT_OK;
    if (ok)
        ok = (out = evbuffer_new()) != NULL;
    if (ok && goals) {
        ok = goals_write(g, out) == 0;
    } else if (ok) {
        ok = (rr = report_render_new(r, format)) != NULL &&
             (!split || report_render_split(rr, 2, NULL, NULL, NULL) == 0);
        int done = 0;
        while (ok && !done)
            ok = (done = report_render_some(rr, out, 1)) >= 0;
    }
    if (ok) {
        size_t n = evbuffer_get_length(out);
        if ((text = __real_malloc(n + 1))) {
            evbuffer_remove(out, text, n);
            text[n] = '\0';
        }
    }
    if (out)
        evbuffer_free(out);
    report_render_free(rr);
    report_free(r);
    goals_free(g);
    report_cells_free(cells);
    return text;
}

/* Every failure point of a report: out of memory says so (NULL), and
 * when nothing failed the text is the one made without failures. */
TEST(report_out_of_memory)
{
    static const char config_text[] =
        "{\"privacy\": {\"patron_key\": "
        "\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"}, " UNIT_TOUCHPOINTS ","
        " \"experiments\": [{\"name\": \"x\", \"from\": \"2026-11-01\", \"until\": \"2027-01-01\","
        "  \"channels\": [\"opac\"], \"arms\": [{\"name\": \"alt\", \"share\": 50},"
        "  {\"name\": \"ctl\", \"share\": 50, \"alternatives\": 0}]}],"
        " \"goals\": [{\"name\": \"g\", \"metric\": \"click_rate\", \"target\": 0.1,"
        "  \"from\": \"2026-11-20\", \"by\": \"2026-12-31\", \"segment\": {\"branch\": \"CEN\"}}],"
        " \"catalogues\": [{\"name\": \"demo\", \"target\": \"127.0.0.1:2100/demo\","
        " \"link\": {\"plugin\": \"koha\", \"base_url\": \"https://x\"}}]}";
    struct strbuf err = {0};
    struct config *c = config_parse(config_text, "oom-report.json", &err);
    CHECK(c != NULL);
    if (!c) {
        printf("  %s\n", strbuf_cstr(&err));
        strbuf_free(&err);
        return;
    }
    static const struct {
        enum report_format format;
        int goals, split;
    } kinds[] = {{REPORT_JSON, 0, 0}, {REPORT_CSV, 0, 0}, {REPORT_JSON, 1, 0},
                 {REPORT_JSON, 0, 1}, {REPORT_CSV, 0, 1}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        char *want = report_text(c, kinds[i].format, kinds[i].goals, 0);
        CHECK(want != NULL && strlen(want) > 100);
        unsigned long k;
        for (k = 1; k < 100000; k++) {
            fail_from(k);
            char *got = report_text(c, kinds[i].format, kinds[i].goals, kinds[i].split);
            stop_failing();
            if (!inject.failed) {
                CHECK(got && want && strcmp(got, want) == 0);
                free(got);
                break;
            }
            if (got) {
                printf("  kind %zu: allocation %lu refused, yet a report came out\n", i, k);
                CHECK(got == NULL);
                free(got);
                break;
            }
        }
        CHECK(k > 20 && k < 100000);
        free(want);
    }
    config_free(c);
    strbuf_free(&err);
}

/* A touchpoint that cannot be added to a batch for want of memory
 * leaves the batch as it was: its script is the one of the touchpoints
 * before (but for the time each one was written, YYYY-MM-DDTHH:MM:SSZ). */
static int is_time(const char *s, size_t len)
{
    return len == 20 && s[4] == '-' && s[10] == 'T' && s[19] == 'Z';
}

static int same_command(const struct rcmd *a, const struct rcmd *b)
{
    if (a->argc != b->argc)
        return 0;
    for (int i = 0; i < a->argc; i++) {
        int times = is_time(a->argv[i], a->len[i]) && is_time(b->argv[i], b->len[i]);
        if (!times && (a->len[i] != b->len[i] || memcmp(a->argv[i], b->argv[i], a->len[i]) != 0))
            return 0;
    }
    return 1;
}

TEST(touchpoint_batch_out_of_memory)
{
    enum ru_counter c[] = {RU_TOUCHPOINTS, RU_ON_LOAN};
    struct touchpoint a = {NULL, "f356", "demo", "on_loan", "CEN", "opac", "nl",
                           "f1,f2", "", "", "20261204", "demo|CEN|opac|on_loan|"};
    struct touchpoint b = {NULL, "f9", "demo", "on_loan", "NRD", "kiosk", "en",
                           "f3", "x", "y", "20261204", "demo|NRD|kiosk|on_loan|x"};
    struct touchpoint_writes one = {0};
    struct rcmd want = {0};
    char id[TOUCHPOINT_ID_MAX_BYTES + 1];
    const uint64_t MS = 1795343460123, DRAW = 34;
    CHECK(touchpoint_writes_add(cfg, &one, &a, MS, DRAW, c, 2, id) == 0 &&
          touchpoint_writes_command(cfg, &one, &want) == 0);
    unsigned long k;
    for (k = 1; k < 1000; k++) {
        struct touchpoint_writes w = {0};
        struct rcmd got = {0};
        CHECK(touchpoint_writes_add(cfg, &w, &a, MS, DRAW, c, 2, id) == 0);
        fail_from(k);
        int rc = touchpoint_writes_add(cfg, &w, &b, MS + 1, 99, c, 2, id);
        stop_failing();
        int failed = inject.failed;
        if (failed) {
            CHECK(rc == -1 && w.n == 1);
            CHECK(touchpoint_writes_command(cfg, &w, &got) == 0 && same_command(&got, &want));
        } else {
            CHECK(rc == 0 && w.n == 2);
        }
        rcmd_free(&got);
        touchpoint_writes_clear(&w);
        if (!failed || unit_current_failed)
            break;
    }
    CHECK(k > 1 && k < 1000);       /* some allocations were refused, then none */
    rcmd_free(&want);
    touchpoint_writes_clear(&one);
}

int main(void)
{
    event_set_mem_functions(__wrap_malloc, __wrap_realloc, free);  /* libevent's too, first */
    struct strbuf err = {0};
    cfg = config_parse(UNIT_LOAN_CONFIG, "oom.json", &err);
    if (!cfg || pseudonym_init() < 0) {
        printf("FAIL setup: %s\n", strbuf_cstr(&err));
        return 1;
    }
    loan_json_init();       /* jansson's allocations: through loan_event.c, so through ours */
    RUN(events_out_of_memory_is_not_bad_input);
    RUN(one_allocation_per_event);
    RUN(body_out_of_memory_is_not_too_large);
    RUN(refusal_of_events);
    RUN(report_out_of_memory);
    RUN(touchpoint_batch_out_of_memory);
    config_free(cfg);
    strbuf_free(&err);
    return unit_failures != 0;
}
