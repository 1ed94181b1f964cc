/* loader.c: see loader.h. */
#include "cli/loader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"

#define JOBS_IN_FLIGHT 4

int loader_open(struct loader *run, const struct config *cfg, int connect_ms,
               struct strbuf *err)
{
    memset(run, 0, sizeof *run);
    run->cfg = cfg;
    if (!(run->base = event_base_new()) || !(run->st = redis_client_new(run->base, cfg)) ||
        !(run->ing = ingest_new(run->base, run->st, run->st, cfg, 0)) ||
        !(run->comp = compactor_new(run->base, run->st, cfg, 0))) {
        strbuf_puts(err, "out of memory\n");
        loader_close(run);
        return -1;
    }
    uint64_t until = monotonic_ms() + (uint64_t)connect_ms;
    while (!redis_client_connected(run->st) && monotonic_ms() < until) {
        struct timeval tv = {0, 20 * 1000};
        event_base_loopexit(run->base, &tv);
        event_base_dispatch(run->base);
    }
    if (!redis_client_connected(run->st)) {
        strbuf_printf(err, "redis %s:%d: cannot connect\n", cfg->redis_host, cfg->redis_port);
        loader_close(run);
        return -1;
    }
    return 0;
}

void loader_close(struct loader *run)
{
    compactor_free(run->comp);
    ingest_free(run->ing);
    redis_client_free(run->st);
    if (run->base)
        event_base_free(run->base);
    memset(run, 0, sizeof *run);
}

struct driver {
    struct loader *run;
    loader_next_job *next;      /* where the jobs come from */
    void *src;
    size_t in_flight, done_events, total;
    int source_done;            /* next said there are no more (or failed) */
    int waiting_flush;          /* too many pair counts pending: no job until a flush ends */
    int compacting;             /* LOADER_COMPACT_FLUSHES flushes since the last compaction:
                                 * no job until the lists are compacted */
    unsigned long long compacted_at;    /* ingest_stats.flushes at the last compaction */
    int source_failed;          /* ... failed: the reason is in err */
    struct strbuf *err;
    struct load_summary *sum;
    enum failure error;
    FILE *progress;
    struct timespec t0;
    uint64_t last_progress_ms;
    int finished;
};

static void submit_more(struct driver *d);

static void job_done(const struct ingest_result *res, enum failure error, void *arg)
{
    struct driver *d = arg;
    d->in_flight--;
    if (error && !d->error)
        d->error = error;
    if (res) {
        d->sum->events += res->taken;
        d->sum->new_loans += res->new_loans;
        d->sum->repeats += res->repeats;
        d->sum->duplicates += res->duplicates;
        d->sum->stale += res->stale;
        d->sum->holds += res->holds;
        d->sum->new_patrons += res->new_patrons;
        d->done_events += res->taken;
    }
    uint64_t now = monotonic_ms();
    if (d->progress && (now - d->last_progress_ms >= 200 || d->done_events == d->total)) {
        double s = seconds_since(&d->t0);
        fprintf(d->progress, "\r%zu/%zu events, %.0f events/s   ", d->done_events, d->total,
                s > 0 ? (double)d->done_events / s : 0);
        fflush(d->progress);
        d->last_progress_ms = now;
    }
    submit_more(d);
}

/* Pair counts pending, at most: jobs wait while a flush writes them.
 * Jobs may finish faster than flushes write (Redis does both), and
 * without this bound what waits would grow with the file. */
static int pending_too_many(const struct driver *d)
{
    struct ingest_stats st;
    ingest_get_stats(d->run->ing, &st);
    return st.pending_pairs >= LOADER_PENDING_FLUSHES * (size_t)d->run->cfg->flush_max_pairs;
}

static void flush_waited(enum failure error, void *arg)
{
    struct driver *d = arg;
    d->waiting_flush = 0;
    if (error && !d->error)
        d->error = error;
    submit_more(d);
}

/* The lists are only ever appended to until compacted: compacted every
 * LOADER_COMPACT_FLUSHES flushes, so that what waits in Redis for
 * compaction does not grow with the file. With no job in flight, after
 * a flush of what is pending: the same points of every load of a file,
 * so that its model is the same every time. */
static unsigned long long flushes_done(const struct driver *d)
{
    struct ingest_stats st;
    ingest_get_stats(d->run->ing, &st);
    return st.flushes;
}

static void compacted_during(enum failure error, void *arg)
{
    struct driver *d = arg;
    d->compacting = 0;
    d->compacted_at = flushes_done(d);
    if (error && !d->error)
        d->error = error;
    submit_more(d);
}

static void flushed_to_compact(enum failure error, void *arg)
{
    struct driver *d = arg;
    if (error) {
        d->compacting = 0;
        if (!d->error)
            d->error = error;
        submit_more(d);
        return;
    }
    compact_all(d->run->comp, compacted_during, d);
}

