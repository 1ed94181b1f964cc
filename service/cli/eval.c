/* eval.c: see eval.h. */
#include "cli/eval.h"

#include <errno.h>
#include <stddef.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/eval_catalogue.h"
#include "cli/eval_loans.h"
#include "cli/eval_protocol.h"
#include "cli/eval_served.h"
#include "cli/eval_titles.h"
#include "cli/loader.h"
#include "cli/redis_child.h"
#include "core/clock.h"
#include "core/dict.h"
#include "ingest/history.h"
#include "ingest/record_ids.h"
#include "model/model.h"

#define TOP_N EVAL_SERVED_LIMIT
#define READS_IN_FLIGHT 256
#define EVAL_SHOWN_PROBLEMS 5
#define REDIS_START_MS 5000     /* a Redis of our own takes connections by then */

struct eval {
    struct config *cfg;
    struct loader run;
    struct model *model;
    struct eval_split split;
    struct dict *nbs;               /* record -> struct neighbours (one ref) */
    char **wanted;                  /* records to read */
    size_t nwanted, next_read, reads_in_flight;
    int read_failed;
    struct neighbour *popular;
    size_t npopular;
    uint64_t patrons;
};

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
    struct eval_test *t;
};

static void recent_failed(struct recent_reads *rr, const struct eval_test *t, const char *why)
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
    struct eval_test *t = one->t;
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
    while (!rr->error && rr->next < ev->split.ntests && rr->in_flight < READS_IN_FLIGHT) {
        struct eval_test *t = &ev->split.tests[rr->next];
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
    for (size_t i = 0; i < ev->split.ntests; i++)
        most += 1 + ev->split.tests[i].nrecent;
    struct dict *asked = dict_new();
    ev->wanted = calloc(most + 1, sizeof *ev->wanted);
    ev->nbs = dict_new();
    if (!asked || !ev->wanted || !ev->nbs) {
        dict_free(asked, NULL);
        return -1;
    }
    for (size_t i = 0; i < ev->split.ntests; i++) {
        want(ev, asked, ev->split.tests[i].query);
        for (size_t k = 0; k < ev->split.tests[i].nrecent; k++)
            want(ev, asked, ev->split.tests[i].recent[k]);
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
    for (size_t i = 0; i < ev->split.ntests; i++) {
        struct eval_test *t = &ev->split.tests[i];
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
                 ? score_candidates(nbs, weight, n, (enum score_measure)row->measure, NULL, 0,
                                    ev->popular, ev->npopular, ev->patrons,
                                    (const char *const *)t->borrowed, t->nborrowed, TOP_N, &c, &nc)
                 : score_candidates(only, &one, 1, SCORE_RAW, NULL, 0, ev->popular, ev->npopular,
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

/* ---- the command --------------------------------------------------------------- */

struct options {
    const char *redis, *file, *titles, *onloand, *zebra_conf;
    int keep;
};

/* The model settings eval may override, to compare: each a config
 * field, in the config's own range. */
static const struct {
    const char *flag;
    size_t offset;
    int min, max;
} overrides[] = {
    {"--pairs-per-loan", offsetof(struct config, pairs_per_loan), 1, 10000},
    {"--window-days", offsetof(struct config, window_days), 1, 36500},
    {"--history-titles", offsetof(struct config, history_titles), 0, MAX_HISTORY_TITLES},
    {"--min-patrons", offsetof(struct config, min_patrons), 1, 1000},
    {"--history-max", offsetof(struct config, history_max), 1, 10000},
    {"--history-ttl-days", offsetof(struct config, history_ttl_days), 1, 3650},
};
#define NOVERRIDES (sizeof overrides / sizeof overrides[0])

static void usage(void)
{
    fprintf(stderr, "usage: onloan eval [--redis IP:PORT] [--keep] [--titles TITLES.csv "
                    "[--onloand PATH] [--zebra-conf DIR]]\n"
                    "                   [--pairs-per-loan N] [--window-days N] "
                    "[--history-titles N] [--min-patrons N]\n"
                    "                   [--history-max N] [--history-ttl-days N] "
                    "[--order REASON,...] LOANS.csv\n");
}

/* --order: the served rows' order of reasons (the config's first
 * catalogue's `order`), comma-separated. 0, or 2 (told on stderr). */
static int parse_order(struct config *cfg, const char *list)
{
    char *copy = strdup(list), *save = NULL;
    const char *names[NREASONS + 1];
    size_t n = 0, at = 0;
    const char *wrong = copy ? NULL : "out of memory";
    for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t && !wrong;
         t = strtok_r(NULL, ",", &save))
        if (n == NREASONS)
            wrong = "must name 1 to 4 of the reasons";
        else
            names[n++] = t;
    if (!wrong && cfg->ncatalogues == 0)
        wrong = "needs a catalogue in the config";
    if (!wrong && (wrong = config_order_set(&cfg->catalogues[0], names, n, &at)) && n)
        fprintf(stderr, "--order: \"%s\" %s\n", names[at], wrong);
    else if (wrong)
        fprintf(stderr, "--order: %s\n", wrong);
    free(copy);
    return wrong ? 2 : 0;
}

/* Returns 0, or 2 (told on stderr) for bad usage. */
static int parse_options(struct config *cfg, int argc, char **argv, struct options *o)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char **value = strcmp(a, "--redis") == 0 ? &o->redis
                             : strcmp(a, "--titles") == 0 ? &o->titles
                             : strcmp(a, "--onloand") == 0 ? &o->onloand
                             : strcmp(a, "--zebra-conf") == 0 ? &o->zebra_conf : NULL;
        size_t k = 0;
        while (k < NOVERRIDES && strcmp(a, overrides[k].flag) != 0)
            k++;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage();
            return 2;
        } else if (strcmp(a, "--keep") == 0) {
            o->keep = 1;
        } else if ((value || k < NOVERRIDES || strcmp(a, "--order") == 0) && i + 1 >= argc) {
            fprintf(stderr, "%s: needs a value\n", a);
            return 2;
        } else if (value) {
            *value = argv[++i];
        } else if (strcmp(a, "--order") == 0) {
            if (parse_order(cfg, argv[++i]))
                return 2;
        } else if (k < NOVERRIDES) {
            char *end;
            errno = 0;
            long v = strtol(argv[++i], &end, 10);
            if (errno || end == argv[i] || *end || v < overrides[k].min || v > overrides[k].max) {
                fprintf(stderr, "%s: must be a whole number from %d to %d\n", a,
                        overrides[k].min, overrides[k].max);
                return 2;
            }
            *(int *)((char *)cfg + overrides[k].offset) = (int)v;
        } else if (!o->file && a[0] != '-') {
            o->file = a;
        } else {
            if (a[0] == '-')
                fprintf(stderr, "%s: not an option of eval\n", a);
            usage();
            return 2;
        }
    }
    if (!o->file) {
        usage();
        return 2;
    }
    if ((o->onloand || o->zebra_conf) && !o->titles) {
        fprintf(stderr, "--onloand and --zebra-conf go with --titles\n");
        return 2;
    }
    return 0;
}

