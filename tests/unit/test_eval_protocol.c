/* test_eval_protocol.c: which loans onloan eval hides, asks with and
 * trains on (eval_protocol.h): the last new title, repeats skipped, at
 * least five distinct titles, ties in file order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/eval_protocol.h"
#include "core/config.h"
#include "core/pseudonym.h"
#include "core/strbuf.h"
#include "ingest/loan_event.h"
#include "unit.h"

#define NOW 1795343460LL

static struct config *cfg;

/* Loans from "patron,record,time" lines (times in seconds), or with
 * the header given ("patron,record,time,type\n..."). */
static int loans(const char *rows, struct loan_batch *b)
{
    struct strbuf text = {0};
    if (strncmp(rows, "patron,", 7) != 0)
        strbuf_puts(&text, "patron,record,time\n");
    strbuf_puts(&text, rows);
    struct loan_problem pr[2];
    size_t np = 0;
    memset(b, 0, sizeof *b);
    enum loans_status st = loans_from_text(text.buf, text.len, cfg, NOW, 1000, b, pr, 2, &np);
    strbuf_free(&text);
    if (st != LOANS_OK)
        printf("  bad test loans: %s\n", np ? pr[0].message : "?");
    return st == LOANS_OK ? 0 : -1;
}

static const struct eval_test *test_of(const struct eval_split *s, const char *raw)
{
    char p[PSEUDONYM_HEX_LEN + 1];
    pseudonymise(cfg->patron_key, raw, strlen(raw), p);
    for (size_t i = 0; i < s->ntests; i++)
        if (strcmp(s->tests[i].patron, p) == 0)
            return &s->tests[i];
    return NULL;
}

/* How many training loans patron raw has of record. */
static size_t training(const struct loan_batch *b, const char *raw, const char *record)
{
    char p[PSEUDONYM_HEX_LEN + 1];
    pseudonymise(cfg->patron_key, raw, strlen(raw), p);
    size_t n = 0;
    for (size_t i = 0; i < b->n; i++)
        n += strcmp(b->ev[i].patron, p) == 0 && strcmp(b->ev[i].record, record) == 0;
    return n;
}

static int borrowed(const struct eval_test *t, const char *record)
{
    for (size_t i = 0; i < t->nborrowed; i++)
        if (strcmp(t->borrowed[i], record) == 0)
            return 1;
    return 0;
}

/* Without repeats: the last loan hidden, the one before it the query. */
TEST(no_repeats_hides_the_last_loan)
{
    struct loan_batch b;
    struct eval_split s;
    CHECK(loans("p,A,10\np,B,20\np,C,30\np,D,40\np,E,50\n", &b) == 0);
    CHECK(eval_split(&b, &s) == 0);
    CHECK(s.ntests == 1 && s.repeat_after == 0 && s.held_out == 1);
    const struct eval_test *t = test_of(&s, "p");
    CHECK(t != NULL);
    if (t) {
        CHECK_STR(t->hidden, "E");
        CHECK_STR(t->query, "D");
        CHECK(t->nborrowed == 4 && borrowed(t, "A") && borrowed(t, "D") && !borrowed(t, "E"));
    }
    CHECK(b.n == 4 && training(&b, "p", "E") == 0);
    CHECK(s.training_records == 4);
    eval_split_free(&s);
    loan_batch_free(&b);
}

/* Repeats after the last new title are skipped: it is hidden, the loan
 * just before it (a repeat here) is the query, and its own later repeat
 * is held out of training with it. */
TEST(repeats_are_skipped)
{
    struct loan_batch b;
    struct eval_split s;
    CHECK(loans("q,A,10\nq,B,20\nq,C,30\nq,D,40\nq,A,45\nq,E,50\nq,B,60\nq,E,70\nq,C,80\n",
                &b) == 0);
    CHECK(eval_split(&b, &s) == 0);
    const struct eval_test *t = test_of(&s, "q");
    CHECK(s.ntests == 1 && t != NULL);
    if (t) {
        CHECK_STR(t->hidden, "E");
        CHECK_STR(t->query, "A");
        CHECK(t->nborrowed == 4 && !borrowed(t, "E"));
    }
    CHECK(s.repeat_after == 1);
    CHECK(s.held_out == 2 && training(&b, "q", "E") == 0);
    CHECK(training(&b, "q", "A") == 2 && training(&b, "q", "B") == 2 && training(&b, "q", "C") == 2);
    CHECK(b.n == 7);
    eval_split_free(&s);
    loan_batch_free(&b);
}

