/* test_loan_event.c: loan events in (loan_event.h): times, JSON bodies,
 * loans CSV, MovieLens ratings and JSON lines; checks, problems and
 * pseudonyms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/pseudonym.h"
#include "core/strbuf.h"
#include "ingest/loan_event.h"
#include "unit.h"

#define NOW 1795343460LL        /* 2026-11-22T10:31:00Z */
#define DAY 86400LL

static struct config *cfg;

/* ---- helpers --------------------------------------------------------------- */

static int is_pseudonym(const char *s)
{
    return strlen(s) == PSEUDONYM_HEX_LEN && strspn(s, "0123456789abcdef") == PSEUDONYM_HEX_LEN;
}

/* The pseudonym the config's key gives raw. */
static const char *pseudonym_of(const char *raw, char out[PSEUDONYM_HEX_LEN + 1])
{
    pseudonymise(cfg->patron_key, raw, strlen(raw), out);
    return out;
}

/* Neither the event struct's bytes nor its strings hold raw. */
static int raw_absent(const struct loan_event *e, const char *raw)
{
    size_t n = strlen(raw);
    return !memmem(e, sizeof *e, raw, n) && !strstr(e->patron, raw) && !strstr(e->id, raw) &&
           !strstr(e->record, raw) && !(e->branch && strstr(e->branch, raw));
}

static json_t *json(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (!j)
        printf("  bad test JSON: %s: %s\n", text, jerr.text);
    return j;
}

/* Runs one JSON body that must give exactly one problem in field. */
static int json_problem(const char *text, long long now, size_t max_events, const char *field,
                        size_t index)
{
    json_t *body = json(text);
    struct loan_batch b = {0};
    struct loan_problem pr[4] = {{0}};
    size_t np = 0;
    enum loans_status st = body ? loans_from_json(body, cfg, now, max_events, &b, pr, 4, &np)
                                : LOANS_OK;
    int ok = st == LOANS_INVALID && np == 1 && pr[0].field && strcmp(pr[0].field, field) == 0 &&
             pr[0].index == index &&
             pr[0].line == 0 && pr[0].message && *pr[0].message;
    if (!ok)
        printf("  %s: %zu problems, first %s (index %zu), want %s (index %zu)\n", text, np,
               np ? pr[0].field : "-", np ? pr[0].index : 0, field, index);
    json_decref(body);
    loan_batch_free(&b);
    return ok;
}

/* Runs one text that must give exactly one problem in field at line. */
static int text_problem(const char *text, size_t max_events, const char *field, size_t line,
                        size_t index, size_t good)
{
    struct loan_batch b = {0};
    struct loan_problem pr[4] = {{0}};
    size_t np = 0;
    enum loans_status st = loans_from_text(text, strlen(text), cfg, NOW, max_events, &b, pr, 4,
                                           &np);
    int ok = st == LOANS_INVALID && np == 1 && pr[0].field && strcmp(pr[0].field, field) == 0 &&
             pr[0].line == line &&
             pr[0].index == index && b.n == good;
    if (!ok)
        printf("  \"%s\": %zu problems, first %s (line %zu, index %zu), %zu good; want %s "
               "(line %zu, index %zu), %zu good\n", text, np, np ? pr[0].field : "-",
               np ? pr[0].line : 0, np ? pr[0].index : 0, b.n, field, line, index, good);
    loan_batch_free(&b);
    return ok;
}

/* ---- times ----------------------------------------------------------------- */

TEST(loan_time_forms)
{
    long long t = -1;
    CHECK(loan_time_parse("0", &t) == 0 && t == 0);
    CHECK(loan_time_parse("1795343460", &t) == 0 && t == NOW);
    CHECK(loan_time_parse("999999999999", &t) == 0 && t == 999999999999LL);   /* 12 digits */
    CHECK(loan_time_parse("2026-11-22", &t) == 0 && t == 1795305600LL);
    CHECK(loan_time_parse("2000-02-29", &t) == 0 && t == 951782400LL);
    CHECK(loan_time_parse("2026-11-22T10:31:00Z", &t) == 0 && t == NOW);
    CHECK(loan_time_parse("2026-11-22T10:31:00.5Z", &t) == 0 && t == NOW);
    CHECK(loan_time_parse("2026-11-22T10:31:00.123456789Z", &t) == 0 && t == NOW);
    CHECK(loan_time_parse("2026-11-22T10:31:00+01:00", &t) == 0 && t == NOW - 3600);
    CHECK(loan_time_parse("2026-11-22T10:31:00-05:30", &t) == 0 && t == NOW + 5 * 3600 + 1800);
    CHECK(loan_time_parse("2026-11-22T10:31:00.250+01:00", &t) == 0 && t == NOW - 3600);
    CHECK(loan_time_parse("2026-11-22T10:31:00+00:00", &t) == 0 && t == NOW);
    CHECK(loan_time_parse("2026-11-23T00:30:00+14:00", &t) == 0 && t == 1795343400LL);
    CHECK(loan_time_parse("1970-01-01T00:00:00Z", &t) == 0 && t == 0);
    CHECK(loan_time_parse("1969-12-31T23:00:00Z", &t) == 0 && t == -3600);
}