/* The loans: read, dates made usable (eval_loans.h), checked by the
 * daemon's reader. -1 when they cannot be used (told on stderr). */
static int read_loans(const struct config *cfg, const char *file, struct eval_loans *prep,
                      struct loan_batch *all)
{
    struct strbuf err = {0};
    size_t len;
    long long now = (long long)time(NULL);
    char *text = loader_read_file(file, &len, &err);
    int rc = -1;
    if (text && eval_loans_prepare(file, text, len, cfg, now, prep, &err) == 0 &&
        loader_events_from_text(cfg, file, prep->text, prep->len, now, EVAL_SHOWN_PROBLEMS, all,
                                &err) == 0)
        rc = 0;
    if (prep->text) {               /* the reader has it all now */
        free(prep->text);
        prep->text = NULL;
    }
    free(text);
    fputs(strbuf_cstr(&err), stderr);
    strbuf_free(&err);
    return rc;
}

/* TITLES.csv into ts (freed again when it cannot be used, told on stderr). */
static int read_titles(const struct config *cfg, const char *file, struct eval_titles *ts)
{
    struct strbuf err = {0};
    size_t len;
    char *text = loader_read_file(file, &len, &err);
    int rc = text ? eval_titles_parse(file, text, len, EVAL_MAX_TITLES, cfg->max_record_id_bytes,
                                      EVAL_SHOWN_PROBLEMS, ts, &err) : -1;
    if (rc == 0 && ts->n == 0) {
        strbuf_printf(&err, "%s: no titles\n", file);
        rc = -1;
    }
    if (rc < 0)
        eval_titles_free(ts);
    free(text);
    fputs(strbuf_cstr(&err), stderr);
    strbuf_free(&err);
    return rc;
}

