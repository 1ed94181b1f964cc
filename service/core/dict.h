/* dict.h: a string-keyed hash table (separate chaining, power-of-two size).
 *
 * Keys are copied in; values are borrowed pointers the caller owns. Keys
 * are hashed with SipHash-2-4 (libsodium's crypto_shorthash) under a
 * random key made once per process: clients choose many of the keys
 * (record ids, addresses, answer keys), and cannot choose ones that
 * collide without knowing it (hash flooding). */
#ifndef ONLOAN_CORE_DICT_H
#define ONLOAN_CORE_DICT_H

#include <stddef.h>
#include <stdint.h>

struct dict;

/* FNV-1a of n bytes: unkeyed, and so only for tables whose keys no
 * client can choose (record_ids.h and cooc_list.h, whose record ids come
 * from the loans an API key holder sent, and from Redis); fast where
 * ingest hashes millions of them. */
uint64_t hash_bytes(const char *s, size_t n);

/* NULL when out of memory, or when libsodium cannot start (no key). */
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
/* The most keys sharing one slot (a diagnostic: what hash flooding would
 * make long). O(size). */
size_t dict_longest_chain(const struct dict *d);
/* Visits every entry; the callback may not change the dict except to
 * delete the entry it was given (return 1 to delete it). */
void dict_each(struct dict *d, int (*fn)(const char *key, void *value, void *arg), void *arg);

#endif