/* Test patrons are counted by distinct titles, not loans: eight loans of
 * four titles make none; five titles make one. */
TEST(five_distinct_titles_make_a_test_patron)
{
    struct loan_batch b;
    struct eval_split s;
    CHECK(loans("r,A,10\nr,A,20\nr,B,30\nr,B,40\nr,C,50\nr,C,60\nr,D,70\nr,D,80\n"
                "s,A,10\ns,B,20\ns,C,30\ns,D,40\ns,F,50\n", &b) == 0);
    CHECK(eval_split(&b, &s) == 0);
    CHECK(s.ntests == 1 && test_of(&s, "r") == NULL && test_of(&s, "s") != NULL);
    CHECK(training(&b, "r", "D") == 2);                 /* all of r's loans train */
    CHECK(b.n == 8 + 4);
    CHECK(s.training_records == 4);                     /* A B C D; F only hidden */
    eval_split_free(&s);
    loan_batch_free(&b);
}

/* Loans are put in time order whatever order they came in; loans at the
 * same time keep the file's order. */
TEST(time_order_then_file_order)
{
    struct loan_batch b;
    struct eval_split s;
    CHECK(loans("t,E,50\nt,A,10\nt,C,30\nt,B,20\nt,D,50\nt,F,50\n", &b) == 0);
    CHECK(eval_split(&b, &s) == 0);
    const struct eval_test *t = test_of(&s, "t");
    CHECK(t != NULL);
    if (t) {
        CHECK_STR(t->hidden, "F");      /* E, D, F at 50: F came last */
        CHECK_STR(t->query, "D");
    }
    eval_split_free(&s);
    loan_batch_free(&b);
}

/* Nobody with fewer than five titles: no tests, every loan trains. */
TEST(no_test_patrons)
{
    struct loan_batch b;
    struct eval_split s;
    CHECK(loans("u,A,10\nu,B,20\nv,A,10\n", &b) == 0);
    CHECK(eval_split(&b, &s) == 0);
    CHECK(s.ntests == 0 && s.held_out == 0 && b.n == 3 && s.training_records == 2);
    eval_split_free(&s);
    loan_batch_free(&b);
    struct loan_batch empty = {0};
    CHECK(eval_split(&empty, &s) == 0 && s.ntests == 0 && s.training_records == 0);
    eval_split_free(&s);
}

/* Holds are no part of the model: dropped before the split, counted.
 * A hold on a title does not make it a title the patron borrowed. */
TEST(holds_are_dropped)
{
    struct loan_batch b;
    struct eval_split s;
    CHECK(loans("patron,record,time,type\n"
                "w,A,10,\nw,B,20,loan\nw,C,30,\nw,D,40,\nw,X,45,hold\nw,E,50,\n"
                "w,X,55,hold_filled\nw,Y,60,hold_cancelled\n", &b) == 0);
    CHECK(b.n == 8);
    CHECK(eval_split(&b, &s) == 0);
    CHECK(s.holds == 3 && s.ntests == 1 && s.held_out == 1);
    const struct eval_test *t = test_of(&s, "w");
    CHECK(t != NULL);
    if (t) {
        CHECK_STR(t->hidden, "E");
        CHECK_STR(t->query, "D");
        CHECK(t->nborrowed == 4 && !borrowed(t, "X") && !borrowed(t, "Y"));
    }
    CHECK(b.n == 4 && s.training_records == 4);
    for (size_t i = 0; i < b.n; i++)
        CHECK(b.ev[i].type == LOAN_EVENT_LOAN);
    eval_split_free(&s);
    loan_batch_free(&b);
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
    RUN(no_repeats_hides_the_last_loan);
    RUN(repeats_are_skipped);
    RUN(five_distinct_titles_make_a_test_patron);
    RUN(time_order_then_file_order);
    RUN(no_test_patrons);
    RUN(holds_are_dropped);
    config_free(cfg);
    return unit_failures != 0;
}