static void submit_more(struct driver *d)
{
    if (d->waiting_flush || d->compacting)
        return;
    if (!d->error && !d->source_done &&
        flushes_done(d) - d->compacted_at >= LOADER_COMPACT_FLUSHES) {
        if (d->in_flight == 0) {
            d->compacting = 1;
            d->sum->compactions++;
            ingest_flush(d->run->ing, flushed_to_compact, d);  /* may call back at once */
        }
        return;
    }
    if (!d->error && !d->source_done && pending_too_many(d)) {
        /* the jobs in flight go on: only new ones wait, and only for the
         * flush running now (a full drain would leave one core idle) */
        d->waiting_flush = 1;
        d->sum->flush_waits++;
        ingest_flush_wait(d->run->ing, flush_waited, d);    /* may call back at once */
        return;
    }
    while (!d->error && !d->source_done && d->in_flight < JOBS_IN_FLIGHT) {
        struct loan_batch job = {0};
        int rc = d->next(d->src, &job, d->err);
        if (rc <= 0) {
            d->source_done = 1;
            if (rc < 0) {
                d->source_failed = 1;
                d->error = FAILURE_OUT_OF_MEMORY;   /* what failed is in err */
            }
            break;
        }
        if (ingest_submit(d->run->ing, &job, job_done, d) < 0) {
            loan_batch_free(&job);              /* the job stays ours to free */
            d->error = FAILURE_OUT_OF_MEMORY;
            break;
        }
        d->in_flight++;
    }
    if (d->in_flight == 0 && (d->error || d->source_done)) {
        d->finished = 1;
        event_base_loopbreak(d->run->base);
    }
}

static void stage_done(enum failure error, void *arg)
{
    struct driver *d = arg;
    if (error && !d->error)
        d->error = error;
    d->finished = 1;
    event_base_loopbreak(d->run->base);
}

static void run_until_finished(struct driver *d)
{
    while (!d->finished)
        event_base_loop(d->run->base, EVLOOP_ONCE);
    d->finished = 0;
}

int loader_ingest_jobs(struct loader *run, loader_next_job *next, void *src, size_t total,
                       FILE *progress, struct load_summary *sum, struct strbuf *err)
{
    struct driver d = {.run = run, .next = next, .src = src, .total = total, .err = err,
                       .sum = sum, .progress = progress};
    memset(sum, 0, sizeof *sum);
    clock_gettime(CLOCK_MONOTONIC, &d.t0);
    submit_more(&d);
    run_until_finished(&d);
    /* the attributions the jobs sent, answered (they never fail the load) */
    while (!ingest_idle(run->ing))
        event_base_loop(run->base, EVLOOP_ONCE);
    sum->jobs_s = seconds_since(&d.t0);
    if (!d.error) {
        ingest_flush(run->ing, stage_done, &d);
        run_until_finished(&d);
    }
    sum->ingest_s = seconds_since(&d.t0);
    if (progress)
        fputc('\n', progress);
    if (!d.error) {
        struct timespec t1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        compact_all(run->comp, stage_done, &d);
        run_until_finished(&d);
        sum->compact_s = seconds_since(&t1);
    }
    ingest_get_stats(run->ing, &sum->ingest);
    compact_get_stats(run->comp, &sum->compact);
    if (d.source_failed) {
        strbuf_puts(err, "stopped (events applied so far stay applied; loading the file again "
                         "is safe)\n");
        return -1;
    }
    if (d.error) {
        strbuf_printf(err, "stopped: %s (events applied so far stay applied; "
                           "loading the file again is safe)\n", failure_name(d.error));
        return -1;
    }
    return 0;
}

/* Each patron's events together, in the order they are applied. */
static int group_by_patron(struct loan_batch *b)
{
    struct loan_event **order = malloc((b->n ? b->n : 1) * sizeof *order);
    struct loan_event *ev = malloc((b->n ? b->n : 1) * sizeof *ev);
    if (!order || !ev) {
        free(order);
        free(ev);
        return -1;
    }
    for (size_t i = 0; i < b->n; i++)
        order[i] = &b->ev[i];
    if (loan_order_by_patron(order, b->n) < 0) {
        free(order);
        free(ev);
        return -1;
    }
    for (size_t i = 0; i < b->n; i++)
        ev[i] = *order[i];
    free(order);
    free(b->ev);
    b->ev = ev;
    b->cap = b->n ? b->n : 1;
    return 0;
}

/* The jobs of a batch in memory, handed out in order. */
struct batch_jobs {
    struct loan_batch *jobs;
    size_t njobs, next;
};

static int batch_next_job(void *arg, struct loan_batch *job, struct strbuf *err)
{
    struct batch_jobs *bj = arg;
    (void)err;
    if (bj->next == bj->njobs)
        return 0;
    *job = bj->jobs[bj->next];
    memset(&bj->jobs[bj->next++], 0, sizeof *job);
    return 1;
}

