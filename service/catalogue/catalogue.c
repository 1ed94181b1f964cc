/* catalogue.c: ZOOM connections driven by libevent; see catalogue.h.
 *
 * Life of a lookup: every id goes through the cache. A fresh entry answers
 * at once; a pending one (a search for it is queued or in flight) gets
 * the lookup added as a waiter; a missing or stale one becomes pending and
 * joins a batch. Batches become jobs, queued in turn or ahead (catalogue.h;
 * an id still queued in turn that work ahead needs takes its job ahead).
 * An idle connection takes the next job, joined with other queued lookups,
 * runs one search with piggybacked records, and on ZOOM_EVENT_END settles every
 * id of the batch: found, not found, or failed. Settling an entry wakes its
 * waiters; a lookup whose last id settles calls back and is freed. */
#include "catalogue/catalogue.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaz/proto.h>
#include <yaz/zoom.h>

#include "catalogue/work_queue.h"
#include "core/clock.h"
#include "core/dict.h"
#include "core/log.h"

struct waiter {
    struct waiter *next;
    struct catalogue_lookup *lk;
    size_t slot;
};

enum entry_state { ENTRY_PENDING, ENTRY_FOUND, ENTRY_NOT_FOUND };

struct cache_entry {
    enum entry_state state;
    struct bib *bib;            /* FOUND: one reference held by the cache */
    uint64_t settled_ms;
    struct waiter *waiters;     /* PENDING only */
    struct job *queued;         /* PENDING: the queued job that will ask for it, until
                                 * that job leaves the queue; else NULL (borrowed) */
};

/* One fallback search (query, max, max_hits), shared by every request that
 * asks for it while it is in flight and, once answered, for cache_ms: the
 * same author or subject comes up for many titles. Owned by cat->searches. */
struct shared_search {
    char *key;                  /* in cat->searches: max, max_hits and query */
    char *query;                /* PQF or CQL, per the catalogue's protocol */
    size_t max;
    size_t max_hits;            /* more hits than this: too broad, none taken */
    int presenting;             /* hits counted, records on their way */
    int answered;               /* bibs[0 .. n) hold since settled_ms */
    struct bib **bibs;          /* one reference each */
    size_t n;
    uint64_t settled_ms;
    struct catalogue_search *subscribers;   /* waiting while in flight */
};

/* One caller's search: waits on a shared search in flight, or is answered
 * from an answered one by a deferred event of its own. */
struct catalogue_search {
    struct catalogue_search *next;
    catalogue_search_cb *cb;
    void *arg;
    int cancelled;
    struct event *deferred;     /* answered from the cache: when */
    struct bib **bibs;          /* ... with these (references) */
    size_t n;
};

enum job_kind {
    JOB_LOOKUP,                 /* ids[0 .. n) by local id */
    JOB_SEARCH,                 /* search->query, at most search->max records */
    JOB_CONNECT,                /* only connect (the pool at start) */
};

struct job {
    struct queue_node node;     /* in cat->queue while waiting */
    enum job_kind kind;
    char **ids;                 /* room for join_max */
    size_t n;
    struct shared_search *search;       /* JOB_SEARCH: borrowed from cat->searches */
    int attempts;
    uint64_t started_ms;
};

struct zconn {
    struct catalogue *cat;
    ZOOM_connection zc;         /* NULL until first used, and after a reset */
    ZOOM_resultset rs;
    struct event *io;           /* one-shot, re-armed after every ZOOM event */
    struct event *deadline;
    struct job *job;            /* in flight, or NULL when idle */
};

struct catalogue {
    struct event_base *base;
    const struct catalogue_config *cfg;
    const struct holdings_map *map;
    char *zoom_target;
    struct zconn *conns;
    struct work_queue queue;    /* jobs waiting for a free connection */
    struct dict *cache;
    struct dict *searches;      /* query key -> struct shared_search */
    struct marc_reader *reader; /* records -> bibs */
    struct dict *malformed;     /* records refused as malformed and logged (NULL: none yet) */
    struct catalogue_stats stats;
};

struct catalogue_lookup {
    catalogue_lookup_cb *cb;
    void *arg;
    int cancelled;
    size_t n, outstanding;
    struct lookup_result *results;
    struct event *deferred;     /* completion when nothing had to wait */
};

static void conn_dispatch(struct catalogue *cat);

