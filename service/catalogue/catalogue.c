/* catalogue.c: lookups, the record cache and shared searches; see
 * catalogue.h (and catalogue_int.h for how the three files share the work).
 *
 * Life of a lookup: every id goes through the cache. A fresh entry answers
 * at once; a pending one (a search for it is queued or in flight) gets
 * the lookup added as a waiter; a missing or stale one becomes pending and
 * joins a batch. Batches become jobs, queued in turn or ahead (catalogue.h;
 * an id still queued in turn that work ahead needs takes its job ahead).
 * An idle connection takes the next job, joined with other queued lookups,
 * runs one search with piggybacked records, and on ZOOM_EVENT_END settles every
 * id of the batch: found, not found, or failed. Settling an entry wakes its
 * waiters; a lookup whose last id settles calls back and is freed.
 *
 * At most max_queued jobs wait; an id or search that needs one more
 * fails at once (catalogue_busy). A job whose every waiter has cancelled
 * is dropped when a connection would take it, or when the queue is full
 * and something was cancelled since it was last walked. */
#include "catalogue/catalogue_int.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"

static void lookup_free(struct catalogue_lookup *lk)
{
    for (size_t i = 0; i < lk->n; i++)
        if (lk->results[i].status == LOOKUP_FOUND)
            bib_unref(lk->results[i].bib);
    if (lk->deferred)
        event_free(lk->deferred);
    free(lk->results);
    free(lk);
}

static void lookup_finish(struct catalogue_lookup *lk)
{
    if (!lk->cancelled)
        lk->cb(lk->results, lk->n, lk->arg);
    lookup_free(lk);
}

static void lookup_deferred_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    lookup_finish(arg);
}

static void lookup_settle(struct catalogue_lookup *lk, size_t slot, enum lookup_status status,
                          struct bib *bib, enum failure error)
{
    lk->results[slot].status = status;
    lk->results[slot].bib = status == LOOKUP_FOUND ? bib_ref(bib) : NULL;
    lk->results[slot].error = error;
    if (--lk->outstanding == 0)
        lookup_finish(lk);
}

static void entry_free(void *p)
{
    struct cache_entry *e = p;
    if (e->bib)
        bib_unref(e->bib);
    free(e);
}

static int entry_expired(const char *key, void *value, void *arg)
{
    (void)key;
    struct cache_entry *e = value;
    const struct catalogue *cat = arg;
    if (e->state == ENTRY_PENDING || monotonic_ms() - e->settled_ms < (uint64_t)cat->cfg->cache_ms)
        return 0;
    entry_free(e);
    return 1;
}

/* Settles one id: wakes its waiters, then keeps the answer in the cache
 * (or drops the entry: failures are never cached, nor is anything beyond
 * cache_max_entries once expired entries are swept). */
void catalogue_cache_settle(struct catalogue *cat, const char *id, enum lookup_status status,
                         struct bib *bib, enum failure error)
{
    struct cache_entry *e = dict_get(cat->cache, id);
    if (!e || e->state != ENTRY_PENDING)
        return;     /* a duplicate in one answer, or an id nobody asked for */
    struct waiters woken = e->waiters;
    SLIST_INIT(&e->waiters);
    e->queued = NULL;
    if (status == LOOKUP_FOUND) {
        e->state = ENTRY_FOUND;
        e->bib = bib_ref(bib);
    } else {
        e->state = ENTRY_NOT_FOUND;
    }
    e->settled_ms = monotonic_ms();
    int keep = status != LOOKUP_FAILED && cat->cfg->cache_ms > 0;
    if (keep && dict_size(cat->cache) > (size_t)cat->cfg->cache_max_entries) {
        dict_each(cat->cache, entry_expired, cat);
        keep = dict_size(cat->cache) <= (size_t)cat->cfg->cache_max_entries;
    }
    /* Detach before waking: a callback may start a lookup for this id. */
    if (!keep)
        dict_del(cat->cache, id);
    struct waiter *w;
    while ((w = SLIST_FIRST(&woken))) {
        SLIST_REMOVE_HEAD(&woken, link);
        lookup_settle(w->lk, w->slot, status, bib, error);
        free(w);
    }
    if (!keep)
        entry_free(e);
}

