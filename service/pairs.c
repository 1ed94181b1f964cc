/* pairs.c: see pairs.h. Linear probing, kept at most half full. */
#include "pairs.h"

#include <stdlib.h>
#include <string.h>

static size_t slot_hash(uint64_t key, size_t cap)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 17) & (cap - 1);
}

static int grow(struct pair_table *t)
{
    size_t cap = t->cap ? t->cap * 2 : 1 << 14;
    uint64_t *keys = calloc(cap, sizeof *keys);
    uint32_t *counts = calloc(cap, sizeof *counts);
    if (!keys || !counts) {
        free(keys);
        free(counts);
        return -1;
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->keys[i])
            continue;
        size_t j = slot_hash(t->keys[i], cap);
        while (keys[j])
            j = (j + 1) & (cap - 1);
        keys[j] = t->keys[i];
        counts[j] = t->counts[i];
    }
    free(t->keys);
    free(t->counts);
    t->keys = keys;
    t->counts = counts;
    t->cap = cap;
    return 0;
}

int pairs_add(struct pair_table *t, uint32_t a, uint32_t b, uint32_t count)
{
    if (a > b) {
        uint32_t x = a;
        a = b;
        b = x;
    }
    if ((t->n + 1) * 2 > t->cap && grow(t) < 0)
        return -1;
    uint64_t key = ((uint64_t)a + 1) << 32 | ((uint64_t)b + 1);
    size_t j = slot_hash(key, t->cap);
    while (t->keys[j] && t->keys[j] != key)
        j = (j + 1) & (t->cap - 1);
    if (!t->keys[j]) {
        t->keys[j] = key;
        t->n++;
    }
    t->counts[j] += count;
    t->added += count;
    return 0;
}

void pairs_each(const struct pair_table *t,
                void (*fn)(uint32_t a, uint32_t b, uint32_t count, void *arg), void *arg)
{
    for (size_t i = 0; i < t->cap; i++)
        if (t->keys[i])
            fn((uint32_t)(t->keys[i] >> 32) - 1, (uint32_t)t->keys[i] - 1, t->counts[i], arg);
}

void pairs_clear(struct pair_table *t)
{
    if (t->n) {
        memset(t->keys, 0, t->cap * sizeof *t->keys);
        memset(t->counts, 0, t->cap * sizeof *t->counts);
    }
    t->n = 0;
    t->added = 0;
}

void pairs_free(struct pair_table *t)
{
    free(t->keys);
    free(t->counts);
    memset(t, 0, sizeof *t);
}
