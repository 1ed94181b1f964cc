/* ptr_table.h: a map from pointers to pointers of fixed capacity, for
 * finding what a module keeps about an object another library owns (the
 * HTTP face's state of each connection libevent holds).
 *
 * Open addressing with linear probing, at most half full: every
 * operation is O(1) on average, nothing is allocated after ptr_table_new,
 * so insertion never fails for want of memory. The keys are addresses
 * the program's own allocator chose, not client input: they are mixed
 * (Fibonacci hashing), not keyed. */
#ifndef ONLOAN_CORE_PTR_TABLE_H
#define ONLOAN_CORE_PTR_TABLE_H

#include <stddef.h>

struct ptr_table;

/* Room for max entries. NULL when out of memory. */
struct ptr_table *ptr_table_new(size_t max);
void ptr_table_free(struct ptr_table *t);
/* -1 when key is NULL, is there already, or max entries are there. */
int ptr_table_put(struct ptr_table *t, const void *key, void *value);
/* The value of key, or NULL. */
void *ptr_table_get(const struct ptr_table *t, const void *key);
/* Takes key out; returns its value, or NULL when it was not there. */
void *ptr_table_del(struct ptr_table *t, const void *key);
size_t ptr_table_size(const struct ptr_table *t);

#endif
