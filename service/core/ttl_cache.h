/* ttl_cache.h: values kept by key until a time of their own, for a
 * bounded number of keys.
 *
 * Values are reference-counted by their owner: the cache holds one
 * reference per entry and gives it back through the unref function given
 * at creation. When full, expired entries are swept (a walk of them all:
 * only once one may have expired, and at most every TTL_CACHE_SWEEP_MS);
 * if it is still full, the new value is not kept (the caller's answer is
 * unaffected). An expired entry is also dropped when it is asked for. */
#ifndef ONLOAN_CORE_TTL_CACHE_H
#define ONLOAN_CORE_TTL_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct ttl_cache;

#define TTL_CACHE_SWEEP_MS 100

struct ttl_cache *ttl_cache_new(size_t max_entries, void (*unref)(void *value));
void ttl_cache_free(struct ttl_cache *c);
/* The value under key if it has not expired by now_ms (borrowed: take a
 * reference to keep it), else NULL. */
void *ttl_cache_get(struct ttl_cache *c, const char *key, uint64_t now_ms);
/* Keeps value (the caller's reference passes to the cache) until
 * expires_ms; on failure or when full the reference is given back. */
void ttl_cache_put(struct ttl_cache *c, const char *key, void *value, uint64_t expires_ms,
                   uint64_t now_ms);
/* Whether a new key would be kept now (expired entries swept first, if a
 * sweep is due): for a caller whose keys are always new, to make nothing
 * for a full cache. A no counts as refused, as the put would. */
int ttl_cache_has_room(struct ttl_cache *c, uint64_t now_ms);
/* Entries held (expired ones not swept yet included). */
size_t ttl_cache_size(const struct ttl_cache *c);
struct ttl_cache_stats {
    size_t entries;                 /* held now (as ttl_cache_size) */
    unsigned long long hits;        /* gets that found a value not expired */
    unsigned long long misses;      /* gets that found none (or an expired one) */
    unsigned long long refused;     /* puts not kept: full of live entries, or no memory */
    unsigned long long sweeps;      /* walks of a full cache for expired entries */
};
void ttl_cache_get_stats(const struct ttl_cache *c, struct ttl_cache_stats *st);
/* Drops every entry whose key match() accepts (a walk of all entries). */
void ttl_cache_drop_if(struct ttl_cache *c, int (*match)(const char *key, void *arg), void *arg);

#endif