static void search_handle_free(struct catalogue_search *s)
{
    if (s->deferred)
        event_free(s->deferred);
    bib_array_free(s->bibs, s->n);
    free(s);
}

static void shared_search_free(void *p)
{
    struct shared_search *ss = p;
    struct catalogue_search *s;
    while ((s = SLIST_FIRST(&ss->subscribers))) {   /* nobody is told any more */
        SLIST_REMOVE_HEAD(&ss->subscribers, link);
        search_handle_free(s);
    }
    bib_array_free(ss->bibs, ss->n);
    free(ss->key);
    free(ss->query);
    free(ss);
}

static int shared_search_fresh(const struct catalogue *cat, const struct shared_search *ss,
                               uint64_t now)
{
    return ss->answered && now - ss->settled_ms < (uint64_t)cat->cfg->cache_ms;
}

static int search_expired(const char *key, void *value, void *arg)
{
    (void)key;
    struct shared_search *ss = value;
    const struct catalogue *cat = arg;
    if (!ss->answered || shared_search_fresh(cat, ss, monotonic_ms()))
        return 0;
    shared_search_free(ss);
    return 1;
}

/* A search is over: its subscribers are told (bibs NULL and error set when
 * it failed). The answer is kept for cache_ms; a failure is not kept. The
 * shared search is detached first: a callback may start the same search. */
void catalogue_search_settle(struct catalogue *cat, struct shared_search *ss,
                          struct bib *const *bibs, size_t n, enum failure error)
{
    struct subscribers told = ss->subscribers;
    SLIST_INIT(&ss->subscribers);
    int keep = !error && cat->cfg->cache_ms > 0;
    if (keep && dict_size(cat->searches) > (size_t)cat->cfg->cache_max_entries) {
        dict_each(cat->searches, search_expired, cat);
        keep = dict_size(cat->searches) <= (size_t)cat->cfg->cache_max_entries;
    }
    keep = keep && (ss->bibs = calloc(n ? n : 1, sizeof *ss->bibs)) != NULL;
    if (keep) {
        ss->answered = 1;
        ss->settled_ms = monotonic_ms();
        for (ss->n = 0; ss->n < n; ss->n++)
            ss->bibs[ss->n] = bib_ref(bibs[ss->n]);
    } else {
        dict_del(cat->searches, ss->key);
    }
    struct catalogue_search *s;
    while ((s = SLIST_FIRST(&told))) {
        SLIST_REMOVE_HEAD(&told, link);
        if (!s->cancelled)
            s->cb(bibs, n, error, s->arg);
        search_handle_free(s);
    }
    if (!keep)
        shared_search_free(ss);
}

static void search_deferred_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct catalogue_search *s = arg;
    s->cb(s->error ? NULL : s->bibs, s->n, s->error, s->arg);
    search_handle_free(s);
}

void catalogue_job_free(struct job *j)
{
    for (size_t i = 0; i < j->n; i++)
        free(j->ids[i]);
    free(j->ids);
    free(j);
}

static struct job *job_new(struct catalogue *cat, enum job_kind kind)
{
    struct job *j = calloc(1, sizeof *j);
    if (j && !(j->ids = calloc((size_t)cat->cfg->join_max, sizeof *j->ids))) {
        free(j);
        return NULL;
    }
    if (j)
        j->kind = kind;
    return j;
}

/* Every id and the search j carries fails with error; frees j. */
static void job_settle_failed(struct catalogue *cat, struct job *j, enum failure error)
{
    for (size_t i = 0; i < j->n; i++)
        catalogue_cache_settle(cat, j->ids[i], LOOKUP_FAILED, NULL, error);
    if (j->kind == JOB_SEARCH)
        catalogue_search_settle(cat, j->search, NULL, 0, error);
    catalogue_job_free(j);
}

void catalogue_job_fail(struct catalogue *cat, struct job *j, enum failure error)
{
    cat->stats.failures++;
    job_settle_failed(cat, j, error);
}

