/* eval.c: see eval.h. */
#include "cli/eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/loader.h"
#include "cli/redis_child.h"
#include "core/dict.h"
#include "ingest/history.h"
#include "ingest/record_ids.h"
#include "model/model.h"

#define TOP_N 10
#define MIN_LOANS 5
#define READS_IN_FLIGHT 256
#define EVAL_SHOWN_PROBLEMS 5
#define REDIS_START_MS 5000     /* a Redis of our own takes connections by then */

struct test_patron {
    char patron[PSEUDONYM_HEX_LEN + 1];
    char *query, *hidden;           /* owned */
    char **borrowed;                /* training titles (owned) */
    size_t nborrowed;
    char **recent;                  /* newest first, from the stored history (owned) */
    size_t nrecent;
};

struct eval {
    struct config *cfg;
    struct loader run;
    struct model *model;
    struct test_patron *tests;
    size_t ntests;
    struct dict *nbs;               /* record -> struct neighbours (one ref) */
    char **wanted;                  /* records to read */
    size_t nwanted, next_read, reads_in_flight;
    int read_failed;
    struct neighbour *popular;
    size_t npopular;
    uint64_t patrons;
    size_t training_records;
};

/* ---- splitting ---------------------------------------------------------------- */

/* Drops the holds (not part of the model), moves the hidden loans out of
 * all (into nothing: they are only remembered as strings) and fills the
 * test patrons. */
static int split(struct eval *ev, struct loan_batch *all)
{
    size_t loans = 0;               /* holds are no part of the model: dropped */
    for (size_t i = 0; i < all->n; i++) {
        if (all->ev[i].type == LOAN_EVENT_LOAN)
            all->ev[loans++] = all->ev[i];
        else
            free(all->ev[i].record);
    }
    all->n = loans;
    if (all->n)
        qsort(all->ev, all->n, sizeof *all->ev, loan_event_order);
    ev->tests = calloc(all->n / MIN_LOANS + 1, sizeof *ev->tests);
    struct record_ids *records = record_ids_new();
    if (!ev->tests || !records) {
        record_ids_free(records);
        return -1;
    }
    size_t kept = 0;
    for (size_t i = 0; i < all->n;) {
        size_t end = i;
        while (end < all->n && strcmp(all->ev[end].patron, all->ev[i].patron) == 0)
            end++;
        if (end - i >= MIN_LOANS) {
            struct test_patron *t = &ev->tests[ev->ntests++];
            memcpy(t->patron, all->ev[i].patron, sizeof t->patron);
            t->hidden = all->ev[end - 1].record;         /* taken over, branch and all */
            all->ev[end - 1].record = all->ev[end - 1].branch = NULL;
            if (!(t->query = strdup(all->ev[end - 2].record)) ||
                !(t->borrowed = calloc(end - 1 - i, sizeof *t->borrowed)))
                return -1;
            for (size_t k = i; k < end - 1; k++)
                if (!(t->borrowed[t->nborrowed++] = strdup(all->ev[k].record)))
                    return -1;
        }
        size_t upto = end - i >= MIN_LOANS ? end - 1 : end;
        for (size_t k = i; k < upto; k++) {
            record_ids_intern(records, all->ev[k].record, strlen(all->ev[k].record));
            all->ev[kept++] = all->ev[k];
        }
        i = end;
    }
    all->n = kept;
    ev->training_records = record_ids_count(records);
    record_ids_free(records);
    return 0;
}

/* ---- reading the model ------------------------------------------------------- */

static void read_more(struct eval *ev);

struct pending_read {
    struct eval *ev;
    char *record;
};

static void neighbours_read(struct neighbours *nb, enum failure error, void *arg)
{
    struct pending_read *pr = arg;
    struct eval *ev = pr->ev;
    ev->reads_in_flight--;
    if (!nb) {
        fprintf(stderr, "eval: reading %s: %s\n", pr->record, failure_name(error));
        ev->read_failed = 1;
    } else if (dict_set(ev->nbs, pr->record, nb, NULL) < 0) {
        neighbours_unref(nb);
        ev->read_failed = 1;
    }
    free(pr->record);
    free(pr);
    read_more(ev);
}

static void read_more(struct eval *ev)
{
    while (!ev->read_failed && ev->next_read < ev->nwanted && ev->reads_in_flight < READS_IN_FLIGHT) {
        struct pending_read *pr = malloc(sizeof *pr);
        const char *rec = ev->wanted[ev->next_read++];
        if (!pr || !(pr->record = strdup(rec)) || !model_read(ev->model, rec, neighbours_read, pr)) {
            ev->read_failed = 1;
            if (pr)
                free(pr->record);
            free(pr);
            break;
        }
        pr->ev = ev;
        ev->reads_in_flight++;
    }
}

