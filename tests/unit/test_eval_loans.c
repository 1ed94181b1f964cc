/* test_eval_loans.c: a loans file made ready for onloan eval
 * (eval_loans.h): partial dates left out on blank lines, dates before
 * 1970 moved by whole four-year cycles, raw patron ids kept for patron=. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/eval_loans.h"
#include "cli/loader.h"
#include "core/config.h"
#include "core/pseudonym.h"
#include "core/strbuf.h"
#include "ingest/loan_event.h"
#include "unit.h"

#define NOW 1795343460LL        /* 2026-11-22T10:31:00Z */
#define DAY 86400LL

static struct config *cfg;

static const char *raw_of(const struct eval_loans *l, const char *raw)
{
    char p[PSEUDONYM_HEX_LEN + 1];
    pseudonymise(cfg->patron_key, raw, strlen(raw), p);
    return dict_get(l->raw_patrons, p);
}

TEST(partial_date_kinds)
{
    CHECK(eval_date_partial("") == UNDATED_NONE);
    CHECK(eval_date_partial("1925") == UNDATED_YEAR);
    CHECK(eval_date_partial("1925-03") == UNDATED_MONTH);
    CHECK(eval_date_partial("--03-17") == UNDATED_DAY);
    CHECK(eval_date_partial("1925-03-17") == -1);
    CHECK(eval_date_partial("2026-11-22T10:31:00Z") == -1);
    CHECK(eval_date_partial("192") == -1);          /* not a date: the reader judges it */
    CHECK(eval_date_partial("1925-3") == -1);
    CHECK(eval_date_partial("nope") == -1);
}

/* Historical loans: partial ones blank, the rest moved 52 years (13
 * cycles, the fewest that bring 1919 past 1970), day and month kept, and
 * the reader takes the result with the file's line numbers. */
TEST(historical_dates_moved_partial_ones_left_out)
{
    const char *text = "patron,record,date,id\n"
                       "m1,a,1919-11-18,E1\n"
                       "m1,b,,E2\n"
                       "m9,c,1925,E3\n"
                       "\"m,3\",d,1962-06-28,E4\n"
                       "m2,e,1930-02,E5\n"
                       "m2,f,--01-07,E6\n"
                       "m2,g,1930-02-29,E7\n";
    struct eval_loans l;
    struct strbuf err = {0};
    CHECK(eval_loans_prepare("loans.csv", text, strlen(text), cfg, NOW, &l, &err) == 0);
    CHECK(l.rows == 7);
    CHECK(l.undated[UNDATED_NONE] == 1 && l.undated[UNDATED_YEAR] == 1 &&
          l.undated[UNDATED_MONTH] == 1 && l.undated[UNDATED_DAY] == 1);
    CHECK(eval_loans_undated(&l) == 4);
    CHECK(l.shift_days == 13 * EVAL_SHIFT_CYCLE_DAYS);
    long long t1919, t1971, t1962, t2014;
    loan_time_parse("1919-11-18", &t1919);
    loan_time_parse("1971-11-18", &t1971);
    loan_time_parse("1962-06-28", &t1962);
    loan_time_parse("2014-06-28", &t2014);
    CHECK(t1962 + l.shift_days * DAY == t2014);
    CHECK(t1919 + l.shift_days * DAY == t1971);         /* day and month kept */
    char want[512];
    snprintf(want, sizeof want, "patron,record,date,id\nm1,a,%lld,E1\n\n\n\"m,3\",d,%lld,E4\n\n\n"
             "m2,g,1930-02-29,E7\n", t1971, t2014);
    CHECK_STR(l.text, want);
    CHECK(l.len == strlen(l.text));
    CHECK_STR(raw_of(&l, "m,3"), "m,3");
    CHECK_STR(raw_of(&l, "m1"), "m1");
    CHECK(raw_of(&l, "m9") == NULL);                    /* only on a row left out */
    /* the reader: line 8's date (no 29 February in 1930) is its to refuse, by line */
    struct loan_batch b = {0};
    CHECK(loader_events_from_text(cfg, "loans.csv", l.text, l.len, NOW, 5, &b, &err) == -1);
    CHECK_STR(strbuf_cstr(&err), "loans.csv:8: time: must be ISO 8601 (2026-11-22T10:31:00Z, "
              "2026-11-22 10:31:00), a date or Unix seconds\n");
    loan_batch_free(&b);
    eval_loans_free(&l);
    strbuf_free(&err);
}

/* Dates after 1970 and no partial ones: the text passes unchanged. */
TEST(modern_loans_unchanged)
{
    const char *text = "patron,record,time\r\np1,a,2020-01-01T10:00:00Z\r\np2,b,1600000000\r\n";
    struct eval_loans l;
    struct strbuf err = {0};
    CHECK(eval_loans_prepare("l.csv", text, strlen(text), cfg, NOW, &l, &err) == 0);
    CHECK_STR(l.text, text);
    CHECK(l.shift_days == 0 && eval_loans_undated(&l) == 0 && l.rows == 2);
    CHECK_STR(raw_of(&l, "p2"), "p2");
    eval_loans_free(&l);
    strbuf_free(&err);
}

/* MovieLens' timestamp is Unix seconds: a four-digit one is no year. */
TEST(movielens_and_json_lines)
{
    const char *ml = "userId,movieId,rating,timestamp\n7,1,4.0,1925\n8,2,3.5,964982703\n";
    struct eval_loans l;
    struct strbuf err = {0};
    CHECK(eval_loans_prepare("r.csv", ml, strlen(ml), cfg, NOW, &l, &err) == 0);
    CHECK_STR(l.text, ml);
    CHECK(eval_loans_undated(&l) == 0);
    CHECK_STR(raw_of(&l, "7"), "7");
    eval_loans_free(&l);
    const char *jl = "{\"patron\":\"card-9\",\"record\":\"x\",\"time\":\"2020-01-01\"}\n"
                     "not json\n";
    CHECK(eval_loans_prepare("l.jsonl", jl, strlen(jl), cfg, NOW, &l, &err) == 0);
    CHECK_STR(l.text, jl);
    CHECK_STR(raw_of(&l, "card-9"), "card-9");
    eval_loans_free(&l);
    strbuf_free(&err);
}

/* A span that cannot end before tomorrow once its start is after 1970. */
TEST(span_too_long)
{
    const char *text = "patron,record,date\np,a,1900-01-01\np,b,2026-11-01\n";
    struct eval_loans l;
    struct strbuf err = {0};
    CHECK(eval_loans_prepare("old.csv", text, strlen(text), cfg, NOW, &l, &err) == -1);
    CHECK(strncmp(strbuf_cstr(&err), "old.csv: the loans' dates span too long", 39) == 0);
    CHECK(l.text == NULL && l.raw_patrons == NULL);
    strbuf_free(&err);
}

int main(void)
{
    if (pseudonym_init() != 0) {
        printf("FAIL pseudonym_init\n");
        return 1;
    }
    struct strbuf err = {0};
    cfg = config_parse(UNIT_LOAN_CONFIG, "eval.json", &err);
    if (!cfg) {
        printf("FAIL config: %s\n", strbuf_cstr(&err));
        return 1;
    }
    strbuf_free(&err);
    RUN(partial_date_kinds);
    RUN(historical_dates_moved_partial_ones_left_out);
    RUN(modern_loans_unchanged);
    RUN(movielens_and_json_lines);
    RUN(span_too_long);
    config_free(cfg);
    return unit_failures != 0;
}