/* ---- lookups and the cache ---------------------------------------------- */

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
                          struct bib *bib, const char *error)
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
static void cache_settle(struct catalogue *cat, const char *id, enum lookup_status status,
                         struct bib *bib, const char *error)
{
    struct cache_entry *e = dict_get(cat->cache, id);
    if (!e || e->state != ENTRY_PENDING)
        return;     /* a duplicate in one answer, or an id nobody asked for */
    struct waiter *w = e->waiters;
    e->waiters = NULL;
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
    while (w) {
        struct waiter *next = w->next;
        lookup_settle(w->lk, w->slot, status, bib, error);
        free(w);
        w = next;
    }
    if (!keep)
        entry_free(e);
}

/* ---- shared fallback searches ------------------------------------------- */

static void bibs_free(struct bib **bibs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        bib_unref(bibs[i]);
    free(bibs);
}

static void search_handle_free(struct catalogue_search *s)
{
    if (s->deferred)
        event_free(s->deferred);
    bibs_free(s->bibs, s->n);
    free(s);
}

static void shared_search_free(void *p)
{
    struct shared_search *ss = p;
    while (ss->subscribers) {           /* nobody is told any more */
        struct catalogue_search *s = ss->subscribers;
        ss->subscribers = s->next;
        search_handle_free(s);
    }
    bibs_free(ss->bibs, ss->n);
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
static void search_settle(struct catalogue *cat, struct shared_search *ss,
                          struct bib *const *bibs, size_t n, const char *error)
{
    struct catalogue_search *s = ss->subscribers;
    ss->subscribers = NULL;
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
    while (s) {
        struct catalogue_search *next = s->next;
        if (!s->cancelled)
            s->cb(bibs, n, error, s->arg);
        search_handle_free(s);
        s = next;
    }
    if (!keep)
        shared_search_free(ss);
}

static void search_deferred_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct catalogue_search *s = arg;
    s->cb(s->bibs, s->n, NULL, s->arg);
    search_handle_free(s);
}

static void job_free(struct job *j)
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

static void job_fail(struct catalogue *cat, struct job *j, const char *error)
{
    cat->stats.failures++;
    for (size_t i = 0; i < j->n; i++)
        cache_settle(cat, j->ids[i], LOOKUP_FAILED, NULL, error);
    if (j->kind == JOB_SEARCH)
        search_settle(cat, j->search, NULL, 0, error);
    job_free(j);
}

static struct job *job_of(struct queue_node *node)
{
    return node ? (struct job *)((char *)node - offsetof(struct job, node)) : NULL;
}

static struct job *queue_pop(struct catalogue *cat)
{
    return job_of(work_queue_pop(&cat->queue));
}

/* Where new work of a request waits (catalogue.h). */
static enum queue_place place_of(enum catalogue_place place)
{
    return place == CATALOGUE_AHEAD ? QUEUE_AHEAD : QUEUE_BACK;
}

struct catalogue_lookup *catalogue_lookup_start(struct catalogue *cat, const char *const *ids,
                                                size_t n, enum catalogue_place place,
                                                catalogue_lookup_cb *cb, void *arg)
{
    struct catalogue_lookup *lk = calloc(1, sizeof *lk);
    if (!lk || !(lk->results = calloc(n ? n : 1, sizeof *lk->results))) {
        free(lk);
        return NULL;
    }
    lk->cb = cb;
    lk->arg = arg;
    lk->n = n;
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
        int start_search = e->state != ENTRY_PENDING || !e->waiters;
        e->state = ENTRY_PENDING;
        w->lk = lk;
        w->slot = i;
        w->next = e->waiters;
        e->waiters = w;
        lk->outstanding++;
        if (!start_search) {
            /* Asked for already and still queued in turn: work that goes
             * ahead takes that job along rather than wait behind the
             * queue (a job ahead, or this call's batch, not yet queued,
             * stays where it is). */
            if (place == CATALOGUE_AHEAD && e->queued)
                work_queue_move_ahead(&cat->queue, &e->queued->node);
            continue;
        }
        if (!batch && !(batch = job_new(cat, JOB_LOOKUP))) {
            cache_settle(cat, ids[i], LOOKUP_FAILED, NULL, "out_of_memory");
            continue;
        }
        if (!(batch->ids[batch->n] = strdup(ids[i]))) {
            cache_settle(cat, ids[i], LOOKUP_FAILED, NULL, "out_of_memory");
            continue;
        }
        e->queued = batch;
        if (++batch->n == (size_t)cat->cfg->batch_max) {
            work_queue_push(&cat->queue, &batch->node, place_of(place));
            batch = NULL;
        }
    }
    if (batch && batch->n)
        work_queue_push(&cat->queue, &batch->node, place_of(place));
    else if (batch)
        job_free(batch);
    conn_dispatch(cat);

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
        work_queue_push(&cat->queue, &batch->node, place_of(place));
    else if (batch)
        job_free(batch);
    conn_dispatch(cat);
    return NULL;
}

