/* dict.c: see dict.h. Keyed SipHash-2-4, chains, doubling at load 1. */
#include "core/dict.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct dict_entry {
    struct dict_entry *next;
    void *value;
    uint64_t hash;
    char key[];
};

struct dict {
    struct dict_entry **slots;
    size_t nslots;          /* power of two */
    size_t count;
};

uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;            /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

/* The process's key of every dict's hash: made at the first dict_new
 * and never changed after (the one piece of state this module keeps;
 * onloand is one thread). A new one each start: what collides in one
 * process says nothing of the next. */
_Static_assert(crypto_shorthash_BYTES == sizeof(uint64_t), "SipHash-2-4 gives 64 bits");
static unsigned char hash_key[crypto_shorthash_KEYBYTES];
static int hash_key_made;

static uint64_t dict_hash(const char *s)
{
    unsigned char out[crypto_shorthash_BYTES];
    uint64_t h;
    crypto_shorthash(out, (const unsigned char *)s, strlen(s), hash_key);
    memcpy(&h, out, sizeof h);
    return h;
}

struct dict *dict_new(void)
{
    if (!hash_key_made) {
        if (sodium_init() < 0)
            return NULL;
        randombytes_buf(hash_key, sizeof hash_key);
        hash_key_made = 1;
    }
    struct dict *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->nslots = 16;
    d->slots = calloc(d->nslots, sizeof *d->slots);
    if (!d->slots) {
        free(d);
        return NULL;
    }
    return d;
}

void dict_free(struct dict *d, void (*free_value)(void *))
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nslots; i++) {
        struct dict_entry *e = d->slots[i];
        while (e) {
            struct dict_entry *next = e->next;
            if (free_value)
                free_value(e->value);
            free(e);
            e = next;
        }
    }
    free(d->slots);
    free(d);
}

static struct dict_entry **dict_find(const struct dict *d, const char *key, uint64_t h)
{
    struct dict_entry **pp = &d->slots[h & (d->nslots - 1)];
    while (*pp && ((*pp)->hash != h || strcmp((*pp)->key, key) != 0))
        pp = &(*pp)->next;
    return pp;
}

void *dict_get(const struct dict *d, const char *key)
{
    struct dict_entry *e = *dict_find(d, key, dict_hash(key));
    return e ? e->value : NULL;
}

static void dict_grow(struct dict *d)
{
    size_t n = d->nslots * 2;
    struct dict_entry **slots = calloc(n, sizeof *slots);
    if (!slots)
        return;     /* keep working with longer chains */
    for (size_t i = 0; i < d->nslots; i++) {
        struct dict_entry *e = d->slots[i];
        while (e) {
            struct dict_entry *next = e->next;
            e->next = slots[e->hash & (n - 1)];
            slots[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(d->slots);
    d->slots = slots;
    d->nslots = n;
}

int dict_set(struct dict *d, const char *key, void *value, void **old)
{
    uint64_t h = dict_hash(key);
    struct dict_entry **pp = dict_find(d, key, h);
    if (old)
        *old = *pp ? (*pp)->value : NULL;
    if (*pp) {
        (*pp)->value = value;
        return 0;
    }
    size_t klen = strlen(key);
    struct dict_entry *e = malloc(sizeof *e + klen + 1);
    if (!e)
        return -1;
    memcpy(e->key, key, klen + 1);
    e->hash = h;
    e->value = value;
    e->next = NULL;
    *pp = e;
    if (++d->count > d->nslots)
        dict_grow(d);
    return 0;
}

void *dict_del(struct dict *d, const char *key)
{
    struct dict_entry **pp = dict_find(d, key, dict_hash(key));
    struct dict_entry *e = *pp;
    if (!e)
        return NULL;
    void *v = e->value;
    *pp = e->next;
    free(e);
    d->count--;
    return v;
}

size_t dict_size(const struct dict *d)
{
    return d->count;
}

size_t dict_longest_chain(const struct dict *d)
{
    size_t most = 0;
    for (size_t i = 0; i < d->nslots; i++) {
        size_t n = 0;
        for (const struct dict_entry *e = d->slots[i]; e; e = e->next)
            n++;
        most = n > most ? n : most;
    }
    return most;
}

void dict_each(struct dict *d, int (*fn)(const char *key, void *value, void *arg), void *arg)
{
    for (size_t i = 0; i < d->nslots; i++) {
        struct dict_entry **pp = &d->slots[i];
        while (*pp) {
            struct dict_entry *e = *pp;
            if (fn(e->key, e->value, arg)) {
                *pp = e->next;
                free(e);
                d->count--;
            } else {
                pp = &e->next;
            }
        }
    }
}
