/* ttl_cache.c: see ttl_cache.h. */
#include "core/ttl_cache.h"

#include <stdlib.h>

#include "core/dict.h"

struct ttl_entry {
    void *value;
    uint64_t expires_ms;
};

struct ttl_cache {
    struct dict *entries;       /* key -> struct ttl_entry */
    size_t max_entries;
    void (*unref)(void *);
    uint64_t sweep_now;         /* for the sweep callback */
    uint64_t first_expiry;      /* no entry expires before this (a lower bound) */
    uint64_t last_sweep;        /* when a full cache was last swept */
    int swept;                  /* it has been */
    struct ttl_cache_stats stats;   /* entries filled in by ttl_cache_get_stats */
};

struct ttl_cache *ttl_cache_new(size_t max_entries, void (*unref)(void *value))
{
    struct ttl_cache *c = calloc(1, sizeof *c);
    if (!c || !(c->entries = dict_new())) {
        free(c);
        return NULL;
    }
    c->max_entries = max_entries;
    c->unref = unref;
    return c;
}

static int drop(const char *key, void *v, void *arg)
{
    (void)key;
    struct ttl_cache *c = arg;
    struct ttl_entry *e = v;
    c->unref(e->value);
    free(e);
    return 1;
}

void ttl_cache_free(struct ttl_cache *c)
{
    if (!c)
        return;
    dict_each(c->entries, drop, c);
    dict_free(c->entries, NULL);
    free(c);
}

void *ttl_cache_get(struct ttl_cache *c, const char *key, uint64_t now_ms)
{
    struct ttl_entry *e = dict_get(c->entries, key);
    if (!e) {
        c->stats.misses++;
        return NULL;
    }
    if (e->expires_ms <= now_ms) {
        dict_del(c->entries, key);
        c->unref(e->value);
        free(e);
        c->stats.misses++;
        return NULL;
    }
    c->stats.hits++;
    return e->value;
}

static int drop_expired(const char *key, void *v, void *arg)
{
    struct ttl_cache *c = arg;
    struct ttl_entry *e = v;
    if (e->expires_ms <= c->sweep_now)
        return drop(key, v, arg);
    if (e->expires_ms < c->first_expiry)
        c->first_expiry = e->expires_ms;
    return 0;
}

/* A full cache is swept (a walk of every entry) only when an entry may
 * have expired, and at most every TTL_CACHE_SWEEP_MS: a put into a cache
 * full of live entries costs no walk, and one that expire one by one cost
 * a walk per TTL_CACHE_SWEEP_MS, not one per put. */
static void sweep_if_due(struct ttl_cache *c, uint64_t now_ms)
{
    if (now_ms < c->first_expiry || (c->swept && now_ms - c->last_sweep < TTL_CACHE_SWEEP_MS))
        return;
    c->sweep_now = now_ms;
    c->first_expiry = UINT64_MAX;
    dict_each(c->entries, drop_expired, c);
    c->last_sweep = now_ms;
    c->swept = 1;
    c->stats.sweeps++;
}

int ttl_cache_has_room(struct ttl_cache *c, uint64_t now_ms)
{
    if (dict_size(c->entries) >= c->max_entries)
        sweep_if_due(c, now_ms);
    if (dict_size(c->entries) < c->max_entries)
        return 1;
    c->stats.refused++;
    return 0;
}

void ttl_cache_put(struct ttl_cache *c, const char *key, void *value, uint64_t expires_ms,
                   uint64_t now_ms)
{
    if (expires_ms <= now_ms) {
        c->unref(value);
        return;
    }
    struct ttl_entry *old = dict_get(c->entries, key);
    if (!old && dict_size(c->entries) >= c->max_entries) {
        sweep_if_due(c, now_ms);
        if (dict_size(c->entries) >= c->max_entries) {
            c->stats.refused++;
            c->unref(value);
            return;
        }
    }
    if (expires_ms < c->first_expiry)
        c->first_expiry = expires_ms;
    if (old) {
        c->unref(old->value);
        old->value = value;
        old->expires_ms = expires_ms;
        return;
    }
    struct ttl_entry *e = malloc(sizeof *e);
    if (!e || dict_set(c->entries, key, e, NULL) < 0) {
        free(e);
        c->stats.refused++;
        c->unref(value);
        return;
    }
    e->value = value;
    e->expires_ms = expires_ms;
}

struct drop_if {
    struct ttl_cache *c;
    int (*match)(const char *key, void *arg);
    void *arg;
};

static int drop_matching(const char *key, void *v, void *arg)
{
    struct drop_if *d = arg;
    return d->match(key, d->arg) ? drop(key, v, d->c) : 0;
}

void ttl_cache_drop_if(struct ttl_cache *c, int (*match)(const char *key, void *arg), void *arg)
{
    struct drop_if d = {c, match, arg};
    dict_each(c->entries, drop_matching, &d);
}

size_t ttl_cache_size(const struct ttl_cache *c)
{
    return dict_size(c->entries);
}

void ttl_cache_get_stats(const struct ttl_cache *c, struct ttl_cache_stats *st)
{
    *st = c->stats;
    st->entries = dict_size(c->entries);
}
