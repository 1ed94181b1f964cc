/* cooc.h: a record's co-occurrence list as stored in Redis.
 *
 * co:<record> is a string of "<other-record> <count>\n" lines. Writers
 * only ever APPEND lines (counts to add), so concurrent writers never
 * lose each other's counts; a record may therefore appear on several
 * lines, and readers sum them. Compaction (compact.h) rewrites a list as
 * one line per record, keeping the top K by count. */
#ifndef ONLOAN_COOC_H
#define ONLOAN_COOC_H

#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

struct cooc_entry {
    char *record;               /* owned */
    uint32_t count;
};

struct cooc_list {
    struct cooc_entry *e;
    size_t n, cap;
};

/* Parses len bytes, summing repeated records. Returns -1 when malformed
 * or out of memory (list then empty). */
int cooc_parse(struct cooc_list *list, const char *text, size_t len);
/* Sorts by count (highest first; ties by record id) and keeps the first
 * keep entries. */
void cooc_top(struct cooc_list *list, size_t keep);
int cooc_encode(const struct cooc_list *list, struct strbuf *out);
void cooc_free(struct cooc_list *list);

#endif
