/* pairs.h: counting unordered pairs of interned records in memory.
 *
 * The ingest engine logs a pair for every (new title, earlier title) a
 * loan produces and hands the summed counts to Redis in one write per
 * record (ingest.c). Pairs are logged, not hashed: at flush time they are
 * scattered into one bucket per record and each bucket is summed with a
 * small per-record stamp array that stays in cache, which is several
 * times faster than a hash table (or a sort) for millions of pairs. The
 * log keeps a loan's pairs as one run (its record once, then the others),
 * which halves what is written and read per count.
 *
 * Only what the daemon and the CLI use is here: counts are added
 * (pairs_add_run; pairs_add for one pair), moved into a log
 * (pair_log_take) and grouped from it (pairs_group_log_take), and
 * retried keys are grouped (pairs_group_directed). What only a test
 * needs, to look at a table whole or join two (pairs_each,
 * pairs_add_all, pairs_group of a single table), is in
 * tests/unit/test_pairs.c, built on this API. */
#ifndef ONLOAN_INGEST_PAIRS_H
#define ONLOAN_INGEST_PAIRS_H

#include <stddef.h>
#include <stdint.h>

/* A log of runs: the record a, the run's length k, then k records b,
 * each the pair {a, b} counted once ({a, b} and {b, a} are the same
 * pair). A loan's pairs share its record, so they make one run: four
 * bytes a count, and one copy into a's bucket when grouped. */
struct pair_table {
    uint32_t *words;
    size_t nwords, cap;         /* cap: words allocated */
    size_t run;                 /* words[run] starts the last run (when nwords > 0) */
    size_t n;                   /* counts logged */
    uint64_t added;             /* the same, since the last clear */
};

/* Adds count to the pair {a, b} (a != b): to the last run when it is
 * a's, else in a new run. Returns -1 when out of memory.
 * (pairs_group_directed adds its keys with it.) */
int pairs_add(struct pair_table *t, uint32_t a, uint32_t b, uint32_t count);
/* Adds one to each pair {a, others[i]} (none of them a), as one run: what
 * n calls of pairs_add(t, a, others[i], 1) do, at once. -1 when out of
 * memory (or n > UINT32_MAX). */
int pairs_add_run(struct pair_table *t, uint32_t a, const uint32_t *others, size_t n);
/* Every record's neighbours, summed: record r's are other[start[r] ..
 * start[r + 1]) with count[...] (records 0 .. nrecords - 1). */
struct pair_groups {
    size_t nrecords;
    uint32_t *start;            /* nrecords + 1 */
    uint32_t *other, *count;
};

/* Groups n directed keys (from << 32 | to, once per count) by record:
 * to for from only; a record's neighbours in the order they were first
 * counted. Every record must be < nrecords; -1 when one is not or when
 * out of memory. */
int pairs_group_directed(const uint64_t *keys, size_t n, size_t nrecords, struct pair_groups *g);
void pair_groups_free(struct pair_groups *g);

/* Pair counts logged in several tables (one per job), moved in whole
 * rather than copied. */
struct pair_log {
    struct pair_table *part;
    size_t nparts, cap;
    size_t n;                   /* counts in all parts */
};
/* Moves t's counts in: t is zeroed, its keys owned by the log. A t
 * without counts, and t on failure (-1, out of memory), stay as they are. */
int pair_log_take(struct pair_log *log, struct pair_table *t);
/* Groups the counts of every part, in order, by record, both directions
 * ({a, b} is b for a and a for b); a record's neighbours in the order
 * they were first counted. Every record must be < nrecords; -1 when one
 * is not or when out of memory. The log is empty afterwards, even when
 * this fails (the counts are then lost). */
int pairs_group_log_take(struct pair_log *log, size_t nrecords, struct pair_groups *g);
void pair_log_free(struct pair_log *log);
void pairs_clear(struct pair_table *t);     /* empty, memory kept */
void pairs_free(struct pair_table *t);      /* empty, memory freed */

#endif
