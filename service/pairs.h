/* pairs.h: counting unordered pairs of interned records in memory.
 *
 * The ingest engine adds a pair for every (new title, earlier title) a
 * loan produces and hands the summed counts to Redis in one write per
 * record (ingest.c); this table is where they add up in between. */
#ifndef ONLOAN_PAIRS_H
#define ONLOAN_PAIRS_H

#include <stddef.h>
#include <stdint.h>

struct pair_table {
    uint64_t *keys;             /* 0 = empty; else (a + 1) << 32 | (b + 1), a < b */
    uint32_t *counts;
    size_t cap, n;
    uint64_t added;             /* sum of all counts added */
};

/* Adds count to the pair {a, b} (a != b). Returns -1 when out of memory. */
int pairs_add(struct pair_table *t, uint32_t a, uint32_t b, uint32_t count);
/* Visits every pair: fn(a, b, count) with a < b. */
void pairs_each(const struct pair_table *t,
                void (*fn)(uint32_t a, uint32_t b, uint32_t count, void *arg), void *arg);
void pairs_clear(struct pair_table *t);     /* empty, memory kept */
void pairs_free(struct pair_table *t);      /* empty, memory freed */

#endif
