/* catalogue.h: looking records up in a library catalogue over Z39.50 or
 * SRU, without ever blocking the event loop.
 *
 * Each configured catalogue has a small pool of YAZ ZOOM connections in
 * async mode. Each connection is driven by one libevent event that follows
 * the connection's socket and wanted mask (re-armed after every ZOOM event,
 * since both may change), plus a deadline timer of our own. Ids asked for
 * are batched into OR queries, one search in flight per connection; a lost
 * or refused connection is reconnected and the search retried once.
 *
 * Looked-up records are cached for cache_ms (config): a record asked for
 * while its search is in flight waits for that search instead of starting
 * another, so 100 requests for one cold title make one search. Author and
 * subject searches are shared and kept the same way.
 *
 * The queue is bounded: with max_queued searches (jobs) waiting, a
 * lookup or search that needs one more fails at once with
 * FAILURE_CATALOGUE_BUSY. A queued search whose every asker has given
 * up (cancelled: their requests timed out or went away) is dropped
 * before a connection runs it, and counted in dropped_jobs. */
#ifndef ONLOAN_CATALOGUE_H
#define ONLOAN_CATALOGUE_H

#include <event2/event.h>
#include <stddef.h>

#include "catalogue/catalogue_query.h"
#include "catalogue/holdings.h"
#include "catalogue/work_queue.h"
#include "core/config.h"
#include "core/failure.h"
#include "core/strbuf.h"

struct catalogue;
struct catalogue_lookup;

enum lookup_status {
    LOOKUP_FOUND,
    LOOKUP_NOT_FOUND,
    LOOKUP_FAILED,          /* see error: FAILURE_CATALOGUE_UNAVAILABLE, FAILURE_CATALOGUE_TIMEOUT, ... */
};

struct lookup_result {
    enum lookup_status status;
    struct bib *bib;        /* FOUND only; borrowed: bib_ref it to keep it */
    enum failure error;     /* FAILED only: FAILURE_CATALOGUE_*, _OUT_OF_MEMORY */
};

/* Called once, from the event loop, when every id has a result (never
 * from inside catalogue_lookup_start). The lookup is freed when it returns. */
typedef void catalogue_lookup_cb(const struct lookup_result *results, size_t n, void *arg);

/* Returns NULL with a reason in err when the config cannot be used. */
struct catalogue *catalogue_new(struct event_base *base, const struct catalogue_config *cfg,
                                struct strbuf *err);
void catalogue_free(struct catalogue *cat);

/* Where a search waits while every connection is busy (work_queue.h):
 * QUEUE_IN_TURN (new work: a request's title and first candidates) waits
 * at the back. QUEUE_AHEAD (work that carries on a request already under
 * way: its later rounds and fallback searches) goes before all of that,
 * in the order it came: begun requests finish first, fewer are kept
 * waiting half done, and the last of a burst is answered sooner. Queued
 * lookups are still joined into shared searches, those ahead first.
 * (QUEUE_FIRST is the catalogue's own, for retries.) */

/* Looks up n record ids (copied). results[i] answers ids[i]; an id that
 * needs a search while the queue is full fails (FAILURE_CATALOGUE_BUSY).
 * Returns NULL only when out of memory. */
struct catalogue_lookup *catalogue_lookup_start(struct catalogue *cat, const char *const *ids,
                                                size_t n, enum queue_place place,
                                                catalogue_lookup_cb *cb, void *arg);
/* The callback will not be called; in-flight searches still finish and
 * fill the cache. */
void catalogue_lookup_cancel(struct catalogue_lookup *lk);

/* Searches by author or subject (a phrase), for up to max records: the
 * fallback when loans say too little. With max_hits (0: no bound), a
 * search that finds more gives nothing: too broad to suggest anything.
 * The same search asked for while one is in flight waits for it, and an
 * answer is reused for cache_ms (failures are not). bibs are borrowed for
 * the call (bib_ref to keep one); on failure bibs is NULL and error says
 * why (FAILURE_CATALOGUE_BUSY: the queue was full). Called once, from the
 * loop, unless cancelled first. */
struct catalogue_search;
typedef void catalogue_search_cb(struct bib *const *bibs, size_t n, enum failure error, void *arg);
struct catalogue_search *catalogue_search_start(struct catalogue *cat, enum search_field field,
                                                const char *term, size_t max, size_t max_hits,
                                                enum queue_place place,
                                                catalogue_search_cb *cb, void *arg);
/* Only until the callback is called: it will not be. */
void catalogue_search_cancel(struct catalogue_search *s);

struct catalogue_stats {
    size_t busy_connections, queued_searches, cached_records;
    size_t cached_searches;         /* author/subject searches kept or in flight */
    unsigned long long ids_asked;           /* ids looked up (catalogue_lookup_start) */
    unsigned long long phrase_searches_asked;   /* author/subject searches asked for */
    /* searches sent to the catalogue (ids batched, or a phrase); those
     * that failed (timed out included), timed out; asks answered from
     * the cache or by a search in flight */
    unsigned long long searches, failures, timeouts, cache_hits;
    unsigned long long malformed_records;   /* refused before decoding, each time met */
    unsigned long long queue_refusals;      /* ids and searches failed busy: queue full */
    unsigned long long dropped_jobs;        /* queued searches nobody waited for any more */
};
void catalogue_get_stats(const struct catalogue *cat, struct catalogue_stats *st);


#endif
