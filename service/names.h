/* names.h: interning record ids as small integers.
 *
 * The model's hot loops (pair counting, histories) work on uint32_t
 * indexes; the strings live here, once each, until names_free. */
#ifndef ONLOAN_NAMES_H
#define ONLOAN_NAMES_H

#include <stddef.h>
#include <stdint.h>

#define NAMES_NONE UINT32_MAX

struct names;

struct names *names_new(void);
void names_free(struct names *nm);
/* The index of s (n bytes, no NUL needed), added if new; NAMES_NONE when
 * out of memory. */
uint32_t names_intern(struct names *nm, const char *s, size_t n);
/* The index of s, or NAMES_NONE if it was never interned. */
uint32_t names_find(const struct names *nm, const char *s);
/* The string of index i (valid until names_free), and its length. */
const char *names_get(const struct names *nm, uint32_t i);
size_t names_len(const struct names *nm, uint32_t i);
size_t names_count(const struct names *nm);

#endif
