/* strbuf.h: a growing, NUL-terminated byte string.
 *
 * Appends never truncate: they grow the buffer or fail with -1 (out of
 * memory), leaving the contents as they were. A zeroed struct is an empty
 * buffer; strbuf_free() returns it to that state. */
#ifndef ONLOAN_CORE_STRBUF_H
#define ONLOAN_CORE_STRBUF_H

#include <stddef.h>
#include <stdarg.h>

struct strbuf {
    char *buf;      /* NULL until the first append; then always NUL-terminated */
    size_t len;
    size_t cap;
};

/* Room for extra more bytes (and the NUL), so that appends up to that
 * allocate nothing. */
int strbuf_reserve(struct strbuf *sb, size_t extra);
int strbuf_append(struct strbuf *sb, const char *s, size_t n);
int strbuf_puts(struct strbuf *sb, const char *s);
/* Appends v in decimal (without printf: it is in hot loops). */
int strbuf_put_ll(struct strbuf *sb, long long v);
int strbuf_printf(struct strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap);
/* Percent-encodes everything but RFC 3986 unreserved characters. */
int strbuf_urlencode(struct strbuf *sb, const char *s, size_t n);
void strbuf_reset(struct strbuf *sb);
/* The text so far ("" when empty); valid until the next append. */
const char *strbuf_cstr(const struct strbuf *sb);
/* Hands the string to the caller (caller frees) and empties sb. */
char *strbuf_steal(struct strbuf *sb);
void strbuf_free(struct strbuf *sb);

#endif