static struct job *job_of(struct queue_node *node)
{
    return node ? (struct job *)((char *)node - offsetof(struct job, node)) : NULL;
}

static struct job *queue_pop(struct catalogue *cat)
{
    return job_of(work_queue_pop(&cat->queue));
}

/* Nobody waits for what j would find any more: every lookup waiting for
 * its ids, or every caller of its search, has cancelled (their requests
 * were answered without it, or went away). */
static int job_abandoned(const struct catalogue *cat, const struct job *j)
{
    if (j->kind == JOB_SEARCH) {
        const struct catalogue_search *s;
        SLIST_FOREACH(s, &j->search->subscribers, link)
            if (!s->cancelled)
                return 0;
        return 1;
    }
    for (size_t i = 0; i < j->n; i++) {
        const struct cache_entry *e = dict_get(cat->cache, j->ids[i]);
        const struct waiter *w;
        if (!e || e->state != ENTRY_PENDING)
            continue;
        SLIST_FOREACH(w, &e->waiters, link)
            if (!w->lk->cancelled)
                return 0;
    }
    return j->kind == JOB_LOOKUP;
}

/* An abandoned job, out of the queue, is dropped unsearched: its ids and
 * search settle as failed, which tells nobody (all cancelled) and frees
 * what they held. */
static void job_drop(struct catalogue *cat, struct job *j)
{
    cat->stats.dropped_jobs++;
    job_settle_failed(cat, j, FAILURE_CATALOGUE_BUSY);
}

/* Drops every abandoned job in the queue: one walk of it. */
static void queue_prune(struct catalogue *cat)
{
    struct queue_node *node = work_queue_first(&cat->queue);
    while (node) {
        struct job *j = job_of(node);
        node = work_queue_next(node);
        if (job_abandoned(cat, j)) {
            work_queue_unlink(&cat->queue, &j->node);
            job_drop(cat, j);
        }
    }
}

/* Whether one more job may wait: fewer than max_queued do. A full queue
 * is pruned first, if anything was cancelled since its last pruning (so
 * a queue full of work still wanted is not walked again and again). */
static int queue_has_room(struct catalogue *cat)
{
    if (cat->queue.n < (size_t)cat->cfg->max_queued)
        return 1;
    if (cat->cancels != cat->cancels_pruned) {
        cat->cancels_pruned = cat->cancels;
        queue_prune(cat);
    }
    return cat->queue.n < (size_t)cat->cfg->max_queued;
}

