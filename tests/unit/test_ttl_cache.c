/* test_ttl_cache.c: the bounded cache with expiry (ttl_cache.h): what
 * it keeps, and that every value it lets go is given back once. */
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

int main(void)
{
    RUN(ttl_cache_expiry_bound_and_refs);
    return unit_failures != 0;
}