/* Where the CLI's own binary is (for the daemon and the Zebra files
 * beside it), caller frees; NULL when unknown. */
static char *own_dir(void)
{
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0)
        return NULL;
    path[n] = '\0';
    return strdup(dirname(path));
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if ((flag == FTW_DP ? rmdir(path) : unlink(path)) < 0)
        fprintf(stderr, "eval: cannot remove %s: %s\n", path, strerror(errno));
    return 0;
}

static void print_protocol(const struct eval *ev, const struct options *o,
                           const struct eval_loans *prep, size_t nloans)
{
    const struct config *cfg = ev->cfg;
    const struct eval_split *s = &ev->split;
    printf("onloan eval %s: %zu loans, %zu test patrons (>= %d titles), %zu titles in training\n",
           o->file, nloans, s->ntests, EVAL_MIN_TITLES, s->training_records);
    printf("protocol: per patron, loans in time order (ties in file order); test patrons have "
           "borrowed >= %d distinct titles;\n"
           "  hidden: each one's last new title (the first loan of a title they had not "
           "borrowed before;\n"
           "  %zu of them borrowed again after it), with its later loans (%zu loans held out);\n"
           "  query: the title borrowed just before it; training: every other loan; "
           "a hit: the hidden title in the %d shown\n", EVAL_MIN_TITLES, s->repeat_after,
           s->held_out, TOP_N);
    if (s->holds)
        printf("holds: %zu hold events left out (no part of the model)\n", s->holds);
    if (eval_loans_undated(prep))
        printf("dates: %zu loans without a full date left out (%zu none, %zu a year, %zu a year "
               "and month, %zu a day without a year)\n", eval_loans_undated(prep),
               prep->undated[UNDATED_NONE], prep->undated[UNDATED_YEAR],
               prep->undated[UNDATED_MONTH], prep->undated[UNDATED_DAY]);
    if (prep->shift_days)
        printf("dates: every loan moved %lld days later (%lld years, in cycles of %d days: day "
               "and month kept, gaps exact) so that none is before 1970\n", prep->shift_days,
               prep->shift_days / EVAL_SHIFT_CYCLE_DAYS * 4, EVAL_SHIFT_CYCLE_DAYS);
    printf("model: window_days %d, pairs_per_loan %d, history_max %d, history_ttl_days %d, "
           "min_patrons %d, neighbours_max %d, history_titles %d\n",
           cfg->window_days, cfg->pairs_per_loan, cfg->history_max, cfg->history_ttl_days,
           cfg->min_patrons, cfg->neighbours_max, cfg->history_titles);
    printf("measure rows: the model's scores for the query (score.h), no shelf; the patron's "
           "training titles left out; popularity fills up to %d\n", TOP_N);
    if (!o->titles)
        return;
    const struct catalogue_config *cc = &cfg->catalogues[0];
    printf("served rows: GET /v1/alternatives?record=QUERY&limit=%d of onloand (catalogue "
           "%s, %s, order", TOP_N, cc->name, score_measure_name(cc->scoring));
    for (size_t i = 0; i < cc->norder; i++)
        printf("%s%s", i ? "," : " ", reason_names[cc->order[i]]);
    printf(") on this model and a Zebra of %s,\n"
           "  every title one copy on the shelf; \"served\" without patron= (anyone at the "
           "catalogue), \"+ history\" with the patron's id\n", o->titles);
}

static void print_row(const char *name, double hits, double rr, size_t shown, const struct eval *ev,
                      const char *note)
{
    double n = ev->split.ntests ? (double)ev->split.ntests : 1;
    printf("%-20s %8.3f %8.3f %9.3f %6zu%s\n", name, hits / n, rr / n,
           ev->split.training_records ? (double)shown / (double)ev->split.training_records : 0,
           ev->split.ntests, note);
}