void catalogue_lookup_cancel(struct catalogue_lookup *lk)
{
    if (!lk)
        return;
    lk->cancelled = 1;
    if (lk->outstanding == 0)       /* only the deferred completion is left */
        lookup_free(lk);
}

/* ---- queries ------------------------------------------------------------- */

/* Over Z39.50 ids are looked up with structure "key" (4=3), which Zebra
 * answers from an index without normalisation (type 0 in onloan.idx, where
 * the .abs files put the local number besides its word and phrase forms):
 * an exact match, and about half the cost per term of the ICU phrase index.
 *
 * With id_query "regex" the ids are the alternatives of a regular
 * expression (Bib-1 truncation 102), f1|f2|f356: Zebra matches whole
 * terms, so f1 does not find f10, and it looks the alternatives up in one
 * pass over its dictionary instead of one per id: a batch of 50 costs it
 * about 60 % of the ORed terms' time, and its query is shorter to
 * build, send and parse. Of the characters an id may have (params.h), '.'
 * and '-' mean something in a regular expression and go in brackets.
 * Zebra cuts a term longer than REGEX_TERM_MAX short without a word (it
 * then matches nothing), so a long batch is split into several terms,
 * ORed, and an id too long for a term of its own in that form (up to
 * max_record_id_bytes of '.' and '-', three bytes each) is asked as the
 * plain key term that "or" writes. */
enum { REGEX_TERM_MAX = 511 };      /* Zebra's IT_MAX_WORD - 1 */

static size_t regex_id_len(const char *id)
{
    size_t len = 0;
    for (; *id; id++)
        len += (*id == '.' || *id == '-') ? 3 : 1;
    return len;
}

/* The term that starts at ids[from]: how many ids it takes (at least
 * one), and whether it is the one id as a plain key term. */
static size_t regex_term_ids(const char *const *ids, size_t from, size_t n, int *plain)
{
    size_t len = regex_id_len(ids[from]), k = 1;
    *plain = len > REGEX_TERM_MAX;
    while (!*plain && from + k < n && len + 1 + regex_id_len(ids[from + k]) <= REGEX_TERM_MAX)
        len += 1 + regex_id_len(ids[from + k++]);
    return k;
}

static int put_regex_id(struct strbuf *out, const char *id)
{
    int rc = 0;
    for (const char *c = id; *c; c++) {
        char bracketed[3] = {'[', *c, ']'};
        rc |= (*c == '.' || *c == '-') ? strbuf_append(out, bracketed, 3) : strbuf_append(out, c, 1);
    }
    return rc;
}

/* One id, exactly, from the key index. */
static int put_key_term(struct strbuf *out, const char *id)
{
    return strbuf_puts(out, "@attr 1=12 @attr 4=3 \"") | strbuf_puts(out, id) |
           strbuf_append(out, "\"", 1);
}

static int build_regex_query(const char *const *ids, size_t n, struct strbuf *out)
{
    int rc = 0, plain;
    size_t terms = 0;
    for (size_t i = 0; i < n; i += regex_term_ids(ids, i, n, &plain))
        terms++;
    for (size_t t = 1; t < terms; t++)
        rc |= strbuf_puts(out, "@or ");
    for (size_t i = 0; i < n;) {
        size_t k = regex_term_ids(ids, i, n, &plain);
        if (i)
            rc |= strbuf_append(out, " ", 1);
        if (plain) {
            rc |= put_key_term(out, ids[i++]);
            continue;
        }
        rc |= strbuf_puts(out, "@attr 1=12 @attr 4=3 @attr 5=102 \"");
        for (size_t j = i; j < i + k; j++) {
            if (j > i)
                rc |= strbuf_append(out, "|", 1);
            rc |= put_regex_id(out, ids[j]);
        }
        rc |= strbuf_append(out, "\"", 1);
        i += k;
    }
    return rc;
}

