/* ingest.c: jobs and their patrons, and the engine's lifetime; see
 * ingest.h and ingest_int.h. */
#include "ingest/ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "ingest/ingest_int.h"

static void job_free(struct ingest_job *job)
{
    ingest_forget_free(job);
    loan_batch_free(&job->b);
    free(job->order);
    free(job->groups);
    pairs_free(&job->pairs);
    free(job->fresh);
    free(job->fresh_branch);
    free(job->reqs);
    free(job->attr);
    free(job);
}

static void job_answer(struct ingest_job *job, enum failure error)
{
    for (size_t r = 0; r < job->nreqs; r++) {
        struct job_request *req = &job->reqs[r];
        if (job->kind == JOB_EVENTS)
            req->cb(error ? NULL : &req->res, error, req->arg);
        else
            req->done_cb(error, req->arg);
    }
}

static int job_blocked(const struct ingest_job *job, const struct dict *busy,
                       const struct dict *claimed)
{
    for (size_t g = 0; g < job->ngroups; g++)
        if (dict_get(busy, job->groups[g].pseudonym) ||
            (claimed && dict_get(claimed, job->groups[g].pseudonym)))
            return 1;
    return 0;
}

/* Lets go of the job's first n patrons. */
static void busy_release(struct ingest *ing, struct ingest_job *job, size_t n)
{
    for (size_t g = 0; g < n; g++) {
        const char *p = job->groups[g].pseudonym;
        uintptr_t held = (uintptr_t)dict_get(ing->busy, p);
        if (held <= 1)
            dict_del(ing->busy, p);
        else
            dict_set(ing->busy, p, (void *)(held - 1), NULL);   /* in place: no memory */
    }
}

/* Holds the job's patrons: no other job of theirs starts until it ends.
 * -1, holding none, when out of memory. */
static int busy_hold(struct ingest *ing, struct ingest_job *job)
{
    for (size_t g = 0; g < job->ngroups; g++) {
        const char *p = job->groups[g].pseudonym;
        uintptr_t held = (uintptr_t)dict_get(ing->busy, p);
        if (dict_set(ing->busy, p, (void *)(held + 1), NULL) < 0) {
            busy_release(ing, job, g);
            return -1;
        }
    }
    return 0;
}

/* Runs a job whose patrons are free (ingest_write.c does the work). */
static void job_run(struct ingest *ing, struct ingest_job *job)
{
    if (ing->stopping) {
        job_answer(job, FAILURE_SHUTTING_DOWN);
        job_free(job);
        return;
    }
    if (busy_hold(ing, job) < 0) {
        log_msg(LOG_ERROR, "ingest: out of memory: a job of %zu events refused", job->b.n);
        job_answer(job, FAILURE_OUT_OF_MEMORY);
        job_free(job);
        return;
    }
    ing->stats.running_jobs++;
    TAILQ_INSERT_TAIL(&ing->running, job, link);
    ingest_job_start(job);
}

/* Starts, in order, every waiting job that no running job and no earlier
 * waiting job shares a patron with. */
static void start_waiting(struct ingest *ing)
{
    struct dict *claimed = NULL;
    struct ingest_job *job = TAILQ_FIRST(&ing->waiting), *next;
    for (; job; job = next) {
        next = TAILQ_NEXT(job, link);
        if (!job_blocked(job, ing->busy, claimed)) {
            TAILQ_REMOVE(&ing->waiting, job, link);
            ing->stats.waiting_jobs--;
            job_run(ing, job);
            next = TAILQ_FIRST(&ing->waiting);  /* a callback may have changed the list */
            continue;
        }
        int full = !claimed && !(claimed = dict_new());
        for (size_t g = 0; g < job->ngroups && !full; g++)
            full = dict_set(claimed, job->groups[g].pseudonym, (void *)1, NULL) < 0;
        if (full)
            break;          /* out of memory: the rest is retried when the next job ends */
    }
    dict_free(claimed, NULL);
}

void ingest_job_finish(struct ingest_job *job, enum failure error)
{
    struct ingest *ing = job->ing;
    busy_release(ing, job, job->ngroups);
    ing->stats.running_jobs--;
    TAILQ_REMOVE(&ing->running, job, link);
    if (!job->answered)
        job_answer(job, error);
    job_free(job);
    start_waiting(ing);
}

/* A write past redis.timeout_ms: the caller is told it is not confirmed
 * (and may send again: what was applied comes back as duplicates); the
 * job waits for the real outcome and counts the events if they were
 * applied after all. */
void ingest_job_late(void *arg)
{
    struct ingest_job *job = arg;
    if (job->answered)
        return;
    job->answered = 1;
    log_msg(LOG_WARN, "ingest: a write of %zu events is not confirmed after %d ms; still waiting",
            job->b.n, job->ing->cfg->redis_timeout_ms);
    job_answer(job, FAILURE_WRITE_UNCONFIRMED);
}