static void want(struct eval *ev, struct dict *asked, const char *record)
{
    if (dict_get(asked, record))
        return;
    dict_set(asked, record, (void *)1, NULL);
    ev->wanted[ev->nwanted++] = (char *)record;
}

/* Replies are borrowed for the callback: each reader takes what it needs. */

/* The daemon's own parser (model.h); ev->popular stays NULL on failure. */
static void popular_read(redisReply *reply, enum failure error, void *arg)
{
    struct eval *ev = arg;
    if (!reply || model_popular_parse(reply, (uint32_t)ev->cfg->min_patrons, &ev->popular,
                                      &ev->npopular) < 0)
        fprintf(stderr, "eval: reading the popular records: %s\n",
                error ? failure_name(error) : reply->type == REDIS_REPLY_ERROR ? reply->str
                                                                 : "unexpected reply or out of memory");
}

static void patrons_read(redisReply *reply, enum failure error, void *arg)
{
    struct eval *ev = arg;
    (void)error;
    ev->patrons = reply && reply->type == REDIS_REPLY_STRING ? strtoull(reply->str, NULL, 10) : 0;
}

/* Every test patron's stored history, READS_IN_FLIGHT GETs at a time on
 * the one connection (pipelined: not a round trip each). */
struct recent_reads {
    struct eval *ev;
    struct record_ids *nm;
    struct history h;
    size_t next, in_flight;
    char *error;                    /* the first failure (owned) */
};

struct recent_read {
    struct recent_reads *all;
    struct test_patron *t;
};

static void recent_failed(struct recent_reads *rr, const struct test_patron *t, const char *why)
{
    if (!rr->error && asprintf(&rr->error, "the history of test patron %s: %s", t->patron, why) < 0)
        rr->error = NULL;
    if (!rr->error)                 /* not even memory for the message */
        rr->error = strdup("");
}

static void recent_more(struct recent_reads *rr);

/* A test patron's stored history: their model.history_titles newest
 * (none when the history is gone). */
static void history_read(redisReply *reply, enum failure error, void *arg)
{
    struct recent_read *one = arg;
    struct recent_reads *rr = one->all;
    struct test_patron *t = one->t;
    free(one);
    rr->in_flight--;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        recent_failed(rr, t, reply ? reply->str : failure_name(error));
    } else if (reply->type == REDIS_REPLY_STRING) {
        size_t max = (size_t)rr->ev->cfg->history_titles;
        size_t *at = calloc(max + 1, sizeof *at);
        t->recent = calloc(max + 1, sizeof *t->recent);
        if (history_parse(&rr->h, reply->str, reply->len, rr->nm) < 0) {
            recent_failed(rr, t, "malformed");
        } else if (!at || !t->recent) {
            recent_failed(rr, t, "out of memory");
        } else {
            size_t n = history_recent(&rr->h, record_ids_find(rr->nm, t->query), max, at);
            for (size_t k = 0; k < n; k++)
                if ((t->recent[t->nrecent] = strdup(record_ids_get(rr->nm, rr->h.e[at[k]].record))))
                    t->nrecent++;
        }
        free(at);
    }
    recent_more(rr);
}

static void recent_more(struct recent_reads *rr)
{
    struct eval *ev = rr->ev;
    while (!rr->error && rr->next < ev->ntests && rr->in_flight < READS_IN_FLIGHT) {
        struct test_patron *t = &ev->tests[rr->next];
        struct recent_read *one = malloc(sizeof *one);
        struct rcmd cmd = {0};
        if (!one || rcmd_addstr(&cmd, "GET") |
                    rcmd_addf(&cmd, "%sh:%s", ev->cfg->redis_prefix, t->patron)) {
            free(one);
            rcmd_free(&cmd);
            recent_failed(rr, t, "out of memory");
            break;
        }
        *one = (struct recent_read){rr, t};
        int sent = redis_exec(ev->run.st, &cmd, 1, history_read, one) != NULL;
        rcmd_free(&cmd);
        if (!sent) {
            free(one);
            recent_failed(rr, t, "out of memory");
            break;
        }
        rr->next++;
        rr->in_flight++;
    }
}

/* The popular records, the number of patrons (a command each: the CLI's
 * own loop), and each test patron's recent titles (pipelined). */