int catalogue_build_query(enum catalogue_protocol proto, enum id_query form,
                          const char *const *ids, size_t n, struct strbuf *out)
{
    int rc = 0;
    if (proto == CATALOGUE_Z3950 && form == ID_QUERY_REGEX)
        return build_regex_query(ids, n, out) ? -1 : 0;
    for (size_t i = 0; proto == CATALOGUE_Z3950 && i + 1 < n; i++)
        rc |= strbuf_puts(out, "@or ");
    for (size_t i = 0; i < n; i++) {
        if (i)
            rc |= strbuf_puts(out, proto == CATALOGUE_Z3950 ? " " : " or ");
        rc |= proto == CATALOGUE_Z3950 ? put_key_term(out, ids[i])
                                       : strbuf_printf(out, "rec.id==\"%s\"", ids[i]);
    }
    return rc ? -1 : 0;
}

/* A search term goes between double quotes: quotes and backslashes, which
 * could end it early, become blanks (they carry no meaning in a name or
 * subject heading). With max_hits (Z39.50 only), Zebra's global approximate
 * limit (Bib-1 extension attribute 12) stops counting past max_hits and
 * estimates the rest: a subject in thousands of records costs it the walk
 * over max_hits of them instead of all (about 100 us instead of 220 us
 * here), and the estimate is still above max_hits, so the search is still
 * seen as too broad. Up to max_hits the count is exact. */
int catalogue_build_search(enum catalogue_protocol proto, enum search_field field,
                           const char *term, size_t max_hits, struct strbuf *out)
{
    struct strbuf t = {0};
    for (const char *p = term; *p; p++)
        if (strbuf_append(&t, *p == '"' || *p == '\\' ? " " : p, 1) < 0) {
            strbuf_free(&t);
            return -1;
        }
    int rc;
    if (proto == CATALOGUE_Z3950)
        rc = (max_hits ? strbuf_printf(out, "@attr 12=%zu ", max_hits) : 0) |
             strbuf_printf(out, "@attr 1=%d @attr 4=1 \"%s\"", field == SEARCH_AUTHOR ? 1003 : 21,
                           strbuf_cstr(&t));
    else
        rc = strbuf_printf(out, "%s=\"%s\"", field == SEARCH_AUTHOR ? "dc.creator" : "dc.subject",
                           strbuf_cstr(&t));
    strbuf_free(&t);
    return rc;
}

struct catalogue_search *catalogue_search_start(struct catalogue *cat, enum search_field field,
                                                const char *term, size_t max, size_t max_hits,
                                                enum catalogue_place place,
                                                catalogue_search_cb *cb, void *arg)
{
    struct strbuf q = {0}, key = {0};
    struct catalogue_search *s = calloc(1, sizeof *s);
    max = max ? max : 1;
    if (!s || catalogue_build_search(cat->cfg->protocol, field, term, max_hits, &q) < 0 ||
        strbuf_printf(&key, "%zu %zu %s", max, max_hits, strbuf_cstr(&q)) < 0) {
        free(s);
        strbuf_free(&q);
        strbuf_free(&key);
        return NULL;
    }
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
        s->next = ss->subscribers;
        ss->subscribers = s;
        cat->stats.cache_hits++;
        return s;
    }
    struct job *j = job_new(cat, JOB_SEARCH);
    if (!j)
        goto fail;
    if (ss) {                                   /* answered too long ago: ask again */
        bibs_free(ss->bibs, ss->n);
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
            job_free(j);
            goto fail;
        }
        ss->key = strbuf_steal(&key);
        ss->query = strbuf_steal(&q);
        ss->max = max;
        ss->max_hits = max_hits;
    }
    ss->subscribers = s;
    j->search = ss;
    work_queue_push(&cat->queue, &j->node, place_of(place));
    conn_dispatch(cat);
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
    if (s->deferred)            /* answered from the cache: not yet told */
        search_handle_free(s);
    else
        s->cancelled = 1;       /* freed when its shared search is over */
}

/* ---- records ------------------------------------------------------------- */

/* The bytes of a record as the catalogue sent them: Z39.50 brings ISO
 * 2709, SRU MARCXML; NULL when there are none. The ISO 2709 octets are
 * taken as they came ("ext"): ZOOM's "raw" would have YAZ decode and
 * encode the record once more first, unchecked (marc_check.h). */