struct catalogue_lookup *catalogue_lookup_start(struct catalogue *cat, const char *const *ids,
                                                size_t n, enum queue_place place,
                                                catalogue_lookup_cb *cb, void *arg)
{
    struct catalogue_lookup *lk = calloc(1, sizeof *lk);
    if (!lk || !(lk->results = calloc(n ? n : 1, sizeof *lk->results))) {
        free(lk);
        return NULL;
    }
    lk->cat = cat;
    lk->cb = cb;
    lk->arg = arg;
    lk->n = n;
    cat->stats.ids_asked += n;
    lk->outstanding = 1;    /* held by this function until the end */

    struct job *batch = NULL;
    uint64_t now = monotonic_ms();
    for (size_t i = 0; i < n; i++) {
        struct cache_entry *e = dict_get(cat->cache, ids[i]);
        if (e && e->state != ENTRY_PENDING && now - e->settled_ms < (uint64_t)cat->cfg->cache_ms) {
            cat->stats.cache_hits++;
            lk->results[i].status = e->state == ENTRY_FOUND ? LOOKUP_FOUND : LOOKUP_NOT_FOUND;
            lk->results[i].bib = e->bib ? bib_ref(e->bib) : NULL;
            continue;
        }
        struct waiter *w = malloc(sizeof *w);
        if (!w)
            goto oom;
        if (!e) {
            if (!(e = calloc(1, sizeof *e)) || dict_set(cat->cache, ids[i], e, NULL) < 0) {
                free(e);
                free(w);
                goto oom;
            }
        } else if (e->state != ENTRY_PENDING) {     /* stale */
            if (e->bib)
                bib_unref(e->bib);
            e->bib = NULL;
        }
        int start_search = e->state != ENTRY_PENDING || SLIST_EMPTY(&e->waiters);
        e->state = ENTRY_PENDING;
        w->lk = lk;
        w->slot = i;
        SLIST_INSERT_HEAD(&e->waiters, w, link);
        lk->outstanding++;
        if (!start_search) {
            /* Asked for already and still queued in turn: work that goes
             * ahead takes that job along rather than wait behind the
             * queue (a job ahead, or this call's batch, not yet queued,
             * stays where it is). */
            if (place == QUEUE_AHEAD && e->queued)
                work_queue_move_ahead(&cat->queue, &e->queued->node);
            continue;
        }
        if (!batch && !queue_has_room(cat)) {
            cat->stats.queue_refusals++;
            catalogue_cache_settle(cat, ids[i], LOOKUP_FAILED, NULL, FAILURE_CATALOGUE_BUSY);
            continue;
        }
        if (!batch && !(batch = job_new(cat, JOB_LOOKUP))) {
            catalogue_cache_settle(cat, ids[i], LOOKUP_FAILED, NULL, FAILURE_OUT_OF_MEMORY);
            continue;
        }
        if (!(batch->ids[batch->n] = strdup(ids[i]))) {
            catalogue_cache_settle(cat, ids[i], LOOKUP_FAILED, NULL, FAILURE_OUT_OF_MEMORY);
            continue;
        }
        e->queued = batch;
        if (++batch->n == (size_t)cat->cfg->batch_max) {
            work_queue_push(&cat->queue, &batch->node, place);
            batch = NULL;
        }
    }
    if (batch && batch->n)
        work_queue_push(&cat->queue, &batch->node, place);
    else if (batch)
        catalogue_job_free(batch);
    zconn_dispatch(cat);

    if (--lk->outstanding == 0) {
        /* Everything was cached: answer from the loop, not from here. */
        lk->outstanding = 1;
        lk->deferred = evtimer_new(cat->base, lookup_deferred_cb, lk);
        struct timeval zero = {0, 0};
        if (!lk->deferred || evtimer_add(lk->deferred, &zero) < 0) {
            lookup_free(lk);
            return NULL;
        }
        lk->outstanding = 0;
    }
    return lk;
oom:
    /* Ids already waiting keep the lookup alive; mark it so nobody is told. */
    lk->cancelled = 1;
    if (--lk->outstanding == 0)
        lookup_free(lk);
    if (batch && batch->n)
        work_queue_push(&cat->queue, &batch->node, place);
    else if (batch)
        catalogue_job_free(batch);
    zconn_dispatch(cat);
    return NULL;
}

void catalogue_lookup_cancel(struct catalogue_lookup *lk)
{
    if (!lk)
        return;
    lk->cat->cancels++;
    lk->cancelled = 1;
    if (lk->outstanding == 0)       /* only the deferred completion is left */
        lookup_free(lk);
}

