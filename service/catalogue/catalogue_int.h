/* catalogue_int.h: a catalogue's insides, shared by its files (not for
 * other modules: they use catalogue.h).
 *
 *   catalogue.c        lookups, the record cache, shared searches, the
 *                      jobs waiting for a connection, setup
 *   catalogue_query.c  the queries: PQF for Z39.50, CQL for SRU
 *   zoom_conn.c        the ZOOM connections, driven by libevent: a job
 *                      searched, its records read, its ids settled */
#ifndef ONLOAN_CATALOGUE_INT_H
#define ONLOAN_CATALOGUE_INT_H

#include <stdint.h>
#include <sys/queue.h>
#include <yaz/zoom.h>

#include "catalogue/catalogue.h"
#include "catalogue/work_queue.h"
#include "core/dict.h"

/* A lookup waiting for one of its ids. */
struct waiter {
    SLIST_ENTRY(waiter) link;
    struct catalogue_lookup *lk;
    size_t slot;
};
SLIST_HEAD(waiters, waiter);

enum entry_state { ENTRY_PENDING, ENTRY_FOUND, ENTRY_NOT_FOUND };

struct cache_entry {
    enum entry_state state;
    struct bib *bib;            /* FOUND: one reference held by the cache */
    uint64_t settled_ms;
    struct waiters waiters;     /* PENDING only */
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
    SLIST_HEAD(subscribers, catalogue_search) subscribers;     /* waiting while in flight */
};

/* One caller's search: waits on a shared search in flight, or is answered
 * from an answered one by a deferred event of its own. */
struct catalogue_search {
    SLIST_ENTRY(catalogue_search) link;
    struct catalogue *cat;
    catalogue_search_cb *cb;
    void *arg;
    int cancelled;
    struct event *deferred;     /* answered from the cache (or refused): when */
    struct bib **bibs;          /* ... with these (references) */
    size_t n;
    enum failure error;         /* ... or this failure (the queue was full) */
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
    unsigned long long cancels; /* lookups and searches cancelled so far, and ... */
    unsigned long long cancels_pruned;  /* ... as many when the queue was last pruned */
};

struct catalogue_lookup {
    struct catalogue *cat;
    catalogue_lookup_cb *cb;
    void *arg;
    int cancelled;
    size_t n, outstanding;
    struct lookup_result *results;
    struct event *deferred;     /* completion when nothing had to wait */
};

/* catalogue.c */
/* Settles one id of a lookup job: wakes its waiters, keeps the answer
 * (not a failure) for cache_ms. */
void catalogue_cache_settle(struct catalogue *cat, const char *id, enum lookup_status status,
                            struct bib *bib, enum failure error);
/* A search is over (bibs NULL and error set when it failed). */
void catalogue_search_settle(struct catalogue *cat, struct shared_search *ss,
                             struct bib *const *bibs, size_t n, enum failure error);
/* A job failed: every id and search it carried fails with error. Frees j. */
void catalogue_job_fail(struct catalogue *cat, struct job *j, enum failure error);
void catalogue_job_free(struct job *j);
/* The next job for a free connection (lookups waiting are joined into
 * it), or NULL when none waits. */
struct job *catalogue_next_job(struct catalogue *cat);

/* zoom_conn.c */
/* Sets up connection c of cat (its events; connected on first use).
 * -1 when out of memory. */
int zconn_init(struct zconn *c, struct catalogue *cat);
/* Closes c and fails (or frees) what it carries. */
void zconn_free(struct zconn *c);
/* Connects c now, in the background (a warm pool answers sooner). */
void zconn_connect(struct zconn *c, struct job *j);
/* Gives every idle connection its next job. */
void zconn_dispatch(struct catalogue *cat);

#endif
