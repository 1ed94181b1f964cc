/* cooc_list.h: a record's co-occurrence list as stored in Redis.
 *
 * co:<record> is a string of "<other-record> <count>\n" lines. Writers
 * only ever APPEND lines (counts to add), so concurrent writers never
 * lose each other's counts; a record may therefore appear on several
 * lines, and readers sum them. Compaction (compact.h) rewrites the part
 * it read as one line per record, keeping the top K by count, under a
 * first line "#<generation>\n" that tells compactors apart. */
#ifndef ONLOAN_MODEL_COOC_LIST_H
#define ONLOAN_MODEL_COOC_LIST_H

#include <stddef.h>
#include <stdint.h>

#include "core/strbuf.h"

struct cooc_entry {
    const char *record;         /* NUL-terminated, in the list's own copy of the text */
    uint32_t count;
    uint32_t last;              /* line of its last appearance: higher = counted more recently */
};

struct cooc_list {
    struct cooc_entry *e;       /* owned */
    size_t n;
    unsigned long long gen;     /* compactions so far (the header), 0 if none */
    size_t header_len;          /* bytes of the header line, 0 if none */
    char *text;                 /* owned copy the records point into */
};

/* Parses len bytes, summing repeated records. Returns -1 when malformed
 * or out of memory (list then empty). */
int cooc_parse(struct cooc_list *list, const char *text, size_t len);
/* Keeps the keep entries with the highest counts; at equal counts the
 * most recently counted win (so a new pair gets its chance to grow
 * rather than losing every tie to an old one). Sorted by count, highest
 * first, and within a count oldest first, so that line order keeps
 * meaning "counted later" when the list is written back and appended to. */
void cooc_top(struct cooc_list *list, size_t keep);
/* The same rule on n counts given oldest first: writes the indexes of
 * the ones kept to order[] (room for min(n, keep)) in the order cooc_top
 * sorts them, and returns how many. -1 when out of memory. */
long cooc_top_counts(const uint32_t *count, size_t n, size_t keep, uint32_t *order);
/* The generation a compaction of a list of generation gen writes: gen + 1,
 * and after the largest, 1 again (not 0, which cooc_encode writes as no
 * header: a list that no longer tells compactors apart). */
unsigned long long cooc_next_gen(unsigned long long gen);
/* Takes minus's counts off list's (a forget: what one patron added,
 * ingest_forget.c), each at most down to 0; an entry at 0 goes. Returns
 * the counts that were not there to take (a pair cut off by compaction,
 * or counted again from 0 since). */
unsigned long long cooc_subtract(struct cooc_list *list, const struct cooc_list *minus);
/* Writes the header (when gen > 0) and one line per entry. */
int cooc_encode(const struct cooc_list *list, unsigned long long gen, struct strbuf *out);
void cooc_free(struct cooc_list *list);

#endif
