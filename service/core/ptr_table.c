/* ptr_table.c: see ptr_table.h. Deletion shifts the entries after the
 * gap back (no tombstones), so lookups stay short however many come and
 * go. */
#include "core/ptr_table.h"

#include <stdint.h>
#include <stdlib.h>

struct slot {
    const void *key;            /* NULL: empty */
    void *value;
};

struct ptr_table {
    struct slot *slots;
    size_t nslots;              /* a power of two, at least 2 * max */
    unsigned shift;             /* 64 - log2(nslots) */
    size_t n, max;
};

static size_t home(const struct ptr_table *t, const void *key)
{
    return (size_t)(((uint64_t)(uintptr_t)key * 0x9e3779b97f4a7c15ULL) >> t->shift);
}

struct ptr_table *ptr_table_new(size_t max)
{
    struct ptr_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->max = max;
    t->nslots = 2;
    t->shift = 63;
    while (t->nslots < 2 * max + 2) {
        t->nslots *= 2;
        t->shift--;
    }
    if (!(t->slots = calloc(t->nslots, sizeof *t->slots))) {
        free(t);
        return NULL;
    }
    return t;
}

void ptr_table_free(struct ptr_table *t)
{
    if (!t)
        return;
    free(t->slots);
    free(t);
}

static size_t find(const struct ptr_table *t, const void *key)
{
    size_t mask = t->nslots - 1, i = home(t, key);
    while (t->slots[i].key && t->slots[i].key != key)
        i = (i + 1) & mask;
    return i;
}

int ptr_table_put(struct ptr_table *t, const void *key, void *value)
{
    if (!key || t->n >= t->max)
        return -1;
    size_t i = find(t, key);
    if (t->slots[i].key)
        return -1;
    t->slots[i].key = key;
    t->slots[i].value = value;
    t->n++;
    return 0;
}

void *ptr_table_get(const struct ptr_table *t, const void *key)
{
    if (!key)
        return NULL;
    size_t i = find(t, key);
    return t->slots[i].key ? t->slots[i].value : NULL;
}

void *ptr_table_del(struct ptr_table *t, const void *key)
{
    if (!key)
        return NULL;
    size_t mask = t->nslots - 1, gap = find(t, key);
    if (!t->slots[gap].key)
        return NULL;
    void *value = t->slots[gap].value;
    /* Each entry after the gap (up to an empty slot) whose home is not
     * cyclically in (gap, here] would no longer be found: move it in. */
    for (size_t i = (gap + 1) & mask; t->slots[i].key; i = (i + 1) & mask) {
        size_t h = home(t, t->slots[i].key);
        int stays = gap < i ? (gap < h && h <= i) : (gap < h || h <= i);
        if (!stays) {
            t->slots[gap] = t->slots[i];
            gap = i;
        }
    }
    t->slots[gap].key = NULL;
    t->slots[gap].value = NULL;
    t->n--;
    return value;
}

size_t ptr_table_size(const struct ptr_table *t)
{
    return t->n;
}