static void job_enqueue(struct ingest *ing, struct ingest_job *job)
{
    if (TAILQ_EMPTY(&ing->waiting) && !job_blocked(job, ing->busy, NULL)) {
        job_run(ing, job);
        return;
    }
    TAILQ_INSERT_TAIL(&ing->waiting, job, link);
    ing->stats.waiting_jobs++;
}


static struct ingest_job *job_new(struct ingest *ing, enum job_kind kind)
{
    struct ingest_job *job = calloc(1, sizeof *job);
    if (job) {
        job->ing = ing;
        job->kind = kind;
    }
    return job;
}

/* Adds a caller to the job; its events, if any, are appended (moved). */
static int job_add_request(struct ingest_job *job, struct loan_batch *batch, ingest_cb *cb,
                           ingest_done_cb *done_cb, void *arg)
{
    if (job->nreqs == job->capreqs) {
        size_t cap = job->capreqs ? job->capreqs * 2 : 4;
        struct job_request *r = realloc(job->reqs, cap * sizeof *r);
        if (!r)
            return -1;
        job->reqs = r;
        job->capreqs = cap;
    }
    size_t first = job->b.n, n = batch ? batch->n : 0;
    if (first == 0 && batch) {
        job->b = *batch;                    /* the first (often only) request: take its array */
    } else if (n) {
        if (first + n > job->b.cap) {
            size_t cap = job->b.cap ? job->b.cap : 64;
            while (cap < first + n)
                cap *= 2;
            struct loan_event *ev = realloc(job->b.ev, cap * sizeof *ev);
            if (!ev)
                return -1;
            job->b.ev = ev;
            job->b.cap = cap;
        }
        memcpy(&job->b.ev[first], batch->ev, n * sizeof *batch->ev);
        job->b.ordered = 0;                 /* two requests' events: ordered together below */
        for (size_t i = 0; i < n; i++)
            job->b.ev[first + i].seq += first;    /* later requests come later at equal times */
        job->b.n += n;
        free(batch->ev);                    /* the strings moved to the job */
    }
    if (batch)
        memset(batch, 0, sizeof *batch);
    job->reqs[job->nreqs++] = (struct job_request){cb, done_cb, arg, first, n, {0}};
    return 0;
}

/* Orders the events by patron and time, groups them, and queues the job. */
static int job_seal(struct ingest *ing, struct ingest_job *job)
{
    size_t n = job->b.n;
    job->order = malloc((n ? n : 1) * sizeof *job->order);
    job->groups = malloc((n ? n : 1) * sizeof *job->groups);
    if (!job->order || !job->groups)
        return -1;
    for (size_t i = 0; i < n; i++)
        job->order[i] = &job->b.ev[i];
    if (!job->b.ordered && loan_order_by_patron(job->order, n) < 0)
        return -1;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && strcmp(job->order[j]->patron, job->order[i]->patron) == 0)
            j++;
        job->groups[job->ngroups++] = (struct patron_group){job->order[i]->patron, i, j - i, -1, -1};
        i = j;
    }
    job_enqueue(ing, job);
    return 0;
}

/* The end of a loop pass: the live job gathered so far goes. */
static void open_job_seal(evutil_socket_t fd, short what, void *arg)
{
    struct ingest *ing = arg;
    struct ingest_job *job = ing->open;
    (void)fd;
    (void)what;
    if (!job)
        return;
    ing->open = NULL;
    if (job_seal(ing, job) < 0) {
        log_msg(LOG_ERROR, "ingest: out of memory: %zu requests refused", job->nreqs);
        job_answer(job, FAILURE_OUT_OF_MEMORY);
        job_free(job);
    }
}

int ingest_submit(struct ingest *ing, struct loan_batch *batch, ingest_cb *cb, void *arg)
{
    if (!ing->seal_event) {                     /* each request its own job */
        struct ingest_job *job = job_new(ing, JOB_EVENTS);
        if (!job)
            return -1;
        if (job_add_request(job, batch, cb, NULL, arg) < 0 || job_seal(ing, job) < 0) {
            if (job->nreqs) {                   /* the events are the job's now: give them back */
                *batch = job->b;
                memset(&job->b, 0, sizeof job->b);
            }
            job_free(job);
            return -1;
        }
        return 0;
    }
    if (ing->open && ing->open->b.n + batch->n > (size_t)ing->cfg->gather_max_events)
        open_job_seal(-1, 0, ing);
    if (!ing->open) {
        if (!(ing->open = job_new(ing, JOB_EVENTS)))
            return -1;
        event_active(ing->seal_event, EV_TIMEOUT, 1);
    }
    return job_add_request(ing->open, batch, cb, NULL, arg);
}