struct catalogue_search *catalogue_search_start(struct catalogue *cat, enum search_field field,
                                                const char *term, size_t max, size_t max_hits,
                                                enum queue_place place,
                                                catalogue_search_cb *cb, void *arg)
{
    struct strbuf q = {0}, key = {0};
    struct catalogue_search *s = calloc(1, sizeof *s);
    max = max ? max : 1;
    cat->stats.phrase_searches_asked++;
    if (!s || catalogue_build_search(cat->cfg->protocol, field, term, max_hits, &q) < 0 ||
        strbuf_printf(&key, "%zu %zu %s", max, max_hits, strbuf_cstr(&q)) < 0) {
        free(s);
        strbuf_free(&q);
        strbuf_free(&key);
        return NULL;
    }
    s->cat = cat;
    s->cb = cb;
    s->arg = arg;
    struct shared_search *ss = dict_get(cat->searches, strbuf_cstr(&key));
    int fresh = ss && shared_search_fresh(cat, ss, monotonic_ms());
    if (fresh || (ss && !ss->answered)) {
        strbuf_free(&q);
        strbuf_free(&key);
    }
    if (fresh) {
        /* Answered a moment ago: answer again, from the loop, not from here. */
        struct timeval zero = {0, 0};
        s->deferred = evtimer_new(cat->base, search_deferred_cb, s);
        s->bibs = calloc(ss->n ? ss->n : 1, sizeof *s->bibs);
        if (!s->deferred || !s->bibs || evtimer_add(s->deferred, &zero) < 0) {
            search_handle_free(s);
            return NULL;
        }
        for (; s->n < ss->n; s->n++)
            s->bibs[s->n] = bib_ref(ss->bibs[s->n]);
        cat->stats.cache_hits++;
        return s;
    }
    if (ss && !ss->answered) {                  /* in flight: wait for it */
        SLIST_INSERT_HEAD(&ss->subscribers, s, link);
        cat->stats.cache_hits++;
        return s;
    }
    if (!queue_has_room(cat)) {                 /* refused, from the loop too */
        struct timeval zero = {0, 0};
        strbuf_free(&q);
        strbuf_free(&key);
        cat->stats.queue_refusals++;
        s->error = FAILURE_CATALOGUE_BUSY;
        if (!(s->deferred = evtimer_new(cat->base, search_deferred_cb, s)) ||
            evtimer_add(s->deferred, &zero) < 0) {
            search_handle_free(s);
            return NULL;
        }
        return s;
    }
    struct job *j = job_new(cat, JOB_SEARCH);
    if (!j)
        goto fail;
    if (ss) {                                   /* answered too long ago: ask again */
        bib_array_free(ss->bibs, ss->n);
        ss->bibs = NULL;
        ss->n = 0;
        ss->answered = 0;
        ss->presenting = 0;
        strbuf_free(&q);
        strbuf_free(&key);
    } else {
        if (!(ss = calloc(1, sizeof *ss)) ||
            dict_set(cat->searches, strbuf_cstr(&key), ss, NULL) < 0) {
            free(ss);
            catalogue_job_free(j);
            goto fail;
        }
        ss->key = strbuf_steal(&key);
        ss->query = strbuf_steal(&q);
        ss->max = max;
        ss->max_hits = max_hits;
    }
    SLIST_INSERT_HEAD(&ss->subscribers, s, link);
    j->search = ss;
    work_queue_push(&cat->queue, &j->node, place);
    zconn_dispatch(cat);
    return s;
fail:
    free(s);
    strbuf_free(&q);
    strbuf_free(&key);
    return NULL;
}

void catalogue_search_cancel(struct catalogue_search *s)
{
    if (!s)
        return;
    s->cat->cancels++;
    if (s->deferred)            /* answered from the cache: not yet told */
        search_handle_free(s);
    else
        s->cancelled = 1;       /* freed when its shared search is over */
}

/* A lookup job leaves the queue: its ids are no longer waiting in it. */
static void unqueue_ids(struct catalogue *cat, const struct job *j)
{
    for (size_t i = 0; i < j->n; i++) {
        struct cache_entry *e = dict_get(cat->cache, j->ids[i]);
        if (e && e->queued == j)
            e->queued = NULL;
    }
}

/* The next search: the first queued job and, when it is a lookup, every
 * queued lookup (of the same attempt) that still fits in join_max ids,
 * wherever it waits in the queue. Lookups of many requests thus share
 * searches when the pool is busy, which is when it matters. Abandoned
 * jobs met on the way are dropped. */
struct job *catalogue_next_job(struct catalogue *cat)
{
    struct job *j;
    while ((j = queue_pop(cat)) && job_abandoned(cat, j))
        job_drop(cat, j);
    if (!j || j->kind != JOB_LOOKUP)
        return j;
    unqueue_ids(cat, j);
    struct queue_node *node = work_queue_first(&cat->queue);
    while (node && j->n < (size_t)cat->cfg->join_max) {
        struct job *next = job_of(node);
        node = work_queue_next(node);
        if (next->kind != JOB_LOOKUP || next->attempts != j->attempts ||
            j->n + next->n > (size_t)cat->cfg->join_max)
            continue;
        work_queue_unlink(&cat->queue, &next->node);
        if (job_abandoned(cat, next)) {
            job_drop(cat, next);
            continue;
        }
        unqueue_ids(cat, next);
        memcpy(j->ids + j->n, next->ids, next->n * sizeof *next->ids);
        j->n += next->n;
        next->n = 0;
        catalogue_job_free(next);
    }
    return j;
}

