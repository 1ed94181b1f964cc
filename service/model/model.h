/* model.h: reading the loan model ("patrons who borrowed this also
 * borrowed") from Redis, with short in-process caches.
 *
 * The keys it reads (co:<record>, pop, pob and pob:<branch>, meta, and
 * q:<record>: the holds waiting for a record, read with its neighbours):
 * docs/redis-keys.md.
 * A pair shared by fewer than privacy.min_patrons patrons is never read:
 * it is dropped here, before anything can score or show it.
 *
 * Two kinds of read: a record's neighbours (model_read, cached per record)
 * and what is model-wide, the number of patrons and the most borrowed
 * records (model_totals_read: one entry for the whole daemon). Both are
 * kept model.cache_ms; a failed read is never kept. Callers that miss
 * together share one read in flight. */
#ifndef ONLOAN_MODEL_H
#define ONLOAN_MODEL_H

#include <event2/event.h>

#include "core/config.h"
#include "core/failure.h"
#include "model/score.h"
#include "redis/redis_client.h"

struct model;
struct model_read;

struct model *model_new(struct redis_client *st, const struct config *cfg);
void model_free(struct model *m);

/* Drops every cached read (a forget took counts back: answers must not
 * show the old ones for up to model.cache_ms). Reads in flight still
 * fill the cache when they come back. */
void model_cache_drop(struct model *m);

/* A fresh cached read of record (a new reference), or NULL. */
struct neighbours *model_cached(struct model *m, const char *record);

/* nb is a new reference (caller unrefs), or NULL with error set
 * (FAILURE_REDIS_UNAVAILABLE, _REDIS_TIMEOUT, _OUT_OF_MEMORY). */
typedef void model_cb(struct neighbours *nb, enum failure error, void *arg);
/* Waits for record's neighbours from Redis: joins the read of record in
 * flight if there is one, else starts it, so that however many callers
 * miss the same record at once Redis is asked once. A good read is
 * cached; a failed one answers every waiter with its error and is not
 * kept. Never calls back from inside. Returns NULL only when out of
 * memory. */
struct model_read *model_read(struct model *m, const char *record, model_cb *cb, void *arg);
/* cb will not be called. The read goes on for the other waiters, and
 * into the cache even when none is left. */
void model_read_cancel(struct model_read *rd);
/* How many records' neighbours are being read from Redis now, waited for
 * or not (/healthz model_reads). */
size_t model_reads_in_flight(const struct model *m);
/* The neighbours cache's hits, misses and size (ttl_cache.h). */
struct ttl_cache_stats;
void model_cache_stats(const struct model *m, struct ttl_cache_stats *st);

/* The titles most borrowed at one branch (pob:<branch>), as popular. */
struct branch_popular {
    char *branch;
    struct neighbour *popular;
    size_t npopular;
};
/* Branches whose popular titles the totals hold, at most: those of pob
 * last by code (its scores are all 0: a reverse range is by code). When
 * pob names more, onloand logs it once, with the first left out. */
#define MODEL_MAX_BRANCHES 1000

/* What is the same for every record's answer. */
struct model_totals {
    int refs;
    uint64_t fetched_ms;
    uint64_t patrons;           /* patrons in the model (meta patrons) */
    struct neighbour *popular;  /* most borrowed first, each by >= min_patrons
                                 * (both = 0); at most limits.max_candidates */
    size_t npopular;
    struct branch_popular *branches;    /* those of pob (MODEL_MAX_BRANCHES at most,
                                         * the last by code), with a title borrowed
                                         * there by >= min_patrons */
    size_t nbranches;
};

/* The popular titles at branch (*n of them), or NULL (*n 0): none known. */
const struct neighbour *model_totals_at_branch(const struct model_totals *t, const char *branch,
                                               size_t *n);

struct model_totals *model_totals_ref(struct model_totals *t);
void model_totals_unref(struct model_totals *t);

/* The totals if read less than model.cache_ms ago (a new reference), or
 * NULL. */
struct model_totals *model_totals_cached(struct model *m);

struct model_totals_wait;
/* t is a new reference (caller unrefs), or NULL with error set
 * (FAILURE_REDIS_UNAVAILABLE, _REDIS_TIMEOUT). */
typedef void model_totals_cb(struct model_totals *t, enum failure error, void *arg);
/* Waits for the totals from Redis: joins the read in flight if there is
 * one, else starts it, so that however many callers miss at once Redis is
 * asked once (and the result kept for model.cache_ms). Two round trips
 * when branches have counts (the branches, then their titles). Never
 * calls back from inside. Returns NULL only when out of memory. */
struct model_totals_wait *model_totals_read(struct model *m, model_totals_cb *cb, void *arg);
/* cb will not be called; the read itself goes on for the others (and the
 * cache). */
void model_totals_wait_cancel(struct model_totals_wait *w);

/* The number of patrons who borrowed each of records[0..n) (ZMSCORE of
 * pop, one round trip, not cached): for ranking the titles a catalogue
 * search found. cb gets the reply, to be read with model_borrowers_parse.
 * Returns a handle for redis_op_cancel, or NULL when out of memory (cb
 * will not be called). */
struct redis_op *model_borrowers_read(struct model *m, const char *const *records, size_t n,
                                      redis_cb *cb, void *arg);
/* That reply into out[0..n): each record's borrowers, 0 for one borrowed
 * by fewer than min_patrons (too few to tell apart: privacy) or unknown.
 * Returns -1 for a reply of another shape (out untouched). */
int model_borrowers_parse(const redisReply *reply, size_t n, uint32_t min_patrons,
                          uint32_t *out);

/* The one parser of the popular list: a ZREVRANGE <prefix>pop ...
 * WITHSCORES reply (most borrowed first) to the records borrowed by at
 * least min_patrons patrons, stopping at the first one borrowed by fewer.
 * On success *out is an array of *n (never NULL, even when *n is 0; the
 * caller frees it with neighbour_list_free). Returns -1 for a reply of
 * another shape or when out of memory, with *out NULL. */
int model_popular_parse(const redisReply *reply, uint32_t min_patrons, struct neighbour **out,
                        size_t *n);

#endif
