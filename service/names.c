/* names.c: see names.h. Open addressing over indexes into one array of
 * strings, so a lookup costs one hash and (usually) one compare. */
#include "names.h"

#include <stdlib.h>
#include <string.h>

#include "dict.h"

struct names {
    char **str;                 /* index -> string (owned) */
    uint32_t *len;
    size_t n, cap;
    uint32_t *slots;            /* NAMES_NONE = empty; else index */
    size_t nslots;              /* power of two, at least 2n */
};

struct names *names_new(void)
{
    return calloc(1, sizeof(struct names));
}

void names_free(struct names *nm)
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

static size_t slot_of(const struct names *nm, const char *s, size_t n)
{
    size_t mask = nm->nslots - 1, j = (size_t)hash_bytes(s, n) & mask;
    while (nm->slots[j] != NAMES_NONE) {
        uint32_t i = nm->slots[j];
        if (nm->len[i] == n && memcmp(nm->str[i], s, n) == 0)
            break;
        j = (j + 1) & mask;
    }
    return j;
}

static int rehash(struct names *nm)
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

uint32_t names_intern(struct names *nm, const char *s, size_t n)
{
    if ((nm->n + 1) * 2 > nm->nslots && rehash(nm) < 0)
        return NAMES_NONE;
    size_t j = slot_of(nm, s, n);
    if (nm->slots[j] != NAMES_NONE)
        return nm->slots[j];
    if (nm->n == nm->cap) {
        size_t cap = nm->cap ? nm->cap * 2 : 1024;
        char **str = realloc(nm->str, cap * sizeof *str);
        if (!str)
            return NAMES_NONE;
        nm->str = str;
        uint32_t *len = realloc(nm->len, cap * sizeof *len);
        if (!len)
            return NAMES_NONE;
        nm->len = len;
        nm->cap = cap;
    }
    if (n >= UINT32_MAX || nm->n >= NAMES_NONE - 1 || !(nm->str[nm->n] = strndup(s, n)))
        return NAMES_NONE;
    nm->len[nm->n] = (uint32_t)n;
    nm->slots[j] = (uint32_t)nm->n;
    return (uint32_t)nm->n++;
}

uint32_t names_find(const struct names *nm, const char *s)
{
    if (!nm->nslots)
        return NAMES_NONE;
    return nm->slots[slot_of(nm, s, strlen(s))];
}

const char *names_get(const struct names *nm, uint32_t i)
{
    return i < nm->n ? nm->str[i] : NULL;
}

size_t names_len(const struct names *nm, uint32_t i)
{
    return i < nm->n ? nm->len[i] : 0;
}

size_t names_count(const struct names *nm)
{
    return nm->n;
}