static const char *record_bytes(const struct catalogue *cat, ZOOM_record rec, size_t *len)
{
    int n = 0;
    if (cat->cfg->protocol == CATALOGUE_Z3950) {
        const Z_External *ext = (const Z_External *)ZOOM_record_get(rec, "ext", &n);
        if (!ext || ext->which != Z_External_octet || !ext->u.octet_aligned ||
            ext->u.octet_aligned->len <= 0)
            return NULL;
        *len = (size_t)ext->u.octet_aligned->len;
        return (const char *)ext->u.octet_aligned->buf;
    }
    const char *xml = ZOOM_record_get(rec, "xml", &n);
    if (!xml || n <= 0)
        return NULL;
    *len = (size_t)n;
    return xml;
}

/* One record of a search as a bib; NULL with the reason in *why, and
 * *malformed set when it was refused as malformed (holdings.h). */
static struct bib *record_bib(struct catalogue *cat, ZOOM_record rec, const char **why,
                              int *malformed)
{
    size_t len = 0;
    const char *bytes = record_bytes(cat, rec, &len);
    if (!bytes) {
        *why = cat->cfg->protocol == CATALOGUE_Z3950 ? "not an ISO 2709 record" : "empty record";
        return NULL;
    }
    struct bib *b = cat->cfg->protocol == CATALOGUE_Z3950
                        ? marc_reader_iso2709(cat->reader, bytes, len, why)
                        : marc_reader_marcxml(cat->reader, bytes, len, why);
    *malformed = !b && marc_reader_malformed(cat->reader);
    return b;
}

/* A record refused as malformed (marc_check.h) is left out like one
 * without a title, counted, and logged once per id: the id it gives
 * itself, when one can be read without YAZ, else its length and a hash of
 * its bytes (the same bytes: the same record); the log shows how it
 * begins. At most MALFORMED_REMEMBERED are remembered: past that the
 * catalogue forgets them all and logs each once more. */
#define MALFORMED_REMEMBERED 1024
#define MALFORMED_SHOWN 32      /* bytes shown in hex */

static void record_malformed(struct catalogue *cat, ZOOM_record rec, const char *why)
{
    cat->stats.malformed_records++;
    size_t len = 0;
    const char *bytes = record_bytes(cat, rec, &len);
    const char *id = marc_reader_refused_id(cat->reader);
    unsigned long long hash = bytes ? hash_bytes(bytes, len) : 0;
    struct strbuf key = {0};
    int keyed = (id ? strbuf_printf(&key, "id %s", id)
                    : strbuf_printf(&key, "%zu bytes %016llx", len, hash)) == 0;
    if (keyed && cat->malformed && dict_get(cat->malformed, strbuf_cstr(&key))) {
        strbuf_free(&key);
        return;
    }
    if (cat->malformed && dict_size(cat->malformed) >= MALFORMED_REMEMBERED) {
        dict_free(cat->malformed, NULL);
        cat->malformed = NULL;
    }
    if (keyed && !cat->malformed)
        cat->malformed = dict_new();
    if (keyed && cat->malformed)    /* out of memory: logged again next time */
        dict_set(cat->malformed, strbuf_cstr(&key), cat, NULL);
    strbuf_free(&key);
    char hex[2 * MALFORMED_SHOWN + 1] = "";
    size_t shown = len < MALFORMED_SHOWN ? len : MALFORMED_SHOWN;
    for (size_t i = 0; i < shown; i++)
        snprintf(hex + 2 * i, 3, "%02x", (unsigned char)bytes[i]);
    if (id)
        log_msg(LOG_WARN, "catalogue %s: malformed record %s left out of answers (logged once): "
                "%s; %zu bytes: %s%s", cat->cfg->name, id, why, len, hex,
                len > shown ? "..." : "");
    else
        log_msg(LOG_WARN, "catalogue %s: malformed record left out of answers (logged once): "
                "%s; id unknown, %zu bytes, FNV-1a %016llx: %s%s", cat->cfg->name, why, len,
                hash, hex, len > shown ? "..." : "");
}

/* ---- connections --------------------------------------------------------- */

static void conn_reset(struct zconn *c)
{
    event_del(c->io);
    event_del(c->deadline);
    if (c->rs)
        ZOOM_resultset_destroy(c->rs);
    if (c->zc)
        ZOOM_connection_destroy(c->zc);
    c->rs = NULL;
    c->zc = NULL;
}

static void conn_drive(struct zconn *c);

static void conn_io_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    struct zconn *c = arg;
    int mask = 0;
    if (what & EV_READ)
        mask |= ZOOM_SELECT_READ;
    if (what & EV_WRITE)
        mask |= ZOOM_SELECT_WRITE;
    ZOOM_connection_fire_event_socket(c->zc, mask);
    conn_drive(c);
}