TEST(loan_time_bad_forms)
{
    static const char *const bad[] = {
        "", " ", "abc", "-5", "+5", "12.5", "1795343460 ",
        "1234567890123",                        /* 13 digits */
        "2026-11-22T10:31:00",                  /* no zone */
        "2026-11-22 10:31:00Z",                 /* space for T */
        "2026-11-22t10:31:00Z",
        "2026-11-22T10:31Z",                    /* no seconds */
        "2026-11-22T10:31:00z",
        "2026-11-22T10:31:00ZZ",
        "2026-11-22T10:31:00Z ",
        "2026-11-22T10:31:00.Z",                /* empty fraction */
        "2026-11-22T10:31:00.1234567890Z",      /* 10 fraction digits */
        "2026-11-22T10:31:00+0100",             /* offset without colon */
        "2026-11-22T10:31:00+01",
        "2026-11-22T10:31:00+01:00:00",
        "2026-11-22T10:31:00+24:00",            /* offset out of range */
        "2026-11-22T10:31:00+01:60",
        "2026-11-22T10:31:00+1a:00",
        "2026-11-22T25:00:00Z",
        "2026-11-22T10:61:00Z",
        "2026-13-01",
        "2026-00-10",
        "2026-11-32",
        "2026-11-2x",
        "22-11-2026",
        "2026/11/22",
        "2026-11-22x",
        "2026-11-2",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        long long t = 12345;
        int rc = loan_time_parse(bad[i], &t);
        if (rc != -1)
            printf("  \"%s\" accepted as %lld\n", bad[i], t);
        CHECK(rc == -1);
    }
}

TEST(loan_time_calendar_dates)
{
    long long t = 12345;
    /* The last days of months, leap days included, are dates. */
    CHECK(loan_time_parse("2024-02-29", &t) == 0 && t == 1709164800LL);
    CHECK(loan_time_parse("2026-12-31T23:59:59Z", &t) == 0 && t == 1798761599LL);
    CHECK(loan_time_parse("2026-04-30", &t) == 0 && t == 1777507200LL);

    /* Days a month does not have, and forms that are not YYYY-MM-DD. */
    int feb29 = loan_time_parse("2026-02-29", &t);              /* 2026 is no leap year */
    int feb30 = loan_time_parse("2026-02-30T10:00:00Z", &t);
    int apr31 = loan_time_parse("2026-04-31", &t);
    int space_date = loan_time_parse(" 2026-1-01", &t);
    int space_iso = loan_time_parse(" 2026-1-22T10:31:00Z", &t);
    /* Days a month does not have are refused, not rolled over; and the
     * forms are fixed-width digits. */
    CHECK(feb29 == -1);
    CHECK(feb30 == -1);
    CHECK(apr31 == -1);
    CHECK(space_date == -1);
    CHECK(space_iso == -1);
}

TEST(loan_dates)
{
    long long t = 0;
    CHECK(loan_time_parse("964982703", &t) == 0 && t == 964982703);
    CHECK(loan_time_parse("2000-07-30T18:45:03Z", &t) == 0 && t == 964982703);
    CHECK(loan_time_parse("2000-07-30", &t) == 0 && t == 964915200);
    CHECK(loan_time_parse("2000-07-30T18:45:03", &t) < 0);
    CHECK(loan_time_parse("30-07-2000", &t) < 0);
    CHECK(loan_time_parse("", &t) < 0);
}

/* Exports of library systems write SQL DATETIME: a blank for the T and no
 * zone (read as UTC). CSV files take it; the strict form (the API's, JSON
 * lines') does not. */
TEST(loan_time_export_forms)
{
    long long t = 0;
    CHECK(loan_time_parse_export("2026-11-22 10:31:00", &t) == 0 && t == NOW);
    CHECK(loan_time_parse_export("2026-11-22T10:31:00", &t) == 0 && t == NOW);
    CHECK(loan_time_parse_export("2026-11-22 10:31:00.250", &t) == 0 && t == NOW);
    CHECK(loan_time_parse_export("2026-11-22 10:31:00+01:00", &t) == 0 && t == NOW - 3600);
    CHECK(loan_time_parse_export("2026-11-22T10:31:00Z", &t) == 0 && t == NOW);
    CHECK(loan_time_parse_export("2026-11-22", &t) == 0 && t == 1795305600LL);
    CHECK(loan_time_parse_export("1795343460", &t) == 0 && t == NOW);
    static const char *const bad[] = {
        "2026-11-22 10:31", "2026-11-22  10:31:00", "22-11-2026 10:31:00", "2026-11-22 10:31:00 ",
        "2026-11-22 25:31:00", "2026-02-30 10:31:00", "2026-11-22_10:31:00", "2026-11-22 10:31:00.",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = loan_time_parse_export(bad[i], &t);
        if (rc != -1)
            printf("  \"%s\" accepted as %lld\n", bad[i], t);
        CHECK(rc == -1);
    }
    CHECK(loan_time_parse("2026-11-22 10:31:00", &t) == -1);

    const char *csv = "patron,record,time\np1,r1,2026-11-22 10:31:00\np1,r2,2026-11-22T10:31:05\n";
    struct loan_batch b = {0};
    struct loan_problem pr[4] = {{0}};
    size_t np = 0;
    CHECK(loans_from_text(csv, strlen(csv), cfg, NOW, 100, &b, pr, 4, &np) == LOANS_OK);
    CHECK(np == 0 && b.n == 2 && b.ev[0].when == NOW && b.ev[1].when == NOW + 5);
    loan_batch_free(&b);
    CHECK(text_problem("{\"patron\":\"p1\",\"record\":\"r1\",\"time\":\"2026-11-22 10:31:00\"}\n",
                       100, "time", 1, 0, 0));
}

/* ---- JSON ------------------------------------------------------------------ */

