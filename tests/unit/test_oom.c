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
 * from its second on, and so on until it runs without a failure. */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "http/loans.h"
#include "http/reply.h"
#include "ingest/loan_event.h"
#include "unit.h"

/* ---- failing allocations ---------------------------------------------------- */

static struct {
    unsigned long from;         /* the allocation (1-based) from which all fail; 0: none */
    unsigned long seen;         /* allocations since the count was started */
    int failed;                 /* one was refused */
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
    config_free(cfg);
    strbuf_free(&err);
    return unit_failures != 0;
}