int loader_ingest(struct loader *run, struct loan_batch *b, FILE *progress,
                 struct load_summary *sum, struct strbuf *err)
{
    /* Whole patrons per job, so jobs never wait for each other. seq
     * keeps the file order for ties in time. */
    memset(sum, 0, sizeof *sum);
    if (group_by_patron(b) < 0) {
        strbuf_puts(err, "out of memory\n");
        return -1;
    }
    struct batch_jobs bj = {0};
    bj.jobs = calloc(b->n / LOADER_JOB_EVENTS + 2, sizeof *bj.jobs);
    if (!bj.jobs) {
        strbuf_puts(err, "out of memory\n");
        return -1;
    }
    size_t total = b->n;
    for (size_t i = 0; i < b->n;) {
        size_t end = i + LOADER_JOB_EVENTS < b->n ? i + LOADER_JOB_EVENTS : b->n;
        while (end < b->n && strcmp(b->ev[end].patron, b->ev[end - 1].patron) == 0)
            end++;
        struct loan_batch *job = &bj.jobs[bj.njobs];
        if (!(job->ev = malloc((end - i) * sizeof *job->ev))) {
            /* b still owns every string: give back only the arrays */
            for (size_t j = 0; j < bj.njobs; j++)
                free(bj.jobs[j].ev);
            free(bj.jobs);
            strbuf_puts(err, "out of memory\n");
            return -1;
        }
        job->n = job->cap = end - i;
        job->ordered = 1;       /* a slice of whole patrons of b's order */
        memcpy(job->ev, &b->ev[i], job->n * sizeof *job->ev);
        bj.njobs++;
        i = end;
    }
    free(b->ev);                /* the strings moved to the jobs */
    memset(b, 0, sizeof *b);
    int rc = loader_ingest_jobs(run, batch_next_job, &bj, total, progress, sum, err);
    for (size_t j = bj.next; j < bj.njobs; j++)
        loan_batch_free(&bj.jobs[j]);
    free(bj.jobs);
    return rc;
}

struct one_reply {
    void (*fn)(redisReply *reply, enum failure error, void *arg);
    void *arg;
    int done;
};

static void one_reply_cb(redisReply *reply, enum failure error, void *arg)
{
    struct one_reply *o = arg;
    o->fn(reply, error, o->arg);
    o->done = 1;
}

int loader_command(struct loader *run, struct rcmd *cmd,
                  void (*reply_fn)(redisReply *reply, enum failure error, void *arg), void *arg)
{
    struct one_reply o = {reply_fn, arg, 0};
    if (!redis_exec(run->st, cmd, 1, one_reply_cb, &o))
        return -1;
    while (!o.done)
        event_base_loop(run->base, EVLOOP_ONCE);
    return 0;
}

char *loader_read_file(const char *path, size_t *len, struct strbuf *err)
{
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    struct strbuf text = {0};
    char chunk[1 << 16];
    if (!in) {
        strbuf_printf(err, "%s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, in)) > 0) {
        if (strbuf_append(&text, chunk, n) < 0) {
            strbuf_printf(err, "%s: out of memory\n", path);
            break;
        }
    }
    int failed = ferror(in) || n > 0;
    if (ferror(in))
        strbuf_printf(err, "%s: read error\n", path);
    if (in != stdin)
        fclose(in);
    if (failed) {
        strbuf_free(&text);
        return NULL;
    }
    *len = text.len;
    return text.buf ? strbuf_steal(&text) : strdup("");
}

int loader_events_from_text(const struct config *cfg, const char *name, const char *text,
                            size_t len, long long now, size_t max_shown, struct loan_batch *all,
                            struct strbuf *report)
{
    if (max_shown > LOADER_MAX_SHOWN_PROBLEMS)
        max_shown = LOADER_MAX_SHOWN_PROBLEMS;
    struct loan_problem probs[LOADER_MAX_SHOWN_PROBLEMS];
    size_t nprobs = 0;
    enum loans_status st = loans_from_text(text, len, cfg, now, LOADER_MAX_FILE_EVENTS, all,
                                           probs, max_shown, &nprobs);
    if (st == LOANS_NO_MEMORY) {
        strbuf_printf(report, "%s: out of memory while reading its events "
                      "(not a problem of the file)\n", name);
        return -2;
    }
    for (size_t k = 0; k < nprobs && k < max_shown; k++)
        strbuf_printf(report, "%s:%zu: %s: %s\n", name, probs[k].line, probs[k].field,
                      probs[k].message);
    if (nprobs > max_shown)
        strbuf_printf(report, "%s: %zu more problems not shown\n", name, nprobs - max_shown);
    return st == LOANS_OK ? 0 : -1;
}

int loader_read_events(const struct config *cfg, char *const *paths, int npaths, size_t max_shown,
                      struct loan_batch *all, struct strbuf *report)
{
    int bad = 0;
    long long now = (long long)time(NULL);
    for (int i = 0; i < npaths; i++) {
        size_t len;
        char *text = loader_read_file(paths[i], &len, report);
        if (!text) {
            bad = 1;
            continue;
        }
        int rc = loader_events_from_text(cfg, paths[i], text, len, now, max_shown, all, report);
        free(text);
        if (rc == -2)
            return -1;
        bad |= rc < 0;
    }
    return bad ? -1 : 0;
}