struct catalogue *catalogue_new(struct event_base *base, const struct catalogue_config *cfg,
                                struct strbuf *err)
{
    struct catalogue *cat = calloc(1, sizeof *cat);
    if (!cat)
        return NULL;
    cat->base = base;
    cat->cfg = cfg;
    cat->map = holdings_map(cfg->holdings);
    work_queue_init(&cat->queue);
    struct strbuf s = {0};
    if (cfg->protocol == CATALOGUE_SRU)
        strbuf_printf(&s, "http://%s", cfg->target);
    else
        strbuf_printf(&s, "tcp:%s", cfg->target);
    cat->zoom_target = strbuf_steal(&s);
    cat->cache = dict_new();
    cat->searches = dict_new();
    cat->conns = calloc((size_t)cfg->connections, sizeof *cat->conns);
    if (!cat->zoom_target || !cat->cache || !cat->searches || !cat->conns) {
        strbuf_printf(err, "catalogue %s: out of memory", cfg->name);
        catalogue_free(cat);
        return NULL;
    }
    if (!(cat->reader = marc_reader_new(cfg->record_charset, cat->map, cfg->id_field, &s))) {
        strbuf_printf(err, "catalogue %s: %s", cfg->name, strbuf_cstr(&s));
        strbuf_free(&s);
        catalogue_free(cat);
        return NULL;
    }
    for (int i = 0; i < cfg->connections; i++) {
        if (zconn_init(&cat->conns[i], cat) < 0) {
            strbuf_printf(err, "catalogue %s: out of memory", cfg->name);
            catalogue_free(cat);
            return NULL;
        }
    }
    /* Connect the whole pool now (in the background, like every search):
     * the first requests then find connections ready. A connection that
     * cannot start now connects for its first search. */
    for (int i = 0; i < cfg->connections; i++) {
        struct job *j = job_new(cat, JOB_CONNECT);
        if (j)
            zconn_connect(&cat->conns[i], j);
    }
    return cat;
}

static int entry_drop(const char *key, void *value, void *arg)
{
    (void)key;
    (void)arg;
    struct cache_entry *e = value;
    struct waiter *w;
    while ((w = SLIST_FIRST(&e->waiters))) {    /* lookups still waiting are told no more */
        SLIST_REMOVE_HEAD(&e->waiters, link);
        w->lk->cancelled = 1;
        if (--w->lk->outstanding == 0)
            lookup_free(w->lk);
        free(w);
    }
    entry_free(e);
    return 1;
}

void catalogue_free(struct catalogue *cat)
{
    if (!cat)
        return;
    for (int i = 0; cat->conns && i < cat->cfg->connections; i++)
        zconn_free(&cat->conns[i]);
    struct job *j;
    while ((j = queue_pop(cat)))
        catalogue_job_free(j);
    if (cat->cache) {
        dict_each(cat->cache, entry_drop, NULL);
        dict_free(cat->cache, NULL);
    }
    if (cat->searches)
        dict_free(cat->searches, shared_search_free);
    marc_reader_free(cat->reader);
    dict_free(cat->malformed, NULL);
    free(cat->conns);
    free(cat->zoom_target);
    free(cat);
}

void catalogue_get_stats(const struct catalogue *cat, struct catalogue_stats *st)
{
    *st = cat->stats;
    st->busy_connections = 0;
    for (int i = 0; i < cat->cfg->connections; i++)
        st->busy_connections += cat->conns[i].job != NULL;
    st->queued_searches = cat->queue.n;
    st->cached_records = dict_size(cat->cache);
    st->cached_searches = dict_size(cat->searches);
}