TEST(json_object_and_array)
{
    char ps[PSEUDONYM_HEX_LEN + 1];
    struct loan_batch b = {0};
    struct loan_problem pr[4];
    size_t np = 0;
    json_t *one = json("{\"patron\": \"2100000001\", \"record\": \"f356\","
                       " \"time\": \"2026-11-22T10:31:00Z\", \"branch\": \"CEN\"}");
    CHECK(loans_from_json(one, cfg, NOW, 10, &b, pr, 4, &np) == LOANS_OK && np == 0);
    CHECK(b.n == 1);
    if (b.n == 1) {
        CHECK_STR(b.ev[0].record, "f356");
        CHECK_STR(b.ev[0].branch, "CEN");
        CHECK(b.ev[0].when == NOW);
        CHECK(b.ev[0].seq == 0);
        CHECK_STR(b.ev[0].patron, pseudonym_of("2100000001", ps));
        CHECK_STR(b.ev[0].id, "");
    }
    json_decref(one);

    /* An array appends to the same batch; time as Unix seconds, as a
     * date, branch null or absent. */
    json_t *arr = json("[{\"patron\": \"a\", \"record\": \"f1\", \"time\": 1795000000},"
                       " {\"patron\": \"b\", \"record\": \"f2\", \"time\": \"2026-11-01\","
                       "  \"branch\": null, \"id\": null},"
                       " {\"patron\": \"a\", \"record\": \"x.y_z:1-2\", \"time\": \"1795000001\"}]");
    CHECK(loans_from_json(arr, cfg, NOW, 3, &b, pr, 4, &np) == LOANS_OK && np == 0);
    CHECK(b.n == 4);
    if (b.n == 4) {
        CHECK(b.ev[1].when == 1795000000LL && b.ev[1].branch == NULL);
        CHECK(b.ev[2].when == 1793491200LL && b.ev[2].branch == NULL);
        CHECK_STR(b.ev[3].record, "x.y_z:1-2");
        CHECK(b.ev[3].when == 1795000001LL);
        CHECK(b.ev[1].seq == 1 && b.ev[2].seq == 2 && b.ev[3].seq == 3);
        CHECK(strcmp(b.ev[1].patron, b.ev[3].patron) == 0);     /* same patron */
        CHECK(strcmp(b.ev[1].patron, b.ev[2].patron) != 0);
    }
    json_decref(arr);
    loan_batch_free(&b);
    CHECK(b.n == 0 && b.ev == NULL);
}

TEST(json_bad_events_name_their_field)
{
    const char *ok_rest = "\"record\": \"f1\", \"time\": 1795000000";
    char text[512];
    CHECK(json_problem("{\"patron\": \"p\", \"record\": \"f1\", \"time\": 1795000000, \"x\": 1}",
                       NOW, 10, "event", 0));
    CHECK(json_problem("{\"record\": \"f1\", \"time\": 1795000000}", NOW, 10, "patron", 0));
    CHECK(json_problem("{\"patron\": \"p\", \"time\": 1795000000}", NOW, 10, "record", 0));
    CHECK(json_problem("{\"patron\": \"p\", \"record\": \"f1\"}", NOW, 10, "time", 0));
    CHECK(json_problem("{\"patron\": \"p\", \"record\": \"f 1\", \"time\": 1795000000}", NOW, 10,
                       "record", 0));
    CHECK(json_problem("{\"patron\": \"p\", \"record\": \"\", \"time\": 1795000000}", NOW, 10,
                       "record", 0));
    CHECK(json_problem("{\"patron\": \"p\", \"record\": \"f/1\", \"time\": 1795000000}", NOW, 10,
                       "record", 0));
    CHECK(json_problem("{\"patron\": \"p\", \"record\": 356, \"time\": 1795000000}", NOW, 10,
                       "record", 0));
    snprintf(text, sizeof text, "{\"patron\": \"\", %s}", ok_rest);
    CHECK(json_problem(text, NOW, 10, "patron", 0));
    snprintf(text, sizeof text, "{\"patron\": true, %s}", ok_rest);
    CHECK(json_problem(text, NOW, 10, "patron", 0));
    snprintf(text, sizeof text, "{\"patron\": \"%0129d\", %s}", 0, ok_rest);      /* 129 bytes */
    CHECK(json_problem(text, NOW, 10, "patron", 0));
    snprintf(text, sizeof text, "{\"patron\": \"p\", %s, \"branch\": \"C E N\"}", ok_rest);
    CHECK(json_problem(text, NOW, 10, "branch", 0));
    snprintf(text, sizeof text, "{\"patron\": \"p\", %s, \"branch\": 7}", ok_rest);
    CHECK(json_problem(text, NOW, 10, "branch", 0));
    snprintf(text, sizeof text, "{\"patron\": \"p\", %s, \"id\": 7}", ok_rest);
    CHECK(json_problem(text, NOW, 10, "id", 0));
    snprintf(text, sizeof text, "{\"patron\": \"p\", %s, \"id\": \"\"}", ok_rest);
    CHECK(json_problem(text, NOW, 10, "id", 0));
    snprintf(text, sizeof text, "{\"patron\": \"p\", %s, \"id\": \"%0129d\"}", ok_rest, 0);
    CHECK(json_problem(text, NOW, 10, "id", 0));
    /* Record ids up to limits.max_record_id_bytes (64). */
    snprintf(text, sizeof text, "{\"patron\": \"p\", \"record\": \"f%064d\", \"time\": 1}", 0);
    CHECK(json_problem(text, NOW, 10, "record", 0));
    /* Times: malformed, a float, before 1970, too far in the future. */
    CHECK(json_problem("{\"patron\": \"p\", \"record\": \"f1\", \"time\": \"yesterday\"}", NOW, 10,
                       "time", 0));
    CHECK(json_problem("{\"patron\": \"p\", \"record\": \"f1\", \"time\": 1795000000.5}", NOW, 10,
                       "time", 0));
    CHECK(json_problem("{\"patron\": \"p\", \"record\": \"f1\", \"time\": -1}", NOW, 10, "time", 0));
    CHECK(json_problem("{\"patron\": \"p\", \"record\": \"f1\", \"time\": \"1969-12-31T23:00:00Z\"}",
                       NOW, 10, "time", 0));
    snprintf(text, sizeof text, "{\"patron\": \"p\", \"record\": \"f1\", \"time\": %lld}",
             NOW + DAY + 1);
    CHECK(json_problem(text, NOW, 10, "time", 0));
    CHECK(json_problem("{\"patron\": \"p\", \"record\": \"f1\", \"time\": \"2026-11-23T10:31:01Z\"}",
                       NOW, 10, "time", 0));
    /* A day ahead is still a clock difference: accepted. */
    struct loan_batch b = {0};
    struct loan_problem pr[2];
    size_t np = 0;
    snprintf(text, sizeof text, "{\"patron\": \"p\", \"record\": \"f1\", \"time\": %lld}",
             NOW + DAY);
    json_t *j = json(text);
    CHECK(loans_from_json(j, cfg, NOW, 10, &b, pr, 2, &np) == LOANS_OK && np == 0 && b.n == 1);
    json_decref(j);
    loan_batch_free(&b);
}