static int read_context(struct eval *ev)
{
    const char *pfx = ev->cfg->redis_prefix;
    struct rcmd cmd = {0};
    if (rcmd_addstr(&cmd, "ZREVRANGE") | rcmd_addf(&cmd, "%spop", pfx) | rcmd_addstr(&cmd, "0") |
        rcmd_addstr(&cmd, "-1") | rcmd_addstr(&cmd, "WITHSCORES"))
        return -1;
    loader_command(&ev->run, &cmd, popular_read, ev);
    rcmd_free(&cmd);
    if (rcmd_addstr(&cmd, "HGET") | rcmd_addf(&cmd, "%smeta", pfx) | rcmd_addstr(&cmd, "patrons"))
        return -1;
    loader_command(&ev->run, &cmd, patrons_read, ev);
    rcmd_free(&cmd);

    struct recent_reads rr = {.ev = ev, .nm = record_ids_new()};
    if (!rr.nm)
        return -1;
    recent_more(&rr);
    while (rr.in_flight)
        event_base_loop(ev->run.base, EVLOOP_ONCE);
    if (rr.error)
        fprintf(stderr, "eval: reading %s\n", rr.error);
    int failed = rr.error != NULL;
    free(rr.error);
    history_free(&rr.h);
    record_ids_free(rr.nm);
    return ev->popular && !failed ? 0 : -1;
}

static int read_neighbours(struct eval *ev)
{
    size_t most = 0;
    for (size_t i = 0; i < ev->ntests; i++)
        most += 1 + ev->tests[i].nrecent;
    struct dict *asked = dict_new();
    ev->wanted = calloc(most + 1, sizeof *ev->wanted);
    ev->nbs = dict_new();
    if (!asked || !ev->wanted || !ev->nbs) {
        dict_free(asked, NULL);
        return -1;
    }
    for (size_t i = 0; i < ev->ntests; i++) {
        want(ev, asked, ev->tests[i].query);
        for (size_t k = 0; k < ev->tests[i].nrecent; k++)
            want(ev, asked, ev->tests[i].recent[k]);
    }
    read_more(ev);
    while (!ev->read_failed && (ev->reads_in_flight || ev->next_read < ev->nwanted))
        event_base_loop(ev->run.base, EVLOOP_ONCE);
    while (ev->reads_in_flight)
        event_base_loop(ev->run.base, EVLOOP_ONCE);
    dict_free(asked, NULL);
    return ev->read_failed ? -1 : 0;
}

/* ---- scoring ------------------------------------------------------------------ */

struct row {
    const char *name;
    int measure;                    /* -1: popularity */
    int with_history;
    double hits, rr;
    struct dict *shown;
};

static int score_row(struct eval *ev, struct row *row)
{
    for (size_t i = 0; i < ev->ntests; i++) {
        struct test_patron *t = &ev->tests[i];
        struct neighbours *nbs[1 + MAX_HISTORY_TITLES];   /* config caps history_titles */
        double weight[1 + MAX_HISTORY_TITLES];
        size_t n = 0;
        if (row->measure >= 0) {
            nbs[n] = dict_get(ev->nbs, t->query);
            weight[n++] = 1;
            for (size_t k = 0; row->with_history && k < t->nrecent; k++) {
                nbs[n] = dict_get(ev->nbs, t->recent[k]);
                weight[n++] = score_recent_weight(k);
            }
        }
        struct neighbours empty = {.record = t->query};
        struct neighbours *only[1] = {&empty};
        double one = 1;
        struct candidate *c = NULL;
        size_t nc = 0;
        int rc = row->measure >= 0
                 ? score_candidates(nbs, weight, n, (enum score_measure)row->measure, ev->popular,
                                    ev->npopular, ev->patrons, (const char *const *)t->borrowed,
                                    t->nborrowed, TOP_N, &c, &nc)
                 : score_candidates(only, &one, 1, SCORE_RAW, ev->popular, ev->npopular,
                                    ev->patrons, (const char *const *)t->borrowed, t->nborrowed,
                                    TOP_N, &c, &nc);
        if (rc < 0)
            return -1;
        for (size_t k = 0; k < nc; k++) {
            dict_set(row->shown, c[k].record, (void *)1, NULL);
            if (strcmp(c[k].record, t->hidden) == 0) {
                row->hits += 1;
                row->rr += 1.0 / (double)(k + 1);
            }
        }
        candidates_free(c, nc);
    }
    return 0;
}

static void free_tests(struct eval *ev)
{
    for (size_t i = 0; i < ev->ntests; i++) {
        struct test_patron *t = &ev->tests[i];
        free(t->query);
        free(t->hidden);
        for (size_t k = 0; k < t->nborrowed; k++)
            free(t->borrowed[k]);
        free(t->borrowed);
        for (size_t k = 0; k < t->nrecent; k++)
            free(t->recent[k]);
        free(t->recent);
    }
    free(ev->tests);
}

