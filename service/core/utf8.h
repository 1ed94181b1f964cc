/* utf8.h: checking and repairing UTF-8 text from outside.
 *
 * A catalogue record that says it is UTF-8 may not be: the JSON of an
 * answer needs it to be. Valid is RFC 3629: no overlong forms, no
 * surrogates, nothing past U+10FFFF. */
#ifndef ONLOAN_CORE_UTF8_H
#define ONLOAN_CORE_UTF8_H

#include <stddef.h>

/* 1 when the n bytes at s are valid UTF-8. */
int utf8_valid(const char *s, size_t n);
/* A copy of the NUL-terminated s with every byte that does not begin a
 * valid sequence replaced by U+FFFD (caller frees), or NULL when out of
 * memory. */
char *utf8_repaired(const char *s);

#endif
