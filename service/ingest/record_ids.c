/* record_ids.c: see record_ids.h. Open addressing over indexes into one array of
 * strings, so a lookup costs one hash and (usually) one compare. */
#include "ingest/record_ids.h"

#include <stdlib.h>
#include <string.h>

#include "core/dict.h"

struct record_ids {
    char **str;                 /* index -> string (owned) */
    uint32_t *len;
    size_t n, cap;
    uint32_t *slots;            /* RECORD_IDS_NONE = empty; else index */
    size_t nslots;              /* power of two, at least 2n */
};

struct record_ids *record_ids_new(void)
{
    return calloc(1, sizeof(struct record_ids));
}

void record_ids_free(struct record_ids *nm)
{
    if (!nm)
        return;
    for (size_t i = 0; i < nm->n; i++)
        free(nm->str[i]);
    free(nm->str);
    free(nm->len);
    free(nm->slots);
    free(nm);
}

static size_t slot_of(const struct record_ids *nm, const char *s, size_t n)
{
    size_t mask = nm->nslots - 1, j = (size_t)hash_bytes(s, n) & mask;
    while (nm->slots[j] != RECORD_IDS_NONE) {
        uint32_t i = nm->slots[j];
        if (nm->len[i] == n && memcmp(nm->str[i], s, n) == 0)
            break;
        j = (j + 1) & mask;
    }
    return j;
}

static int rehash(struct record_ids *nm)
{
    size_t nslots = nm->nslots ? nm->nslots * 2 : 1024;
    uint32_t *slots = malloc(nslots * sizeof *slots);
    if (!slots)
        return -1;
    memset(slots, 0xff, nslots * sizeof *slots);
    free(nm->slots);
    nm->slots = slots;
    nm->nslots = nslots;
    for (size_t i = 0; i < nm->n; i++)
        nm->slots[slot_of(nm, nm->str[i], nm->len[i])] = (uint32_t)i;
    return 0;
}

uint32_t record_ids_intern(struct record_ids *nm, const char *s, size_t n)
{
    if ((nm->n + 1) * 2 > nm->nslots && rehash(nm) < 0)
        return RECORD_IDS_NONE;
    size_t j = slot_of(nm, s, n);
    if (nm->slots[j] != RECORD_IDS_NONE)
        return nm->slots[j];
    if (nm->n == nm->cap) {
        size_t cap = nm->cap ? nm->cap * 2 : 1024;
        char **str = realloc(nm->str, cap * sizeof *str);
        if (!str)
            return RECORD_IDS_NONE;
        nm->str = str;
        uint32_t *len = realloc(nm->len, cap * sizeof *len);
        if (!len)
            return RECORD_IDS_NONE;
        nm->len = len;
        nm->cap = cap;
    }
    if (n >= UINT32_MAX || nm->n >= RECORD_IDS_NONE - 1 || !(nm->str[nm->n] = strndup(s, n)))
        return RECORD_IDS_NONE;
    nm->len[nm->n] = (uint32_t)n;
    nm->slots[j] = (uint32_t)nm->n;
    return (uint32_t)nm->n++;
}

uint32_t record_ids_find(const struct record_ids *nm, const char *s)
{
    if (!nm->nslots)
        return RECORD_IDS_NONE;
    return nm->slots[slot_of(nm, s, strlen(s))];
}

const char *record_ids_get(const struct record_ids *nm, uint32_t i)
{
    return i < nm->n ? nm->str[i] : NULL;
}

size_t record_ids_len(const struct record_ids *nm, uint32_t i)
{
    return i < nm->n ? nm->len[i] : 0;
}

size_t record_ids_count(const struct record_ids *nm)
{
    return nm->n;
}
