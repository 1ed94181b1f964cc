/* test_ttl_cache.c: the bounded cache with expiry (ttl_cache.h): what
 * it keeps, and that every value it lets go is given back once. */
#include <stdio.h>

#include "core/ttl_cache.h"
#include "unit.h"

static int released[8];

static void release(void *v)
{
    released[(long)v]++;
}

TEST(ttl_cache_expiry_bound_and_refs)
{
    struct ttl_cache *c = ttl_cache_new(2, release);
    memset(released, 0, sizeof released);
    ttl_cache_put(c, "a", (void *)1, 100, 0);
    ttl_cache_put(c, "b", (void *)2, 200, 0);
    CHECK(ttl_cache_get(c, "a", 99) == (void *)1);
    CHECK(ttl_cache_get(c, "a", 100) == NULL);      /* expired: given back */
    CHECK(released[1] == 1);
    ttl_cache_put(c, "c", (void *)3, 300, 150);
    ttl_cache_put(c, "d", (void *)4, 400, 150);     /* full, nothing expired: not kept */
    CHECK(released[4] == 1);
    CHECK(ttl_cache_get(c, "d", 150) == NULL);
    ttl_cache_put(c, "e", (void *)5, 500, 250);     /* full: sweeps b (200) first */
    CHECK(released[2] == 1);
    CHECK(ttl_cache_get(c, "e", 250) == (void *)5);
    ttl_cache_put(c, "e", (void *)6, 600, 250);     /* replacing gives the old one back */
    CHECK(released[5] == 1);
    ttl_cache_put(c, "f", (void *)7, 10, 20);       /* already expired: not kept */
    CHECK(released[7] == 1);
    /* gets: a (hit), a expired, d, e (hit): 2 hits, 2 misses; d refused */
    struct ttl_cache_stats st;
    ttl_cache_get_stats(c, &st);
    CHECK(st.hits == 2 && st.misses == 2 && st.refused == 1 && st.entries == 2);
    CHECK(ttl_cache_get(c, "zz", 250) == NULL);
    ttl_cache_get_stats(c, &st);
    CHECK(st.misses == 3);
    ttl_cache_free(c);
    CHECK(released[3] == 1 && released[6] == 1);
}

static void nothing(void *v)
{
    (void)v;
}

/* A full cache is not walked on every put: not while nothing can have
 * expired, and at most every TTL_CACHE_SWEEP_MS while entries expire one
 * by one (a cache of 100,000 live entries walked per put served 300
 * answers a second). */
TEST(ttl_cache_sweeps_are_bounded)
{
    enum { N = 1000 };
    struct ttl_cache *c = ttl_cache_new(N, nothing);
    char key[32];
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "k%d", i);
        ttl_cache_put(c, key, (void *)1, 3600000 + (uint64_t)i, 0);  /* each 1 ms after the last */
    }
    struct ttl_cache_stats st;
    for (int i = 0; i < 10 * N; i++) {          /* full of live entries */
        snprintf(key, sizeof key, "n%d", i);
        ttl_cache_put(c, key, (void *)1, 7200000, 1000 + (uint64_t)i / 100);
    }
    ttl_cache_get_stats(c, &st);
    CHECK(st.sweeps == 1 && st.refused == 10 * N && st.entries == N);
    /* an hour on, one entry expires each ms: a walk per TTL_CACHE_SWEEP_MS,
     * each making room for the puts until the next */
    for (int ms = 0; ms < 1000; ms++) {
        snprintf(key, sizeof key, "m%d", ms);
        ttl_cache_put(c, key, (void *)1, 7200000, 3600000 + (uint64_t)ms);
    }
    ttl_cache_get_stats(c, &st);
    CHECK(st.sweeps == 1 + 1000 / TTL_CACHE_SWEEP_MS);
    CHECK(st.entries == N);
    /* kept: the first put after each walk and those until full again */
    CHECK(ttl_cache_get(c, "m0", 3600999) == (void *)1);
    CHECK(ttl_cache_get(c, "m1", 3600999) == NULL);
    CHECK(ttl_cache_get(c, "m150", 3600999) == (void *)1);
    CHECK(ttl_cache_get(c, "k999", 3600998) == (void *)1);     /* not expired yet */
    ttl_cache_free(c);
}

/* Room for a new key: yes below the bound; when full, only once a
 * sweep due has freed a place; each no counted as refused. */
TEST(ttl_cache_room)
{
    struct ttl_cache *c = ttl_cache_new(2, release);
    memset(released, 0, sizeof released);
    CHECK(ttl_cache_has_room(c, 0));
    ttl_cache_put(c, "a", (void *)1, 100, 0);
    ttl_cache_put(c, "b", (void *)2, 1000, 0);
    CHECK(!ttl_cache_has_room(c, 50));              /* full, nothing expired */
    CHECK(ttl_cache_has_room(c, 150));              /* a swept */
    CHECK(released[1] == 1);
    struct ttl_cache_stats st;
    ttl_cache_get_stats(c, &st);
    CHECK(st.refused == 1 && st.entries == 1);
    ttl_cache_free(c);
}

int main(void)
{
    RUN(ttl_cache_expiry_bound_and_refs);
    RUN(ttl_cache_sweeps_are_bounded);
    RUN(ttl_cache_room);
    return unit_failures != 0;
}