static void print_served(const struct eval *ev, const struct eval_served_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        print_row(rows[i].name, rows[i].hits, rows[i].rr, dict_size(rows[i].shown), ev, "");
    for (size_t i = 0; i < n; i++) {
        const struct eval_served_row *r = &rows[i];
        printf("%s: hits by reason: also_borrowed %zu, same_author %zu, same_subject %zu, "
               "popular %zu; %zu answers (%zu degraded), %zu queries not in the catalogue (404); "
               "%.1f s, %.0f answers/s\n", r->name, r->hit_reason[REASON_ALSO_BORROWED],
               r->hit_reason[REASON_SAME_AUTHOR], r->hit_reason[REASON_SAME_SUBJECT],
               r->hit_reason[REASON_POPULAR], r->answered, r->degraded, r->not_found, r->seconds,
               r->seconds > 0 ? (double)(r->answered + r->not_found) / r->seconds : 0);
    }
}

/* The served rows: a catalogue and a daemon of the run's own, asked for
 * every test patron without, then with, patron=. */
static int serve_rows(struct eval *ev, const struct options *o, const struct eval_titles *ts,
                      const struct eval_loans *prep, struct eval_served_row *rows, size_t nrows,
                      double *build_s, double *index_s)
{
    struct strbuf err = {0};
    char *self = own_dir(), *onloand = NULL, *conf = NULL, *dir = NULL;
    const char *tmp = getenv("TMPDIR");
    struct eval_catalogue cat = {0};
    struct eval_daemon d = {0};
    int rc = -1;
    if (!self && (!o->onloand || !o->zebra_conf)) {
        fprintf(stderr, "eval: where is this program? (give --onloand and --zebra-conf)\n");
        return -1;
    }
    if ((o->onloand ? !(onloand = strdup(o->onloand))
                    : asprintf(&onloand, "%s/onloand", self) < 0) ||
        (o->zebra_conf ? !(conf = strdup(o->zebra_conf))
                       : asprintf(&conf, "%s/../deploy/zebra", self) < 0) ||
        asprintf(&dir, "%s/onloan-eval-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0) {
        fprintf(stderr, "eval: out of memory\n");
        free(self);
        return -1;
    }
    if (!mkdtemp(dir)) {
        fprintf(stderr, "eval: cannot make a work directory (%s): %s\n", dir, strerror(errno));
        free(dir);
        dir = NULL;
    } else if (eval_catalogue_start(&cat, dir, conf, ts, &err) < 0 ||
               eval_daemon_start(&d, ev->cfg, onloand, dir, cat.port, ev->run.base, &err) < 0) {
        fprintf(stderr, "eval: the served rows: %s", strbuf_cstr(&err));
    } else {
        *build_s = cat.records_s;
        *index_s = cat.index_s;
        rc = 0;
        for (size_t i = 0; i < nrows && rc == 0; i++)
            if (eval_daemon_ask(&d, ev->run.base, &ev->split, prep->raw_patrons, &rows[i],
                                &err) < 0) {
                fprintf(stderr, "eval: %s: %s", rows[i].name, strbuf_cstr(&err));
                rc = -1;
            }
        strbuf_reset(&err);
        if (eval_daemon_stop(&d, &err) < 0) {
            fprintf(stderr, "eval: %s", strbuf_cstr(&err));
            rc = -1;
        }
    }
    eval_daemon_stop(&d, &err);
    eval_catalogue_stop(&cat);
    if (dir && o->keep)
        fprintf(stderr, "eval: the served rows' files are kept in %s\n", dir);
    else if (dir)
        nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    strbuf_free(&err);
    free(dir);
    free(conf);
    free(onloand);
    free(self);
    return rc;
}

int eval_main(struct config *cfg, int argc, char **argv)
{
    struct options o = {0};
    int rc = parse_options(cfg, argc, argv, &o);
    if (rc)
        return rc;
    struct eval ev = {.cfg = cfg};
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    struct eval_titles titles = {0};
    if (o.titles && read_titles(cfg, o.titles, &titles) < 0)
        return 1;
    if (o.titles && cfg->max_alternatives < TOP_N) {
        fprintf(stderr, "eval: limits.max_alternatives is %d: the served rows ask for %d\n",
                cfg->max_alternatives, TOP_N);
        eval_titles_free(&titles);
        return 1;
    }
    struct strbuf err = {0};
    struct loan_batch all = {0};
    struct eval_loans prep = {0};
    if (read_loans(cfg, o.file, &prep, &all) < 0) {
        loan_batch_free(&all);
        eval_loans_free(&prep);
        eval_titles_free(&titles);
        return 1;
    }
    size_t nloans = all.n;

    struct redis_child child = {0};
    char *host = NULL;
    int port = 0;
    if (o.redis) {
        if (config_split_address(o.redis, &host, &port) < 0) {
            fprintf(stderr, "--redis: must be IP:PORT\n");
            loan_batch_free(&all);
            eval_loans_free(&prep);
            eval_titles_free(&titles);
            return 2;
        }
    } else {
        if (redis_child_start(&child, "redis-server", REDIS_START_MS, &err) < 0) {
            fprintf(stderr, "eval: no Redis to work in: %s", strbuf_cstr(&err));
            strbuf_free(&err);
            loan_batch_free(&all);
            eval_loans_free(&prep);
            eval_titles_free(&titles);
            return 1;
        }
        host = strdup("127.0.0.1");
        port = child.port;
        /* a Redis of eval's own has no users: no AUTH */
        free(cfg->redis_username);
        cfg->redis_username = NULL;
        if (cfg->redis_password) {
            sodium_memzero(cfg->redis_password, strlen(cfg->redis_password));
            free(cfg->redis_password);
            cfg->redis_password = NULL;
        }
    }
    free(cfg->redis_host);
    cfg->redis_host = host;
    cfg->redis_port = port;
    free(cfg->redis_prefix);
    if (asprintf(&cfg->redis_prefix, "onloan-eval:%ld:", (long)getpid()) < 0)
        cfg->redis_prefix = NULL;
    cfg->model_cache_ms = 0;

    rc = 1;
    struct load_summary sum;
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
    struct eval_served_row served[] = {
        {.name = "served", .with_patron = 0},
        {.name = "served + history", .with_patron = 1},
    };
    size_t nserved = o.titles ? sizeof served / sizeof served[0] : 0;
    double build_s = 0, index_s = 0;
    if (!cfg->redis_prefix || eval_split(&all, &ev.split) < 0) {
        fprintf(stderr, "eval: out of memory\n");
    } else if (loader_open(&ev.run, cfg, 5000, &err) < 0 ||
               loader_ingest(&ev.run, &all, NULL, &sum, &err) < 0) {
        fputs(strbuf_cstr(&err), stderr);
    } else if (!(ev.model = model_new(ev.run.st, cfg)) || read_context(&ev) < 0 ||
               read_neighbours(&ev) < 0) {
        fprintf(stderr, "eval: reading the model failed\n");
    } else {
        rc = 0;
        for (size_t i = 0; i < nrows && rc == 0; i++) {
            rows[i].shown = dict_new();
            rc = rows[i].shown && score_row(&ev, &rows[i]) == 0 ? 0 : 1;
        }
        for (size_t i = 0; i < nserved && rc == 0; i++)
            rc = (served[i].shown = dict_new()) ? 0 : 1;
        if (rc == 0 && nserved &&
            serve_rows(&ev, &o, &titles, &prep, served, nserved, &build_s, &index_s) < 0)
            rc = 1;
        if (rc == 0) {
            print_protocol(&ev, &o, &prep, nloans);
            printf("%-20s %8s %8s %9s %6s\n", "measure", "hit@10", "MRR@10", "coverage", "users");
            for (size_t i = 0; i < nrows; i++)
                print_row(rows[i].name, rows[i].hits, rows[i].rr, dict_size(rows[i].shown), &ev,
                          rows[i].measure == (int)cfg->scoring && !rows[i].with_history
                          ? "  (default)" : "");
            print_served(&ev, served, nserved);
            printf("ingest %.2f s, compaction %.2f s", sum.ingest_s, sum.compact_s);
            if (nserved)
                printf(", %zu records %.2f s, zebraidx %.2f s", titles.n, build_s, index_s);
            printf(", total %.2f s\n", seconds_since(&t0));
        }
        for (size_t i = 0; i < nrows; i++)
            dict_free(rows[i].shown, NULL);
    }
    for (size_t i = 0; i < nserved; i++)
        dict_free(served[i].shown, NULL);
    if (ev.run.base && o.redis && !o.keep)
        remove_prefix(&ev);
    dict_free(ev.nbs, free_nb);
    free(ev.wanted);
    neighbour_list_free(ev.popular, ev.npopular);   /* from model_popular_parse */
    model_free(ev.model);
    loader_close(&ev.run);
    eval_split_free(&ev.split);
    eval_loans_free(&prep);
    eval_titles_free(&titles);
    loan_batch_free(&all);
    strbuf_free(&err);
    redis_child_stop(&child);
    return rc;
}