static void free_nb(void *v)
{
    neighbours_unref(v);
}

/* One SCAN step of remove_prefix: the next cursor and an UNLINK of the
 * keys it found (cmd empty when none). */
struct scan_step {
    char cursor[32];
    struct rcmd unlink;
    char *error;                /* what went wrong (owned), or NULL */
};

static void scanned(redisReply *reply, enum failure error, void *arg)
{
    struct scan_step *st = arg;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_STRING) {
        st->error = strdup(reply && reply->type == REDIS_REPLY_ERROR ? reply->str
                           : error ? failure_name(error) : "unexpected reply");
        return;
    }
    snprintf(st->cursor, sizeof st->cursor, "%s", reply->element[0]->str);
    const redisReply *keys = reply->element[1];
    for (size_t i = 0; i < keys->elements && !st->error; i++)
        if ((i == 0 && rcmd_addstr(&st->unlink, "UNLINK") < 0) ||
            rcmd_add(&st->unlink, keys->element[i]->str, keys->element[i]->len) < 0)
            st->error = strdup("out of memory");
}

static void unlinked(redisReply *reply, enum failure error, void *arg)
{
    struct scan_step *st = arg;
    if (!reply || reply->type == REDIS_REPLY_ERROR)
        st->error = strdup(reply ? reply->str : failure_name(error));
}

/* On a shared Redis: SCAN and UNLINK our keys a step at a time from here
 * (a script doing it all, or KEYS, would hold the server meanwhile). */
static void remove_prefix(struct eval *ev)
{
    struct scan_step st = {.cursor = "0"};
    do {
        struct rcmd cmd = {0};
        if (rcmd_addstr(&cmd, "SCAN") | rcmd_addstr(&cmd, st.cursor) | rcmd_addstr(&cmd, "MATCH") |
            rcmd_addf(&cmd, "%s*", ev->cfg->redis_prefix) | rcmd_addstr(&cmd, "COUNT") |
            rcmd_addstr(&cmd, "1000")) {
            rcmd_free(&cmd);
            st.error = strdup("out of memory");
            break;
        }
        if (loader_command(&ev->run, &cmd, scanned, &st) < 0 && !st.error)
            st.error = strdup("Redis did not answer");
        rcmd_free(&cmd);
        if (!st.error && st.unlink.argc > 1 &&
            loader_command(&ev->run, &st.unlink, unlinked, &st) < 0 && !st.error)
            st.error = strdup("Redis did not answer");
        rcmd_free(&st.unlink);
        memset(&st.unlink, 0, sizeof st.unlink);
    } while (!st.error && strcmp(st.cursor, "0") != 0);
    if (st.error)
        fprintf(stderr, "eval: could not remove the keys under %s: %s\n", ev->cfg->redis_prefix,
                st.error);
    free(st.error);
}