TEST(json_array_limits_and_problem_list)
{
    /* The body as a whole. */
    CHECK(json_problem("[]", NOW, 10, "events", 0));
    CHECK(json_problem("\"loan\"", NOW, 10, "events", 0));
    CHECK(json_problem("[{\"patron\": \"a\", \"record\": \"f1\", \"time\": 1},"
                       " {\"patron\": \"a\", \"record\": \"f2\", \"time\": 1},"
                       " {\"patron\": \"a\", \"record\": \"f3\", \"time\": 1}]",
                       NOW, 2, "events", 2));
    /* An element that is not an object. */
    CHECK(json_problem("[{\"patron\": \"a\", \"record\": \"f1\", \"time\": 1}, 5]", NOW, 10,
                       "event", 1));

    /* Good events kept, each bad one reported with its index; more
     * problems than room: all counted, maxp filled. */
    json_t *arr = json("[{\"patron\": \"a\", \"record\": \"f1\", \"time\": 1},"
                       " {\"patron\": \"a\", \"time\": 1},"
                       " {\"patron\": \"a\", \"record\": \"f3\", \"time\": 1},"
                       " {\"patron\": \"a\", \"record\": \"f4\"},"
                       " {\"patron\": \"a\", \"record\": \"f5\", \"time\": 1, \"colour\": 1}]");
    struct loan_batch b = {0};
    struct loan_problem pr[2] = {{0}};
    size_t np = 0;
    CHECK(loans_from_json(arr, cfg, NOW, 10, &b, pr, 2, &np) == LOANS_INVALID && np == 3);
    CHECK(b.n == 2);
    if (b.n == 2) {
        CHECK_STR(b.ev[0].record, "f1");
        CHECK_STR(b.ev[1].record, "f3");
    }
    CHECK(pr[0].index == 1 && pr[0].field && strcmp(pr[0].field, "record") == 0);
    CHECK(pr[1].index == 3 && pr[1].field && strcmp(pr[1].field, "time") == 0);
    loan_batch_free(&b);
    json_decref(arr);
}

TEST(json_patron_and_id_are_hashed)
{
    char ps[PSEUDONYM_HEX_LEN + 1], ps2[PSEUDONYM_HEX_LEN + 1];
    json_t *arr = json(
        "[{\"patron\": \"card-2100000001\", \"record\": \"f1\", \"time\": 1, \"id\": \"loan-77\"},"
        " {\"patron\": 2100000001, \"record\": \"f2\", \"time\": 1, \"id\": \"loan-77\"},"
        " {\"patron\": \"2100000001\", \"record\": \"f3\", \"time\": 1, \"id\": \"loan-78\"},"
        " {\"patron\": \"loan-77\", \"record\": \"f4\", \"time\": 1}]");
    struct loan_batch b = {0};
    struct loan_problem pr[2];
    size_t np = 0;
    CHECK(loans_from_json(arr, cfg, NOW, 10, &b, pr, 2, &np) == LOANS_OK && np == 0);
    CHECK(b.n == 4);
    if (b.n == 4) {
        for (size_t i = 0; i < 4; i++)
            CHECK(is_pseudonym(b.ev[i].patron));
        CHECK_STR(b.ev[0].patron, pseudonym_of("card-2100000001", ps));
        /* A numeric card number is the same patron as its digits. */
        CHECK_STR(b.ev[1].patron, pseudonym_of("2100000001", ps));
        CHECK_STR(b.ev[2].patron, ps);
        CHECK(strcmp(b.ev[0].patron, b.ev[1].patron) != 0);
        /* The same id, the same pseudonym; another id, another. */
        CHECK(is_pseudonym(b.ev[0].id) && is_pseudonym(b.ev[2].id));
        CHECK_STR(b.ev[0].id, b.ev[1].id);
        CHECK(strcmp(b.ev[0].id, b.ev[2].id) != 0);
        CHECK_STR(b.ev[3].id, "");
        /* Ids are hashed apart from patrons: an id equal to a patron id
         * does not give that patron's pseudonym. */
        CHECK(strcmp(b.ev[0].id, b.ev[3].patron) != 0);
        CHECK(strcmp(b.ev[0].id, pseudonym_of("loan-77", ps2)) != 0);
        /* The raw ids are kept nowhere in the events. */
        CHECK(raw_absent(&b.ev[0], "2100000001"));
        CHECK(raw_absent(&b.ev[0], "loan-77"));
        CHECK(raw_absent(&b.ev[1], "2100000001"));
        CHECK(raw_absent(&b.ev[2], "2100000001"));
        CHECK(raw_absent(&b.ev[2], "loan-78"));
        CHECK(raw_absent(&b.ev[3], "loan-77"));
    }
    loan_batch_free(&b);
    json_decref(arr);
}