static void conn_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct zconn *c = arg;
    struct catalogue *cat = c->cat;
    struct job *j = c->job;
    c->job = NULL;
    if (j->kind == JOB_CONNECT) {
        log_msg(LOG_WARN, "catalogue %s: connect timed out after %d ms", cat->cfg->name,
                cat->cfg->timeout_ms);
        conn_reset(c);
        job_free(j);
        conn_dispatch(cat);
        return;
    }
    cat->stats.timeouts++;
    log_msg(LOG_WARN, "catalogue %s: search timed out after %d ms; reconnecting",
            cat->cfg->name, cat->cfg->timeout_ms);
    conn_reset(c);      /* a timed-out Z39.50 session is not to be trusted */
    job_fail(cat, j, "catalogue_timeout");
    conn_dispatch(cat);
}

static int conn_open(struct zconn *c)
{
    struct catalogue *cat = c->cat;
    ZOOM_options o = ZOOM_options_create();
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", (cat->cfg->timeout_ms + 999) / 1000);
    ZOOM_options_set(o, "async", "1");
    ZOOM_options_set(o, "timeout", timeout);
    ZOOM_options_set(o, "preferredRecordSyntax", "usmarc");
    ZOOM_options_set(o, "elementSetName", "F");
    if (cat->cfg->protocol == CATALOGUE_SRU) {
        ZOOM_options_set(o, "sru", "get");
        ZOOM_options_set(o, "schema", "marcxml");
    }
    c->zc = ZOOM_connection_create(o);
    ZOOM_options_destroy(o);
    if (!c->zc)
        return -1;
    ZOOM_connection_connect(c->zc, cat->zoom_target, 0);     /* queued: async */
    return 0;
}

static void conn_start(struct zconn *c, struct job *j)
{
    struct catalogue *cat = c->cat;
    c->job = j;
    j->attempts++;
    if (!c->zc && conn_open(c) < 0) {
        c->job = NULL;
        job_fail(cat, j, "catalogue_unavailable");
        return;
    }
    if (j->kind == JOB_CONNECT) {   /* only connect: a warm pool answers sooner */
        struct timeval tv = {cat->cfg->timeout_ms / 1000, (cat->cfg->timeout_ms % 1000) * 1000};
        j->started_ms = monotonic_ms();
        evtimer_add(c->deadline, &tv);
        conn_drive(c);
        return;
    }
    struct strbuf q = {0};
    char count[24];
    if (j->kind == JOB_SEARCH)
        j->search->presenting = 0;      /* a retry counts the hits again */
    /* A search with a bound on its hits counts them first (count 0) and
     * fetches records only if the bound holds. */
    snprintf(count, sizeof count, "%zu",
             j->kind != JOB_SEARCH ? j->n : j->search->max_hits ? 0 : j->search->max);
    ZOOM_connection_option_set(c->zc, "count", count);
    ZOOM_query zq = ZOOM_query_create();
    int bad = j->kind == JOB_SEARCH
                  ? strbuf_puts(&q, j->search->query)
                  : catalogue_build_query(cat->cfg->protocol, cat->cfg->id_query,
                                          (const char *const *)j->ids, j->n, &q);
    if (!bad)
        bad = cat->cfg->protocol == CATALOGUE_Z3950 ? ZOOM_query_prefix(zq, strbuf_cstr(&q))
                                                 : ZOOM_query_cql(zq, strbuf_cstr(&q));
    if (bad) {
        ZOOM_query_destroy(zq);
        strbuf_free(&q);
        c->job = NULL;
        job_fail(cat, j, "catalogue_query");
        return;
    }
    log_msg(LOG_DEBUG, "catalogue %s: connection %d: search %s", cat->cfg->name,
            (int)(c - cat->conns), strbuf_cstr(&q));
    strbuf_free(&q);
    c->rs = ZOOM_connection_search(c->zc, zq);
    ZOOM_query_destroy(zq);
    cat->stats.searches++;
    j->started_ms = monotonic_ms();
    struct timeval tv = {cat->cfg->timeout_ms / 1000, (cat->cfg->timeout_ms % 1000) * 1000};
    evtimer_add(c->deadline, &tv);
    conn_drive(c);
}

/* Connection-level failures (refused, lost, timed out): worth a reconnect. */
static int zoom_error_is_connection(int code)
{
    return code == ZOOM_ERROR_CONNECT || code == ZOOM_ERROR_CONNECTION_LOST ||
           code == ZOOM_ERROR_TIMEOUT || code == ZOOM_ERROR_DECODE ||
           code == ZOOM_ERROR_INIT || code == ZOOM_ERROR_INTERNAL;
}