int eval_main(struct config *cfg, int argc, char **argv)
{
    const char *redis = NULL;
    char *file = NULL;
    int keep = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--redis") == 0 && i + 1 < argc)
            redis = argv[++i];
        else if (strcmp(argv[i], "--keep") == 0)
            keep = 1;
        else if (i + 1 < argc && (strcmp(argv[i], "--pairs-per-loan") == 0 ||
                                  strcmp(argv[i], "--window-days") == 0 ||
                                  strcmp(argv[i], "--history-titles") == 0)) {
            char *end;
            long v = strtol(argv[i + 1], &end, 10);
            int titles = strcmp(argv[i], "--history-titles") == 0;
            if (*end || v < !titles || v > (titles ? MAX_HISTORY_TITLES : 36500)) {
                fprintf(stderr, "%s: must be a whole number in range\n", argv[i]);
                return 2;
            }
            if (titles)
                cfg->history_titles = (int)v;
            else if (strcmp(argv[i], "--pairs-per-loan") == 0)
                cfg->pairs_per_loan = (int)v;
            else
                cfg->window_days = (int)v;
            i++;
        }
        else if (!file && argv[i][0] != '-')
            file = argv[i];
        else
            file = NULL, i = argc;
    }
    if (!file) {
        fprintf(stderr, "usage: onloan eval [--redis IP:PORT] [--keep] [--pairs-per-loan N] "
                        "[--window-days N] [--history-titles N] RATINGS.csv\n");
        return 2;
    }
    struct eval ev = {.cfg = cfg};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    struct strbuf err = {0};
    struct loan_batch all = {0};
    if (loader_read_events(cfg, &file, 1, EVAL_SHOWN_PROBLEMS, &all, &err) < 0) {
        fputs(strbuf_cstr(&err), stderr);
        strbuf_free(&err);
        loan_batch_free(&all);
        return 1;
    }
    size_t nloans = all.n;

    struct redis_child child = {0};
    char *host = NULL;
    int port = 0;
    if (redis) {
        if (config_split_address(redis, &host, &port) < 0) {
            fprintf(stderr, "--redis: must be IP:PORT\n");
            loan_batch_free(&all);
            return 2;
        }
    } else {
        if (redis_child_start(&child, "redis-server", REDIS_START_MS, &err) < 0) {
            fprintf(stderr, "eval: no Redis to work in: %s", strbuf_cstr(&err));
            strbuf_free(&err);
            loan_batch_free(&all);
            return 1;
        }
        host = strdup("127.0.0.1");
        port = child.port;
    }
    free(cfg->redis_host);
    cfg->redis_host = host;
    cfg->redis_port = port;
    free(cfg->redis_prefix);
    if (asprintf(&cfg->redis_prefix, "onloan-eval:%ld:", (long)getpid()) < 0)
        cfg->redis_prefix = NULL;
    cfg->model_cache_ms = 0;

    int rc = 1;
    struct load_summary sum;
    if (!cfg->redis_prefix || split(&ev, &all) < 0) {
        fprintf(stderr, "eval: out of memory\n");
    } else if (loader_open(&ev.run, cfg, 5000, &err) < 0 ||
               loader_ingest(&ev.run, &all, NULL, &sum, &err) < 0) {
        fputs(strbuf_cstr(&err), stderr);
    } else if (!(ev.model = model_new(ev.run.st, cfg)) || read_context(&ev) < 0 ||
               read_neighbours(&ev) < 0) {
        fprintf(stderr, "eval: reading the model failed\n");
    } else {
        struct row rows[] = {
            {"popularity", -1, 0, 0, 0, NULL},
            {"raw", SCORE_RAW, 0, 0, 0, NULL},
            {"cosine", SCORE_COSINE, 0, 0, 0, NULL},
            {"jaccard", SCORE_JACCARD, 0, 0, 0, NULL},
            {"llr", SCORE_LLR, 0, 0, 0, NULL},
            {"raw + history", SCORE_RAW, 1, 0, 0, NULL},
            {"cosine + history", SCORE_COSINE, 1, 0, 0, NULL},
            {"jaccard + history", SCORE_JACCARD, 1, 0, 0, NULL},
            {"llr + history", SCORE_LLR, 1, 0, 0, NULL},
        };
        size_t nrows = sizeof rows / sizeof rows[0];
        rc = 0;
        for (size_t i = 0; i < nrows && rc == 0; i++) {
            rows[i].shown = dict_new();
            rc = rows[i].shown && score_row(&ev, &rows[i]) == 0 ? 0 : 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        printf("onloan eval %s: %zu loans, %zu test patrons (>= %d loans), %zu titles in training\n",
               file, nloans, ev.ntests, MIN_LOANS, ev.training_records);
        printf("model: window_days %d, pairs_per_loan %d, history_max %d, min_patrons %d, "
               "neighbours_max %d, history_titles %d\n",
               cfg->window_days, cfg->pairs_per_loan, cfg->history_max, cfg->min_patrons,
               cfg->neighbours_max, cfg->history_titles);
        printf("%-20s %8s %8s %9s %6s\n", "measure", "hit@10", "MRR@10", "coverage", "users");
        for (size_t i = 0; i < nrows && rc == 0; i++) {
            double n = ev.ntests ? (double)ev.ntests : 1;
            printf("%-20s %8.3f %8.3f %9.3f %6zu%s\n", rows[i].name, rows[i].hits / n, rows[i].rr / n,
                   ev.training_records ? (double)dict_size(rows[i].shown) / (double)ev.training_records : 0,
                   ev.ntests, rows[i].measure == (int)cfg->scoring && !rows[i].with_history ? "  (default)" : "");
        }
        printf("ingest %.2f s, compaction %.2f s, total %.2f s\n", sum.ingest_s, sum.compact_s, secs);
        for (size_t i = 0; i < nrows; i++)
            dict_free(rows[i].shown, NULL);
    }
    if (ev.run.base && redis && !keep)
        remove_prefix(&ev);
    dict_free(ev.nbs, free_nb);
    free(ev.wanted);
    neighbour_list_free(ev.popular, ev.npopular);   /* from model_popular_parse */
    model_free(ev.model);
    loader_close(&ev.run);
    free_tests(&ev);
    loan_batch_free(&all);
    strbuf_free(&err);
    redis_child_stop(&child);
    return rc;
}