/* ---- text: loans CSV ------------------------------------------------------- */

TEST(text_loans_csv)
{
    char ps[PSEUDONYM_HEX_LEN + 1];
    const char text[] =
        "patron,record,time\n"
        "2100000001,f356,2026-11-22T10:31:00Z\n"
        "\n"
        "2100000002,f377,1795000000\r\n"
        "\"21000,03\",\"f1\",2026-11-01";                /* quoted; no final newline */
    struct loan_batch b = {0};
    struct loan_problem pr[4];
    size_t np = 0;
    CHECK(loans_from_text(text, sizeof text - 1, cfg, NOW, 100, &b, pr, 4, &np) ==
          LOANS_OK && np == 0);
    CHECK(b.n == 3);
    if (b.n == 3) {
        CHECK_STR(b.ev[0].record, "f356");
        CHECK(b.ev[0].when == NOW);
        CHECK_STR(b.ev[0].patron, pseudonym_of("2100000001", ps));
        CHECK(b.ev[0].branch == NULL);
        CHECK_STR(b.ev[0].id, "");
        CHECK_STR(b.ev[1].record, "f377");
        CHECK(b.ev[1].when == 1795000000LL);
        CHECK_STR(b.ev[2].patron, pseudonym_of("21000,03", ps));
        CHECK_STR(b.ev[2].record, "f1");
        CHECK(b.ev[2].when == 1793491200LL);
        CHECK(raw_absent(&b.ev[0], "2100000001"));
    }
    loan_batch_free(&b);

    /* A date column, any column order, optional branch and id (empty
     * means none). */
    const char text2[] =
        "id,branch,date,record,patron\n"
        "L1,CEN,2026-11-20,f10,p1\n"
        ",,2026-11-21,f11,p2\n"
        "L1,ZUI,2026-11-21,f12,p1\n";
    CHECK(loans_from_text(text2, sizeof text2 - 1, cfg, NOW, 100, &b, pr, 4, &np) ==
          LOANS_OK && np == 0);
    CHECK(b.n == 3);
    if (b.n == 3) {
        CHECK_STR(b.ev[0].record, "f10");
        CHECK_STR(b.ev[0].branch, "CEN");
        CHECK(b.ev[0].when == 1795305600LL - 2 * DAY);
        CHECK_STR(b.ev[0].patron, pseudonym_of("p1", ps));
        CHECK(is_pseudonym(b.ev[0].id));
        CHECK(b.ev[1].branch == NULL);
        CHECK_STR(b.ev[1].id, "");
        CHECK_STR(b.ev[2].branch, "ZUI");
        CHECK_STR(b.ev[2].id, b.ev[0].id);
        CHECK(raw_absent(&b.ev[0], "L1"));
    }
    loan_batch_free(&b);

    /* Windows line ends; the longest record id and patron id. */
    struct strbuf sb = {0};
    strbuf_printf(&sb, "patron,record,time\r\n%0128d,f%063d,1\r\np,f2,2\r\n", 7, 3);
    CHECK(loans_from_text(sb.buf, sb.len, cfg, NOW, 100, &b, pr, 4, &np) == LOANS_OK && np == 0);
    CHECK(b.n == 2);
    if (b.n == 2) {
        CHECK(strlen(b.ev[0].record) == 64 && b.ev[0].record[63] == '3');
        CHECK_STR(b.ev[1].record, "f2");
        CHECK(b.ev[1].when == 2);
    }
    loan_batch_free(&b);
    strbuf_free(&sb);

    /* Only a header: no events, no problem. */
    CHECK(loans_from_text("patron,record,time\n", 19, cfg, NOW, 100, &b, pr, 4, &np) ==
          LOANS_OK && np == 0);
    CHECK(b.n == 0);
    loan_batch_free(&b);
}

TEST(text_loans_csv_problems)
{
    /* Wrong number of columns, named by its 1-based line (blank lines
     * count); the good lines are kept. */
    CHECK(text_problem("patron,record,time\np1,f1,1\n\np2,f2\np3,f3,3\n", 100, "line", 4, 1, 2));
    CHECK(text_problem("patron,record,time\np1,f1,1,extra\n", 100, "line", 2, 0, 0));
    CHECK(text_problem("patron,record,time\n\"p1,f1,1\n", 100, "line", 2, 0, 0));
    /* A header that misses a column. */
    CHECK(text_problem("patron,time\np1,1\n", 100, "header", 1, 0, 0));
    CHECK(text_problem("patron,record\np1,f1\n", 100, "header", 1, 0, 0));
    CHECK(text_problem("record,time\nf1,1\n", 100, "header", 1, 0, 0));
    CHECK(text_problem("\n\nwho,what,when\np1,f1,1\n", 100, "header", 3, 0, 0));
    /* Field checks, each naming its field and line. */
    CHECK(text_problem("patron,record,time\np1,f1,soon\n", 100, "time", 2, 0, 0));
    CHECK(text_problem("patron,record,date\np1,f1,2026-11-24\n", 100, "time", 2, 0, 0));
    CHECK(text_problem("patron,record,time\np1,f 1,1\n", 100, "record", 2, 0, 0));
    CHECK(text_problem("patron,record,time\n,f1,1\n", 100, "patron", 2, 0, 0));
    CHECK(text_problem("patron,record,time,branch\np1,f1,1,C/N\n", 100, "branch", 2, 0, 0));
    /* Too many events. */
    CHECK(text_problem("patron,record,time\np1,f1,1\np1,f2,1\np1,f3,1\n", 2, "events", 4, 2, 2));
    /* Nothing at all. */
    CHECK(text_problem("", 100, "events", 0, 0, 0));
    CHECK(text_problem("\n \n", 100, "events", 0, 0, 0));
    /* More than 64 columns in the header. */
    struct strbuf wide = {0};
    for (int i = 0; i < 65; i++)
        strbuf_printf(&wide, "%sc%d", i ? "," : "", i);
    strbuf_puts(&wide, "\np1,f1,1\n");
    CHECK(text_problem(strbuf_cstr(&wide), 100, "header", 1, 0, 0));
    strbuf_free(&wide);
    /* A line with a NUL byte in it (the rest of the body is still read). */
    const char nul[] = "patron,record,time\np1,f1\0,1\np2,f2,2\n";
    struct loan_batch b = {0};
    struct loan_problem pr[4] = {{0}};
    size_t np = 0;
    CHECK(loans_from_text(nul, sizeof nul - 1, cfg, NOW, 100, &b, pr, 4, &np) ==
          LOANS_INVALID && np == 1);
    CHECK(pr[0].field && strcmp(pr[0].field, "line") == 0 && pr[0].line == 2 && b.n == 1);
    loan_batch_free(&b);
    /* A byte order mark before the header is no part of it. */
    const char bom[] = "\xEF\xBB\xBFpatron,record,time\np1,f1,1\n";
    CHECK(loans_from_text(bom, sizeof bom - 1, cfg, NOW, 100, &b, pr, 4, &np) ==
          LOANS_OK && np == 0 && b.n == 1);
    loan_batch_free(&b);
}

