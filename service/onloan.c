/* onloan.c: onloan, the command-line tool.
 *
 *   onloan [-c FILE] load [--memory SIZE] [--tmpdir DIR] [--in-memory] LOANS...
 *                                        loan events into the model (CSV,
 *                                        JSON lines or MovieLens ratings),
 *                                        streamed (load_stream.h)
 *   onloan [-c FILE] forget PATRON       remove what is kept of a patron
 *   onloan [-c FILE] stats               the model's size in Redis
 *   onloan [-c FILE] eval [...] LOANS    offline evaluation (eval.h)
 *   onloan [-c FILE] report [OPTIONS]    the reports of the API (reports.h)
 *
 * load and forget go through the daemon's own ingest code (loader.h). A
 * config whose secrets others can read is used with a warning (onloand
 * refuses it; config.h). The man page is docs/man/onloan.1. */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli/eval.h"
#include "cli/load_stream.h"
#include "cli/loader.h"
#include "cli/reports.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "redis/sentinel_watch.h"
#include "core/pseudonym.h"
#include "model/cooc_list.h"

#define CLI_REDIS_TIMEOUT_MS 60000  /* batch writes are big; this is no daemon */
#define CLI_FLUSH_MAX_PAIRS 8000000 /* pair counts between writes at least: fewer, fuller lists */
/* A streamed load flushes pair counts once this many bytes of --memory
 * are pending per count (16 bytes a count while a flush groups them; new
 * jobs wait while the next flush is as full, LOADER_PENDING_FLUSHES):
 * 32,000,000 for the default 512M. Bigger flushes collapse more repeated
 * pairs: 10 M loans went 129k to 214k loans/s from 8 to 32 million
 * (docs/benchmarks.md). */
#define CLI_MEMORY_PER_PENDING_PAIR 16

static void usage(void)
{
    fprintf(stderr,
            "usage: onloan [-c config.json] load [--memory SIZE] [--tmpdir DIR] [--in-memory] LOANS...\n"
            "       onloan [-c config.json] forget PATRON\n"
            "       onloan [-c config.json] stats\n"
            "       onloan [-c config.json] eval [--titles TITLES.csv] [options] LOANS.csv "
            "(onloan eval -h)\n"
            "       onloan [-c config.json] report [--from D] [--to D] [--group G] "
            "[--format table|csv|json] [--goals]\n");
}

/* A --memory value: bytes, or with K, M or G (powers of 1024). -1 if
 * malformed or out of range. */
static int parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno || *s == '-')
        return -1;
    unsigned shift = 0;
    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M' || *end == 'm')
        shift = 20;
    else if (*end == 'G' || *end == 'g')
        shift = 30;
    if (shift)
        end++;
    if (*end || v > (SIZE_MAX >> shift))
        return -1;
    *out = (size_t)(v << shift);
    return 0;
}

