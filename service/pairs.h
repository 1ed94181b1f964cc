/* pairs.h: counting unordered pairs of interned records in memory.
 *
 * The ingest engine logs a pair for every (new title, earlier title) a
 * loan produces and hands the summed counts to Redis in one write per
 * record (ingest.c). Pairs are logged, not hashed: a radix sort at flush
 * time sums them and groups them by record in one sequential pass, which
 * is several times faster than a hash table for millions of pairs. */
#ifndef ONLOAN_PAIRS_H
#define ONLOAN_PAIRS_H

#include <stddef.h>
#include <stdint.h>

struct pair_table {
    uint64_t *keys;             /* a << 32 | b with a < b, one per count */
    size_t n, cap;              /* n: counts logged */
    uint64_t added;             /* the same, since the last clear */
};

/* Adds count to the pair {a, b} (a != b). Returns -1 when out of memory. */
int pairs_add(struct pair_table *t, uint32_t a, uint32_t b, uint32_t count);
/* Adds every count of src to t. */
int pairs_add_all(struct pair_table *t, const struct pair_table *src);
/* Visits every pair once with its summed count: fn(a, b, count), a < b,
 * in order of (a, b). Returns -1 when out of memory (nothing visited). */
int pairs_each(const struct pair_table *t,
               void (*fn)(uint32_t a, uint32_t b, uint32_t count, void *arg), void *arg);
/* Both directions of every pair, sorted: (a << 32 | b) and (b << 32 | a)
 * once per count. *out is malloc'd (caller frees); -1 when out of memory. */
int pairs_directed(const struct pair_table *t, uint64_t **out, size_t *n);
void pairs_clear(struct pair_table *t);     /* empty, memory kept */
void pairs_free(struct pair_table *t);      /* empty, memory freed */

/* Sorts n keys ascending (LSD radix, 16 bits a pass, skipping digits
 * all keys share; tmp has room for n). */
void pairs_radix_sort(uint64_t *keys, uint64_t *tmp, size_t n);

#endif