/* ---- text: MovieLens ------------------------------------------------------- */

TEST(text_movielens)
{
    char ps[PSEUDONYM_HEX_LEN + 1];
    const char text[] =
        "userId,movieId,rating,timestamp\n"
        "1,296,5.0,1147880044\n"
        "1,306,3.5,1147868817\n"
        "2,296,4.0,1147868828\n";
    struct loan_batch b = {0};
    struct loan_problem pr[4];
    size_t np = 0;
    CHECK(loans_from_text(text, sizeof text - 1, cfg, NOW, 100, &b, pr, 4, &np) ==
          LOANS_OK && np == 0);
    CHECK(b.n == 3);
    if (b.n == 3) {
        CHECK_STR(b.ev[0].record, "ml296");     /* ingest.movielens_record_prefix + movieId */
        CHECK_STR(b.ev[1].record, "ml306");
        CHECK(b.ev[0].when == 1147880044LL);
        CHECK_STR(b.ev[0].patron, pseudonym_of("1", ps));
        CHECK_STR(b.ev[1].patron, ps);
        CHECK_STR(b.ev[2].patron, pseudonym_of("2", ps));
        CHECK(b.ev[0].branch == NULL);
        CHECK_STR(b.ev[0].id, "");
    }
    loan_batch_free(&b);

    CHECK(text_problem("userId,movieId,rating,timestamp\n1,abc,5.0,1147880044\n", 100, "movieId",
                       2, 0, 0));
    CHECK(text_problem("userId,movieId,rating,timestamp\n1,29a,5.0,1147880044\n", 100, "movieId",
                       2, 0, 0));
    CHECK(text_problem("userId,movieId,rating,timestamp\n1,,5.0,1147880044\n", 100, "movieId",
                       2, 0, 0));
    CHECK(text_problem("userId,movieId,rating,timestamp\n1,296,5.0,x\n", 100, "timestamp",
                       2, 0, 0));
    CHECK(text_problem("userId,movieId,rating,timestamp\n1,296,5.0\n", 100, "line", 2, 0, 0));
    CHECK(text_problem("userId,rating,timestamp\n1,5.0,1147880044\n", 100, "header", 1, 0, 0));
    /* The prefix counts towards the record id's length: "ml" + 62 digits
     * is 64 bytes and fine, + 63 is one too many. */
    char text2[256];
    snprintf(text2, sizeof text2, "userId,movieId,rating,timestamp\n1,%062d,5,1\n", 9);
    CHECK(loans_from_text(text2, strlen(text2), cfg, NOW, 100, &b, pr, 4, &np) ==
          LOANS_OK && np == 0 && b.n == 1);
    loan_batch_free(&b);
    snprintf(text2, sizeof text2, "userId,movieId,rating,timestamp\n1,%063d,5,1\n", 9);
    CHECK(text_problem(text2, 100, "record", 2, 0, 0));
}

/* ---- text: JSON lines ------------------------------------------------------ */

TEST(text_json_lines)
{
    char ps[PSEUDONYM_HEX_LEN + 1];
    const char text[] =
        "{\"patron\": \"p1\", \"record\": \"f1\", \"time\": \"2026-11-22T10:31:00+01:00\"}\n"
        "\n"
        "  {\"patron\": 42, \"record\": \"f2\", \"time\": 1795000000, \"branch\": \"CEN\", \"id\": \"event-0001\"}\n";
    struct loan_batch b = {0};
    struct loan_problem pr[4];
    size_t np = 0;
    CHECK(loans_from_text(text, sizeof text - 1, cfg, NOW, 100, &b, pr, 4, &np) ==
          LOANS_OK && np == 0);
    CHECK(b.n == 2);
    if (b.n == 2) {
        CHECK_STR(b.ev[0].patron, pseudonym_of("p1", ps));
        CHECK(b.ev[0].when == NOW - 3600);
        CHECK_STR(b.ev[1].patron, pseudonym_of("42", ps));
        CHECK_STR(b.ev[1].branch, "CEN");
        CHECK(is_pseudonym(b.ev[1].id));
        CHECK(raw_absent(&b.ev[1], "event-0001"));
    }
    loan_batch_free(&b);

    CHECK(text_problem("{\"patron\": \"p1\", \"record\": \"f1\", \"time\": 1}\n{\"patron\": \n"
                       "{\"patron\": \"p1\", \"record\": \"f2\", \"time\": 1}\n",
                       100, "event", 2, 1, 2));
    CHECK(text_problem("{\"patron\": \"p1\", \"record\": \"f1\", \"time\": 1}\n"
                       "{\"patron\": \"p1\", \"record\": \"f2\"}\n", 100, "time", 2, 1, 1));
    CHECK(text_problem("{\"patron\": \"p1\", \"record\": \"f1\", \"time\": 1, \"x\": 0}\n", 100,
                       "event", 1, 0, 0));
    CHECK(text_problem("{\"patron\": \"p1\", \"record\": \"f1\", \"time\": 1}\n[1]\n", 100,
                       "event", 2, 1, 1));
    CHECK(text_problem("{\"patron\": \"p1\", \"record\": \"f1\", \"time\": 1}\n"
                       "{\"patron\": \"p1\", \"record\": \"f2\", \"time\": 1}\n", 1, "events", 2,
                       1, 1));
    /* A key twice is refused, as in a JSON body. */
    CHECK(text_problem("{\"patron\": \"p1\", \"patron\": \"p2\", \"record\": \"f1\", \"time\": 1}\n",
                       100, "event", 1, 0, 0));
}

