/* record_ids.h: interning record ids as small integers.
 *
 * The model's hot loops (pair counting, histories) work on uint32_t
 * indexes; the strings live here, once each, until record_ids_free. */
#ifndef ONLOAN_INGEST_RECORD_IDS_H
#define ONLOAN_INGEST_RECORD_IDS_H

#include <stddef.h>
#include <stdint.h>

#define RECORD_IDS_NONE UINT32_MAX

struct record_ids;

struct record_ids *record_ids_new(void);
void record_ids_free(struct record_ids *nm);
/* The index of s (n bytes, no NUL needed), added if new; RECORD_IDS_NONE when
 * out of memory. */
uint32_t record_ids_intern(struct record_ids *nm, const char *s, size_t n);
/* The index of s, or RECORD_IDS_NONE if it was never interned. */
uint32_t record_ids_find(const struct record_ids *nm, const char *s);
/* The string of index i (valid until record_ids_free), and its length. */
const char *record_ids_get(const struct record_ids *nm, uint32_t i);
size_t record_ids_len(const struct record_ids *nm, uint32_t i);
size_t record_ids_count(const struct record_ids *nm);

#endif