static void print_loaded(const struct config *cfg, const struct load_summary *sum, double read_s)
{
    printf("loaded %zu events in %.2f s (%.0f events/s): %zu new loans, %zu repeats, "
           "%zu duplicates, %zu stale, %zu new patrons; %llu pair counts\n",
           sum->events, sum->ingest_s, sum->ingest_s > 0 ? (double)sum->events / sum->ingest_s : 0,
           sum->new_loans, sum->repeats, sum->duplicates, sum->stale, sum->new_patrons,
           sum->ingest.pairs_written);
    if (sum->holds || sum->ingest.attributed || sum->ingest.attributed_again ||
        sum->ingest.attribution_failures)
        printf("%zu holds (not in the model); attributed to touchpoints: %llu, %llu counted "
               "before, %llu failed\n", sum->holds, sum->ingest.attributed,
               sum->ingest.attributed_again, sum->ingest.attribution_failures);
    printf("events applied in %.2f s, pair counts written in %.2f s more\n", sum->jobs_s,
           sum->ingest_s - sum->jobs_s);
    printf("read, checked and pseudonymised first in %.3f s: %.0f events/s from the file's "
           "first byte to the last count written\n", read_s,
           (double)sum->events / (read_s + sum->ingest_s));
    printf("compacted %llu lists in %.2f s: %llu entries kept of %llu (top %d + %d per record)\n",
           sum->compact.records, sum->compact_s, sum->compact.entries_kept,
           sum->compact.entries_in, cfg->neighbours_max, cfg->neighbours_reserve);
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

/* The loader before streaming (--in-memory): every event in memory first. */
static int load_in_memory(struct config *cfg, char **paths, int npaths)
{
    struct loan_batch all = {0};
    struct strbuf err = {0};
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int read_failed = loader_read_events(cfg, paths, npaths, LOADER_MAX_SHOWN_PROBLEMS, &all, &err) < 0;
    double read_s = seconds_since(&t0);
    if (read_failed) {
        fputs(strbuf_cstr(&err), stderr);
        strbuf_free(&err);
        loan_batch_free(&all);
        fprintf(stderr, "nothing loaded\n");
        return 1;
    }
    struct loader run;
    struct load_summary sum;
    int rc = 1;
    if (loader_open(&run, cfg, 5000, &err) == 0) {
        rc = loader_ingest(&run, &all, isatty(fileno(stderr)) ? stderr : NULL, &sum, &err) == 0 ? 0 : 1;
        loader_close(&run);
    }
    loan_batch_free(&all);
    if (rc)
        fputs(strbuf_cstr(&err), stderr);
    else
        print_loaded(cfg, &sum, read_s);
    strbuf_free(&err);
    return rc;
}

static int cmd_load(struct config *cfg, char **args, int nargs)
{
    struct load_stream_options o = {.memory = LOAD_DEFAULT_MEMORY, .max_shown = LOADER_MAX_SHOWN_PROBLEMS,
                                    .job_events = LOADER_JOB_EVENTS};
    const char *tmpdir = getenv("TMPDIR");
    int in_memory = 0, i = 0;
    for (; i < nargs && strncmp(args[i], "--", 2) == 0; i++) {
        if (strcmp(args[i], "--in-memory") == 0) {
            in_memory = 1;
        } else if (strcmp(args[i], "--memory") == 0 && i + 1 < nargs) {
            if (parse_size(args[++i], &o.memory) < 0 || o.memory < LOAD_MIN_MEMORY) {
                fprintf(stderr, "--memory: must be a size of at least 1M (bytes, or with K, M or G)\n");
                return 2;
            }
        } else if (strcmp(args[i], "--tmpdir") == 0 && i + 1 < nargs) {
            tmpdir = args[++i];
        } else {
            usage();
            return 2;
        }
    }
    if (i == nargs) {
        usage();
        return 2;
    }
    if (in_memory)
        return load_in_memory(cfg, args + i, nargs - i);
    o.tmpdir = tmpdir && *tmpdir ? tmpdir : "/tmp";
    if (o.memory / CLI_MEMORY_PER_PENDING_PAIR > (size_t)cfg->flush_max_pairs)
        cfg->flush_max_pairs = o.memory / CLI_MEMORY_PER_PENDING_PAIR > INT_MAX
                               ? INT_MAX : (int)(o.memory / CLI_MEMORY_PER_PENDING_PAIR);

    struct strbuf err = {0};
    struct load_stream *ls = load_stream_new(cfg, &o);
    if (!ls) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    if (load_stream_read(ls, args + i, nargs - i, &err) < 0) {
        fputs(strbuf_cstr(&err), stderr);
        strbuf_free(&err);
        load_stream_free(ls);
        fprintf(stderr, "nothing loaded\n");
        return 1;
    }
    struct load_stream_stats ls_st;
    load_stream_get_stats(ls, &ls_st);
    struct loader run;
    struct load_summary sum;
    int rc = 1;
    if (loader_open(&run, cfg, 5000, &err) == 0) {
        rc = loader_ingest_jobs(&run, load_stream_next_job, ls, ls_st.events,
                                isatty(fileno(stderr)) ? stderr : NULL, &sum, &err) == 0 ? 0 : 1;
        loader_close(&run);
    }
    load_stream_free(ls);
    if (rc) {
        fputs(strbuf_cstr(&err), stderr);
    } else {
        print_loaded(cfg, &sum, ls_st.read_s + ls_st.sort_s);
        const struct extsort_stats *a = &ls_st.sort[0], *b = &ls_st.sort[1];
        printf("order: %s; read and checked in %.2f s, sorted in %.2f s more "
               "(%zu + %zu runs on disk, %.0f MB written to %s, --memory %zu MB)\n",
               ls_st.sorts == 0 ? "in order already (no sort)"
               : ls_st.sorts == 1 ? "one sort, by each patron's first event"
                                  : "two sorts, by pseudonym then by first event (the patrons "
                                    "outgrew a quarter of --memory)",
               ls_st.read_s, ls_st.sort_s, a->runs, b->runs,
               (double)(a->bytes_written + b->bytes_written) / 1e6, o.tmpdir, o.memory >> 20);
        printf("peak memory (RSS) %.0f MB; jobs waited for a flush %zu times, and for %zu "
               "compactions on the way (every %d flushes)\n", (double)peak_rss_kb() / 1024,
               sum.flush_waits, sum.compactions, LOADER_COMPACT_FLUSHES);
    }
    strbuf_free(&err);
    return rc;
}

struct forget_state {
    enum failure error;
    int done;
};

static void forgotten(enum failure error, void *arg)
{
    struct forget_state *f = arg;
    f->error = error;
    f->done = 1;
}

static int cmd_forget(struct config *cfg, const char *patron)
{
    struct loader run;
    struct strbuf err = {0};
    char pseudo[PSEUDONYM_HEX_LEN + 1];
    if (pseudonymise_patron(cfg->patron_key, patron, strlen(patron), pseudo) < 0) {
        fprintf(stderr, "patron: %s\n", PATRON_RULE);
        return 2;
    }
    if (loader_open(&run, cfg, 5000, &err) < 0) {
        fputs(strbuf_cstr(&err), stderr);
        strbuf_free(&err);
        return 1;
    }
    struct forget_state f = {0};
    if (ingest_forget(run.ing, pseudo, forgotten, &f) < 0)
        f = (struct forget_state){FAILURE_OUT_OF_MEMORY, 1};
    while (!f.done)
        event_base_loop(run.base, EVLOOP_ONCE);
    loader_close(&run);
    if (f.error) {
        fprintf(stderr, "not forgotten: %s (run it again: it does what is left)\n",
                failure_name(f.error));
        return 1;
    }
    /* The pseudonym, not the patron id: this goes to terminals and logs. */
    printf("forgotten, their counts taken back: everything kept under pseudonym %s\n", pseudo);
    return 0;
}

/* ---- stats ------------------------------------------------------------------ */

static long long reply_integer(redisReply *r)
{
    if (!r)
        return -1;
    long long v = r->type == REDIS_REPLY_INTEGER ? r->integer
                  : r->type == REDIS_REPLY_STRING ? atoll(r->str) : -1;
    freeReplyObject(r);
    return v;
}

/* The next reply of a pipeline (caller frees); NULL, said on stderr, when
 * the connection failed. */
static redisReply *next_reply(redisContext *rc)
{
    void *r = NULL;
    if (redisGetReply(rc, &r) != REDIS_OK || !r) {
        fprintf(stderr, "redis: %s\n", rc->err ? rc->errstr : "no reply");
        return NULL;
    }
    return r;
}

struct stats {
    unsigned long long lists, entries, usable, bytes, histories, hist_bytes;
};

/* One SCAN page's keys: every command for them sent at once (GET and
 * MEMORY USAGE of a co: list, MEMORY USAGE of an h: history), then the
 * replies read in that order. -1 if the connection failed. */
static int stats_page(redisContext *rc, const struct config *cfg, const redisReply *keys,
                      struct stats *st)
{
    size_t plen = strlen(cfg->redis_prefix);
    for (size_t i = 0; i < keys->elements; i++) {
        const redisReply *key = keys->element[i];
        const char *k = key->str + plen;
        int co = strncmp(k, "co:", 3) == 0;
        if (!co && strncmp(k, "h:", 2) != 0)
            continue;
        if ((co && redisAppendCommand(rc, "GET %b", key->str, key->len) != REDIS_OK) ||
            redisAppendCommand(rc, "MEMORY USAGE %b SAMPLES 0", key->str, key->len) != REDIS_OK) {
            fprintf(stderr, "redis: %s\n", rc->errstr);
            return -1;
        }
    }
    for (size_t i = 0; i < keys->elements; i++) {
        const char *k = keys->element[i]->str + plen;
        if (strncmp(k, "co:", 3) == 0) {
            redisReply *v = next_reply(rc);
            if (!v)
                return -1;
            struct cooc_list list;
            if (v->type == REDIS_REPLY_STRING && cooc_parse(&list, v->str, v->len) == 0) {
                st->lists++;
                st->entries += list.n;
                for (size_t j = 0; j < list.n; j++)
                    st->usable += list.e[j].count >= (uint32_t)cfg->min_patrons;
                cooc_free(&list);
            }
            freeReplyObject(v);
            redisReply *m = next_reply(rc);
            if (!m)
                return -1;
            long long bytes = reply_integer(m);
            st->bytes += bytes > 0 ? (unsigned long long)bytes : 0;
        } else if (strncmp(k, "h:", 2) == 0) {
            redisReply *m = next_reply(rc);
            if (!m)
                return -1;
            st->histories++;
            long long bytes = reply_integer(m);
            st->hist_bytes += bytes > 0 ? (unsigned long long)bytes : 0;
        }
    }
    return 0;
}

static int cmd_stats(const struct config *cfg)
{
    struct timeval tv = {5, 0};
    redisContext *rc = redisConnectWithTimeout(cfg->redis_host, cfg->redis_port, tv);
    if (!rc || rc->err) {
        fprintf(stderr, "redis %s:%d: %s\n", cfg->redis_host, cfg->redis_port,
                rc ? rc->errstr : "out of memory");
        redisFree(rc);
        return 1;
    }
    if (cfg->redis_password) {
        redisReply *a = cfg->redis_username
                            ? redisCommand(rc, "AUTH %s %s", cfg->redis_username, cfg->redis_password)
                            : redisCommand(rc, "AUTH %s", cfg->redis_password);
        int refused = !a || a->type == REDIS_REPLY_ERROR;
        if (refused)
            fprintf(stderr, "redis: AUTH refused: %s\n", a ? a->str : rc->errstr);
        freeReplyObject(a);
        if (refused) {
            redisFree(rc);
            return 1;
        }
    }
    const char *pfx = cfg->redis_prefix;
    struct stats st = {0};
    char cursor[32] = "0";
    int failed = 0;
    do {
        redisReply *r = redisCommand(rc, "SCAN %s MATCH %s* COUNT 1000", cursor, pfx);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            fprintf(stderr, "redis: SCAN failed: %s\n", r && r->type == REDIS_REPLY_ERROR ? r->str : rc->errstr);
            freeReplyObject(r);
            failed = 1;
            break;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        failed = stats_page(rc, cfg, r->element[1], &st) < 0;
        freeReplyObject(r);
    } while (!failed && strcmp(cursor, "0") != 0);
    long long totals[4];
    if (!failed) {
        /* the totals, in one pipeline too */
        if (redisAppendCommand(rc, "ZCARD %spop", pfx) != REDIS_OK ||
            redisAppendCommand(rc, "SCARD %sdirty", pfx) != REDIS_OK ||
            redisAppendCommand(rc, "HGET %smeta patrons", pfx) != REDIS_OK ||
            redisAppendCommand(rc, "HGET %smeta loans", pfx) != REDIS_OK) {
            fprintf(stderr, "redis: %s\n", rc->errstr);
            failed = 1;
        }
        for (int i = 0; i < 4 && !failed; i++) {
            redisReply *v = next_reply(rc);
            failed = !v;
            totals[i] = reply_integer(v);
        }
    }
    if (!failed) {
        long long records = totals[0], dirty = totals[1], patrons = totals[2], loans = totals[3];
        printf("records_with_loans: %lld\n", records);
        printf("patrons: %lld\n", patrons);
        printf("loans_counted: %lld\n", loans);
        printf("cooccurrence_lists: %llu\n", st.lists);
        printf("kept_pairs: %llu\n", st.entries);
        printf("usable_pairs: %llu (shared by >= %d patrons)\n", st.usable, cfg->min_patrons);
        printf("lists_bytes: %llu\n", st.bytes);
        printf("bytes_per_kept_pair: %.1f\n", st.entries ? (double)st.bytes / (double)st.entries : 0.0);
        printf("histories: %llu (%llu bytes)\n", st.histories, st.hist_bytes);
        printf("waiting_for_compaction: %lld\n", dirty);
        printf("(a kept pair is one entry of a record's list: a pair kept in both records' lists counts twice)\n");
    }
    redisFree(rc);
    return failed;
}

int main(int argc, char **argv)
{
    const char *path = ONLOAN_CONFIG_PATH;
    int opt;
    loan_json_init();           /* before jansson allocates anything */
    while ((opt = getopt(argc, argv, "+c:h")) != -1) {
        if (opt == 'c') {
            path = optarg;
        } else {
            usage();
            return 2;
        }
    }
    if (argc - optind < 1) {
        usage();
        return 2;
    }
    const char *cmd = argv[optind];
    char **rest = argv + optind + 1;
    int nrest = argc - optind - 1;
    int known = (strcmp(cmd, "load") == 0 && nrest >= 1) || (strcmp(cmd, "forget") == 0 && nrest == 1) ||
                (strcmp(cmd, "stats") == 0 && nrest == 0) || strcmp(cmd, "eval") == 0 ||
                strcmp(cmd, "report") == 0;
    if (!known) {
        usage();
        return 2;
    }
    struct config *cfg = config_load_or_report(path);
    if (!cfg)
        return 1;
    /* Secrets others can read: onloand refuses such a config; onloan, run
     * by hand, says so and goes on (a forget must not wait for a chmod,
     * and going on exposes nothing more). */
    for (const char *line = config_exposures(cfg), *nl; line && (nl = strchr(line, '\n'));
         line = nl + 1)
        fprintf(stderr, "warning: %.*s\n", (int)(nl - line), line);
    if (config_exposures(cfg))
        fprintf(stderr, "warning: %s: onloand refuses to run with secrets others can read\n", path);
    if (pseudonym_init() < 0) {
        fprintf(stderr, "cannot initialise libsodium\n");
        config_free(cfg);
        return 1;
    }
    log_set_level(LOG_WARN);   /* the CLI prints its own results */
    /* With Sentinels, the primary is asked for once (eval starts a Redis
     * of its own) */
    if (cfg->nredis_sentinels && strcmp(cmd, "eval") != 0) {
        struct strbuf err = {0};
        if (sentinel_resolve_blocking(cfg, &err) < 0) {
            fprintf(stderr, "redis: no Sentinel named the primary %s: %s\n", cfg->redis_master_name,
                    err.buf ? err.buf : "out of memory");
            strbuf_free(&err);
            config_free(cfg);
            return 1;
        }
        strbuf_free(&err);
    }
    if (cfg->redis_timeout_ms < CLI_REDIS_TIMEOUT_MS)
        cfg->redis_timeout_ms = CLI_REDIS_TIMEOUT_MS;
    if (cfg->flush_max_pairs < CLI_FLUSH_MAX_PAIRS)
        cfg->flush_max_pairs = CLI_FLUSH_MAX_PAIRS;
    int rc;
    if (strcmp(cmd, "load") == 0)
        rc = cmd_load(cfg, rest, nrest);
    else if (strcmp(cmd, "forget") == 0)
        rc = cmd_forget(cfg, rest[0]);
    else if (strcmp(cmd, "stats") == 0)
        rc = cmd_stats(cfg);
    else if (strcmp(cmd, "report") == 0)
        rc = reports_main(cfg, nrest, rest);
    else
        rc = eval_main(cfg, nrest, rest);
    config_free(cfg);
    return rc;
}
