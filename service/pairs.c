/* pairs.c: see pairs.h. */
#include "pairs.h"

#include <stdlib.h>
#include <string.h>

static int reserve(struct pair_table *t, size_t more)
{
    if (t->n + more <= t->cap)
        return 0;
    size_t cap = t->cap ? t->cap : 1 << 14;
    while (cap < t->n + more)
        cap *= 2;
    uint64_t *keys = realloc(t->keys, cap * sizeof *keys);
    if (!keys)
        return -1;
    t->keys = keys;
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
    if (reserve(t, count) < 0)
        return -1;
    uint64_t key = (uint64_t)a << 32 | b;
    for (uint32_t i = 0; i < count; i++)
        t->keys[t->n++] = key;
    t->added += count;
    return 0;
}

int pairs_add_all(struct pair_table *t, const struct pair_table *src)
{
    if (src->n == 0)
        return 0;
    if (reserve(t, src->n) < 0)
        return -1;
    memcpy(t->keys + t->n, src->keys, src->n * sizeof *src->keys);
    t->n += src->n;
    t->added += src->n;
    return 0;
}

static int u64_order(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

void pairs_radix_sort(uint64_t *keys, uint64_t *tmp, size_t n)
{
    /* The four digit histograms in one pass over the keys. */
    size_t *count = calloc(4 << 16, sizeof *count);
    uint64_t *from = keys, *to = tmp;
    if (!count) {
        qsort(keys, n, sizeof *keys, u64_order);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t k = from[i];
        count[(0 << 16) + (k & 0xffff)]++;
        count[(1 << 16) + (k >> 16 & 0xffff)]++;
        count[(2 << 16) + (k >> 32 & 0xffff)]++;
        count[(3 << 16) + (k >> 48)]++;
    }
    for (int digit = 0; digit < 4; digit++) {
        size_t *c = count + ((size_t)digit << 16);
        int shift = 16 * digit;
        if (n == 0 || c[(from[0] >> shift) & 0xffff] == n)
            continue;           /* every key has this digit: nothing to do */
        size_t sum = 0;
        for (size_t d = 0; d < (1 << 16); d++) {
            size_t x = c[d];
            c[d] = sum;
            sum += x;
        }
        for (size_t i = 0; i < n; i++)
            to[c[(from[i] >> shift) & 0xffff]++] = from[i];
        uint64_t *x = from;
        from = to;
        to = x;
    }
    if (from != keys)
        memcpy(keys, from, n * sizeof *keys);
    free(count);
}

int pairs_each(const struct pair_table *t,
               void (*fn)(uint32_t a, uint32_t b, uint32_t count, void *arg), void *arg)
{
    uint64_t *k = malloc((t->n ? t->n : 1) * sizeof *k), *tmp = malloc((t->n ? t->n : 1) * sizeof *tmp);
    if (!k || !tmp) {
        free(k);
        free(tmp);
        return -1;
    }
    if (t->n)
        memcpy(k, t->keys, t->n * sizeof *k);
    pairs_radix_sort(k, tmp, t->n);
    free(tmp);
    for (size_t i = 0; i < t->n;) {
        size_t j = i;
        while (j < t->n && k[j] == k[i])
            j++;
        fn((uint32_t)(k[i] >> 32), (uint32_t)k[i], (uint32_t)(j - i), arg);
        i = j;
    }
    free(k);
    return 0;
}

int pairs_directed(const struct pair_table *t, uint64_t **out, size_t *n)
{
    size_t m = 2 * t->n;
    uint64_t *k = malloc((m ? m : 1) * sizeof *k), *tmp = malloc((m ? m : 1) * sizeof *tmp);
    if (!k || !tmp) {
        free(k);
        free(tmp);
        return -1;
    }
    for (size_t i = 0; i < t->n; i++) {
        uint64_t key = t->keys[i];
        k[2 * i] = key;
        k[2 * i + 1] = key << 32 | key >> 32;
    }
    pairs_radix_sort(k, tmp, m);
    free(tmp);
    *out = k;
    *n = m;
    return 0;
}

void pairs_clear(struct pair_table *t)
{
    t->n = 0;
    t->added = 0;
}

void pairs_free(struct pair_table *t)
{
    free(t->keys);
    memset(t, 0, sizeof *t);
}