/* Settles a finished search. Settling wakes lookups whose callbacks may
 * start searches at once, possibly on this very connection: so the
 * connection is made idle and clean first, and the job is ours alone. */
static void conn_search_done(struct zconn *c)
{
    struct catalogue *cat = c->cat;
    struct job *j = c->job;
    const char *msg = "", *addinfo = "";
    int code = ZOOM_connection_error(c->zc, &msg, &addinfo);
    event_del(c->deadline);
    event_del(c->io);

    if (j->kind == JOB_CONNECT) {
        if (code) {
            log_msg(LOG_WARN, "catalogue %s: cannot connect: %s (%d) %s", cat->cfg->name, msg,
                    code, addinfo ? addinfo : "");
            conn_reset(c);
        }
        c->job = NULL;
        job_free(j);
        return;
    }
    if (code) {
        int lost = zoom_error_is_connection(code);
        int retry = lost && j->attempts < 2;
        log_msg(retry ? LOG_INFO : LOG_WARN, "catalogue %s: %s (%d) %s%s", cat->cfg->name, msg,
                code, addinfo ? addinfo : "", retry ? "; reconnecting and retrying" : "");
        if (lost)
            conn_reset(c);
        else if (c->rs) {
            ZOOM_resultset_destroy(c->rs);
            c->rs = NULL;
        }
        c->job = NULL;
        if (retry)
            work_queue_push(&cat->queue, &j->node, QUEUE_FIRST);
        else
            job_fail(cat, j, lost ? "catalogue_unavailable" : "catalogue_error");
        return;
    }

    size_t size = ZOOM_resultset_size(c->rs), nbibs = 0;
    size_t want = j->kind == JOB_SEARCH ? j->search->max : j->n;
    if (j->kind == JOB_SEARCH && j->search->max_hits && !j->search->presenting) {
        if (size > j->search->max_hits)
            size = 0;           /* too broad to say anything: take none */
        else if (size > 0) {
            j->search->presenting = 1;
            ZOOM_resultset_records(c->rs, NULL, 0, size < want ? size : want);
            struct timeval tv = {cat->cfg->timeout_ms / 1000, (cat->cfg->timeout_ms % 1000) * 1000};
            evtimer_add(c->deadline, &tv);
            conn_drive(c);
            return;
        }
    }
    struct bib **bibs = calloc(want ? want : 1, sizeof *bibs);
    for (size_t i = 0; bibs && i < size && i < want; i++) {
        ZOOM_record rec = ZOOM_resultset_record_immediate(c->rs, i);
        const char *why = "record missing from the answer";
        int malformed = 0;
        struct bib *b = rec ? record_bib(cat, rec, &why, &malformed) : NULL;
        if (b) {
            b->fetched_ms = monotonic_ms();
            bibs[nbibs++] = b;
        }
        else if (malformed)
            record_malformed(cat, rec, why);
        else
            log_msg(LOG_WARN, "catalogue %s: record %zu of a search skipped: %s",
                    cat->cfg->name, i, why);
    }
    ZOOM_resultset_destroy(c->rs);
    c->rs = NULL;
    c->job = NULL;
    log_msg(LOG_DEBUG, "catalogue %s: connection %d: %zu of %zu records in %llu ms", cat->cfg->name,
            (int)(c - cat->conns), nbibs, j->n, (unsigned long long)(monotonic_ms() - j->started_ms));
    if (!bibs) {
        job_fail(cat, j, "out_of_memory");
        return;
    }
    if (j->kind == JOB_SEARCH) {
        search_settle(cat, j->search, bibs, nbibs, NULL);
        bibs_free(bibs, nbibs);
        job_free(j);
        return;
    }
    for (size_t i = 0; i < nbibs; i++) {
        cache_settle(cat, bibs[i]->id, LOOKUP_FOUND, bibs[i], NULL);
        bib_unref(bibs[i]);
    }
    free(bibs);
    for (size_t i = 0; i < j->n; i++)       /* whatever is still pending was not there */
        cache_settle(cat, j->ids[i], LOOKUP_NOT_FOUND, NULL, NULL);
    job_free(j);
}

/* Processes every ZOOM event there is, then waits on the socket for what
 * the connection wants next. */