int ingest_forget(struct ingest *ing, const char *pseudonym, ingest_done_cb *cb, void *arg)
{
    struct ingest_job *job = job_new(ing, JOB_FORGET);
    if (!job || !(job->groups = malloc(sizeof *job->groups)) ||
        job_add_request(job, NULL, NULL, cb, arg) < 0) {
        if (job)
            job_free(job);
        return -1;
    }
    snprintf(job->forget_pseudonym, sizeof job->forget_pseudonym, "%s", pseudonym);
    job->groups[0] = (struct patron_group){job->forget_pseudonym, 0, 0, -1, -1};
    job->ngroups = 1;
    job_enqueue(ing, job);
    return 0;
}


struct ingest *ingest_new(struct event_base *base, struct redis_client *st, struct redis_client *bulk,
                          const struct config *cfg, int periodic)
{
    struct ingest *ing = calloc(1, sizeof *ing);
    if (!ing)
        return NULL;
    TAILQ_INIT(&ing->waiting);
    TAILQ_INIT(&ing->running);
    STAILQ_INIT(&ing->waiters);
    STAILQ_INIT(&ing->flush_waiters);
    TAILQ_INIT(&ing->attributing);
    ing->base = base;
    ing->st = st;
    ing->bulk = bulk;
    ing->cfg = cfg;
    ing->rules = (struct history_rules){
        .max_entries = (size_t)cfg->history_max,
        .ttl_s = (long long)cfg->history_ttl_days * 86400,
        .window_s = (long long)cfg->window_days * 86400,
        .pairs_per_loan = (size_t)cfg->pairs_per_loan,
    };
    ing->names = record_ids_new();
    ing->busy = dict_new();
    struct timeval tv = {cfg->flush_ms / 1000, (cfg->flush_ms % 1000) * 1000};
    if (periodic && (!(ing->flush_timer = event_new(base, -1, EV_PERSIST, ingest_flush_tick, ing)) ||
                     event_add(ing->flush_timer, &tv) < 0 ||
                     !(ing->seal_event = event_new(base, -1, 0, open_job_seal, ing)))) {
        ingest_free(ing);
        return NULL;
    }
    if (!ing->names || !ing->busy) {
        ingest_free(ing);
        return NULL;
    }
    return ing;
}

void ingest_free(struct ingest *ing)
{
    if (!ing)
        return;
    if (ing->pending.n || ing->nretry || ing->units_unwritten)
        log_msg(LOG_WARN, "ingest: %zu pair counts dropped at exit",
                ing->pending.n + (ing->units_unwritten + ing->nretry) / 2);
    if (ing->open)
        job_free(ing->open);
    if (ing->seal_event)
        event_free(ing->seal_event);
    struct ingest_job *job;
    while ((job = TAILQ_FIRST(&ing->waiting))) {
        TAILQ_REMOVE(&ing->waiting, job, link);
        job_free(job);
    }
    while ((job = TAILQ_FIRST(&ing->running))) {
        TAILQ_REMOVE(&ing->running, job, link);
        redis_op_cancel(job->op);
        job_free(job);
    }
    ingest_flush_free(ing);
    ingest_attr_free(ing);
    record_ids_free(ing->names);
    dict_free(ing->busy, NULL);
    free(ing);
}

void ingest_abort(struct ingest *ing)
{
    ing->stopping = 1;
    if (ing->open) {
        struct ingest_job *job = ing->open;
        ing->open = NULL;
        job_answer(job, FAILURE_SHUTTING_DOWN);
        job_free(job);
    }
    struct ingest_job *job;
    while ((job = TAILQ_FIRST(&ing->waiting))) {
        TAILQ_REMOVE(&ing->waiting, job, link);
        ing->stats.waiting_jobs--;
        job_answer(job, FAILURE_SHUTTING_DOWN);
        job_free(job);
    }
    TAILQ_FOREACH(job, &ing->running, link) {
        if (!job->answered) {
            job->answered = 1;
            job_answer(job, FAILURE_SHUTTING_DOWN);
        }
    }
}

int ingest_idle(const struct ingest *ing)
{
    return !ing->open && TAILQ_EMPTY(&ing->waiting) && TAILQ_EMPTY(&ing->running) &&
           TAILQ_EMPTY(&ing->attributing);
}

void ingest_get_stats(const struct ingest *ing, struct ingest_stats *st)
{
    *st = ing->stats;
    st->pairs_written /= 2;
    st->pending_pairs = ing->pending.n + (ing->units_unwritten + ing->nretry) / 2;
    st->pending_counts = ingest_flush_counts_pending(ing);
}