/* ---- event types ----------------------------------------------------------- */

TEST(types_in_every_format)
{
    struct loan_batch b = {0};
    struct loan_problem pr[4];
    size_t np = 0;
    /* JSON: absent or null is a loan; each name its type */
    json_t *arr = json("[{\"patron\": \"p\", \"record\": \"f1\", \"time\": 1},"
                       " {\"patron\": \"p\", \"record\": \"f2\", \"time\": 1, \"type\": null},"
                       " {\"patron\": \"p\", \"record\": \"f3\", \"time\": 1, \"type\": \"loan\"},"
                       " {\"patron\": \"p\", \"record\": \"f4\", \"time\": 1, \"type\": \"hold\"},"
                       " {\"patron\": \"p\", \"record\": \"f5\", \"time\": 1, \"type\": \"hold_filled\"},"
                       " {\"patron\": \"p\", \"record\": \"f6\", \"time\": 1,"
                       "  \"type\": \"hold_cancelled\", \"id\": \"h-1\"}]");
    CHECK(loans_from_json(arr, cfg, NOW, 10, &b, pr, 4, &np) == LOANS_OK && np == 0);
    CHECK(b.n == 6);
    if (b.n == 6) {
        static const enum loan_event_type want[] = {LOAN_EVENT_LOAN, LOAN_EVENT_LOAN, LOAN_EVENT_LOAN,
                                                    LOAN_EVENT_HOLD, LOAN_EVENT_HOLD_FILLED,
                                                    LOAN_EVENT_HOLD_CANCELLED};
        for (size_t i = 0; i < 6; i++)
            CHECK(b.ev[i].type == want[i]);
        CHECK(is_pseudonym(b.ev[5].id));
    }
    json_decref(arr);
    loan_batch_free(&b);

    /* CSV: an optional type column, anywhere; an empty cell is a loan */
    const char csv[] =
        "type,patron,record,time\n"
        "hold,p1,f1,1\n"
        ",p1,f2,2\n"
        "loan,p1,f3,3\n"
        "hold_cancelled,p2,f1,4\n"
        "hold_filled,p2,f1,5\n";
    CHECK(loans_from_text(csv, sizeof csv - 1, cfg, NOW, 100, &b, pr, 4, &np) == LOANS_OK &&
          np == 0 && b.n == 5);
    if (b.n == 5) {
        CHECK(b.ev[0].type == LOAN_EVENT_HOLD && b.ev[1].type == LOAN_EVENT_LOAN);
        CHECK(b.ev[2].type == LOAN_EVENT_LOAN && b.ev[3].type == LOAN_EVENT_HOLD_CANCELLED);
        CHECK(b.ev[4].type == LOAN_EVENT_HOLD_FILLED);
        CHECK_STR(b.ev[0].record, "f1");
    }
    loan_batch_free(&b);

    /* JSON lines like JSON; MovieLens rows are loans (and have no type) */
    const char nd[] = "{\"patron\": \"p\", \"record\": \"f1\", \"time\": 1, \"type\": \"hold\"}\n"
                      "{\"patron\": \"p\", \"record\": \"f2\", \"time\": 1}\n";
    CHECK(loans_from_text(nd, sizeof nd - 1, cfg, NOW, 100, &b, pr, 4, &np) == LOANS_OK &&
          b.n == 2 && b.ev[0].type == LOAN_EVENT_HOLD && b.ev[1].type == LOAN_EVENT_LOAN);
    loan_batch_free(&b);
    const char ml[] = "userId,movieId,rating,timestamp\n1,296,5.0,1147880044\n";
    CHECK(loans_from_text(ml, sizeof ml - 1, cfg, NOW, 100, &b, pr, 4, &np) == LOANS_OK &&
          b.n == 1 && b.ev[0].type == LOAN_EVENT_LOAN);
    loan_batch_free(&b);

    /* names and values agree both ways */
    for (int t = LOAN_EVENT_LOAN; t <= LOAN_EVENT_HOLD_CANCELLED; t++) {
        enum loan_event_type back;
        const char *name = loan_event_type_name((enum loan_event_type)t);
        CHECK(loan_event_type_parse(name, strlen(name), &back) == 0 && (int)back == t);
    }
    /* the type costs the event no room: it sits in the padding after id */
    CHECK(sizeof(struct loan_event) == 104 || sizeof(void *) != 8);
}