static void conn_drive(struct zconn *c)
{
    while (c->job && ZOOM_connection_process(c->zc)) {
        if (ZOOM_connection_last_event(c->zc) == ZOOM_EVENT_END) {
            conn_search_done(c);
            conn_dispatch(c->cat);
            return;
        }
    }
    if (!c->job)
        return;
    int fd = ZOOM_connection_get_socket(c->zc);
    int mask = ZOOM_connection_get_mask(c->zc);
    short what = (mask & ZOOM_SELECT_READ ? EV_READ : 0) | (mask & ZOOM_SELECT_WRITE ? EV_WRITE : 0);
    event_del(c->io);
    if (fd >= 0 && what) {
        event_assign(c->io, c->cat->base, fd, what, conn_io_cb, c);
        event_add(c->io, NULL);
    }
    /* Else nothing to wait for yet the search is not over: the deadline
     * timer settles it. */
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
 * searches when the pool is busy, which is when it matters. */
static struct job *queue_take_batch(struct catalogue *cat)
{
    struct job *j = queue_pop(cat);
    if (!j || j->kind != JOB_LOOKUP)
        return j;
    unqueue_ids(cat, j);
    struct queue_node *prev = NULL, *node = cat->queue.head;
    while (node && j->n < (size_t)cat->cfg->join_max) {
        struct job *next = job_of(node);
        node = node->next;
        if (next->kind != JOB_LOOKUP || next->attempts != j->attempts ||
            j->n + next->n > (size_t)cat->cfg->join_max) {
            prev = &next->node;
            continue;
        }
        work_queue_unlink(&cat->queue, prev, &next->node);
        unqueue_ids(cat, next);
        memcpy(j->ids + j->n, next->ids, next->n * sizeof *next->ids);
        j->n += next->n;
        next->n = 0;
        job_free(next);
    }
    return j;
}

static void conn_dispatch(struct catalogue *cat)
{
    for (int i = 0; i < cat->cfg->connections && cat->queue.head; i++) {
        struct zconn *c = &cat->conns[i];
        if (!c->job)
            conn_start(c, queue_take_batch(cat));
    }
}

/* ---- setup --------------------------------------------------------------- */

struct catalogue *catalogue_new(struct event_base *base, const struct catalogue_config *cfg,
                                struct strbuf *err)
{
    struct catalogue *cat = calloc(1, sizeof *cat);
    if (!cat)
        return NULL;
    cat->base = base;
    cat->cfg = cfg;
    cat->map = holdings_map(cfg->holdings);
    struct strbuf s = {0};
    if (cfg->protocol == CATALOGUE_SRU)
        strbuf_printf(&s, "http://%s", cfg->target);
    else
        strbuf_printf(&s, "tcp:%s", cfg->target);
    cat->zoom_target = strbuf_steal(&s);
    cat->cache = dict_new();
    cat->searches = dict_new();
    cat->conns = calloc((size_t)cfg->connections, sizeof *cat->conns);
    if (!cat->map || !cat->cache || !cat->searches || !cat->conns) {
        strbuf_printf(err, "catalogue %s: cannot set up (holdings mapping or memory)", cfg->name);
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
        struct zconn *c = &cat->conns[i];
        c->cat = cat;
        c->io = event_new(base, -1, 0, conn_io_cb, c);
        c->deadline = evtimer_new(base, conn_deadline_cb, c);
        if (!c->io || !c->deadline) {
            strbuf_printf(err, "catalogue %s: out of memory", cfg->name);
            catalogue_free(cat);
            return NULL;
        }
    }
    /* Connect the whole pool now (in the background, like every search):
     * the first requests then find connections ready. */
    for (int i = 0; i < cfg->connections; i++) {
        struct job *j = job_new(cat, JOB_CONNECT);
        if (j)
            conn_start(&cat->conns[i], j);
    }
    return cat;
}

static int entry_drop(const char *key, void *value, void *arg)
{
    (void)key;
    (void)arg;
    struct cache_entry *e = value;
    while (e->waiters) {        /* lookups still waiting are told no more */
        struct waiter *w = e->waiters;
        e->waiters = w->next;
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
    for (int i = 0; cat->conns && i < cat->cfg->connections; i++) {
        struct zconn *c = &cat->conns[i];
        if (c->io)
            conn_reset(c);
        if (c->job)
            job_free(c->job);
        if (c->io)
            event_free(c->io);
        if (c->deadline)
            event_free(c->deadline);
    }
    struct job *j;
    while ((j = queue_pop(cat)))
        job_free(j);
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
