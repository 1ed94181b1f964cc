/* dict.h: a string-keyed hash table (separate chaining, power-of-two size).
 *
 * Keys are copied in; values are borrowed pointers the caller owns. */
#ifndef ONLOAN_CORE_DICT_H
#define ONLOAN_CORE_DICT_H

#include <stddef.h>
#include <stdint.h>

struct dict;

/* FNV-1a of n bytes: the project's one string hash (dict, names, cooc). */
uint64_t hash_bytes(const char *s, size_t n);

struct dict *dict_new(void);
/* Calls free_value (if not NULL) on every value. */
void dict_free(struct dict *d, void (*free_value)(void *));
void *dict_get(const struct dict *d, const char *key);
/* Inserts or replaces; returns the previous value through *old (may be NULL).
 * Returns -1 when out of memory. */
int dict_set(struct dict *d, const char *key, void *value, void **old);
/* Removes key and returns its value, or NULL. */
void *dict_del(struct dict *d, const char *key);
size_t dict_size(const struct dict *d);
/* Visits every entry; the callback may not change the dict except to
 * delete the entry it was given (return 1 to delete it). */
void dict_each(struct dict *d, int (*fn)(const char *key, void *value, void *arg), void *arg);

#endif