TEST(bad_types_name_their_field)
{
    const char *rest = "\"patron\": \"p\", \"record\": \"f1\", \"time\": 1";
    static const char *const bad[] = {"\"Loan\"", "\"hold \"", "\"\"", "\"reserve\"",
                                      "1", "true", "[\"hold\"]", "{}"};
    char text[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "{%s, \"type\": %s}", rest, bad[i]);
        CHECK(json_problem(text, NOW, 10, "type", 0));
    }
    /* the message names the types there are */
    json_t *j = json("{\"patron\": \"p\", \"record\": \"f1\", \"time\": 1, \"type\": \"x\"}");
    struct loan_batch b = {0};
    struct loan_problem pr[2] = {{0}};
    size_t np = 0;
    CHECK(loans_from_json(j, cfg, NOW, 10, &b, pr, 2, &np) == LOANS_INVALID && np == 1 &&
          strstr(pr[0].message, "hold_cancelled") != NULL);
    json_decref(j);
    loan_batch_free(&b);
    /* all or nothing: one bad type among good events */
    CHECK(json_problem("[{\"patron\": \"p\", \"record\": \"f1\", \"time\": 1, \"type\": \"hold\"},"
                       " {\"patron\": \"p\", \"record\": \"f2\", \"time\": 1, \"type\": \"HOLD\"}]",
                       NOW, 10, "type", 1));
    /* CSV: named with its line; JSON lines likewise */
    CHECK(text_problem("patron,record,time,type\np1,f1,1,hold\np1,f2,2,holds\n", 100, "type", 3,
                       1, 1));
    CHECK(text_problem("patron,record,time,type\np1,f1,1, loan\n", 100, "type", 2, 0, 0));
    CHECK(text_problem("{\"patron\": \"p1\", \"record\": \"f1\", \"time\": 1, \"type\": 2}\n", 100,
                       "type", 1, 0, 0));
}

TEST(order_by_patron_groups_and_sorts)
{
    /* patrons interleaved, times out of order, a tie in time (arrival
     * order decides) */
    static const struct {
        const char *patron;
        long long when;
    } in[] = {{"bb", 30}, {"aa", 20}, {"bb", 10}, {"cc", 5}, {"aa", 20}, {"bb", 10}, {"aa", 1}};
    enum { N = sizeof in / sizeof in[0] };
    struct loan_event ev[N];
    struct loan_event *order[N];
    memset(ev, 0, sizeof ev);
    for (size_t i = 0; i < N; i++) {
        snprintf(ev[i].patron, sizeof ev[i].patron, "%s", in[i].patron);
        ev[i].when = in[i].when;
        ev[i].seq = i;
        order[i] = &ev[i];
    }
    CHECK(loan_order_by_patron(order, N) == 0);
    /* bb first (it came first): 10 (seq 2), 10 (seq 5), 30; then aa: 1, 20 (1), 20 (4); cc */
    static const size_t want[N] = {2, 5, 0, 6, 1, 4, 3};
    for (size_t i = 0; i < N; i++)
        CHECK(order[i]->seq == want[i]);
    /* agrees with loan_event_order within each patron */
    for (size_t i = 1; i < N; i++)
        if (strcmp(order[i - 1]->patron, order[i]->patron) == 0)
            CHECK(loan_event_order(order[i - 1], order[i]) < 0);
    CHECK(loan_order_by_patron(order, 0) == 0 && loan_order_by_patron(order, 1) == 0);

    /* Many events (the hashed path): 7 patrons, times jumbled, ties. */
    enum { M = 300 };
    static struct loan_event many[M];
    static struct loan_event *morder[M];
    memset(many, 0, sizeof many);
    for (size_t i = 0; i < M; i++) {
        snprintf(many[i].patron, sizeof many[i].patron, "p%zu", (i * 5 + i / 7) % 7);
        many[i].when = (long long)((i * 7919) % 50);
        many[i].seq = i;
        morder[i] = &many[i];
    }
    CHECK(loan_order_by_patron(morder, M) == 0);
    const char *first_seen[7];
    size_t npat = 0;
    for (size_t i = 0; i < M && npat < 7; i++) {       /* patrons by first appearance */
        size_t k = 0;
        while (k < npat && strcmp(first_seen[k], many[i].patron) != 0)
            k++;
        if (k == npat)
            first_seen[npat++] = many[i].patron;
    }
    size_t g = 0, bad = 0;
    for (size_t i = 0; i < M; i++) {
        if (i && strcmp(morder[i - 1]->patron, morder[i]->patron) != 0)
            g++;
        else if (i)
            bad += loan_event_order(morder[i - 1], morder[i]) >= 0;
        bad += g >= npat || strcmp(morder[i]->patron, first_seen[g]) != 0;
    }
    CHECK(bad == 0 && g + 1 == npat);
}

int main(void)
{
    if (pseudonym_init() != 0) {
        printf("FAIL pseudonym_init\n");
        return 1;
    }
    struct strbuf err = {0};
    cfg = config_parse(UNIT_LOAN_CONFIG, "events.json", &err);
    if (!cfg) {
        printf("FAIL config: %s\n", strbuf_cstr(&err));
        strbuf_free(&err);
        return 1;
    }
    strbuf_free(&err);
    RUN(loan_time_forms);
    RUN(loan_time_bad_forms);
    RUN(loan_time_calendar_dates);
    RUN(loan_dates);
    RUN(loan_time_export_forms);
    RUN(json_object_and_array);
    RUN(json_bad_events_name_their_field);
    RUN(json_array_limits_and_problem_list);
    RUN(json_patron_and_id_are_hashed);
    RUN(text_loans_csv);
    RUN(text_loans_csv_problems);
    RUN(text_movielens);
    RUN(text_json_lines);
    RUN(types_in_every_format);
    RUN(bad_types_name_their_field);
    RUN(order_by_patron_groups_and_sorts);
    config_free(cfg);
    printf("%d failed\n", unit_failures);
    return unit_failures != 0;
}
