/* extsort.h: sorting fixed-size records that need not fit in memory.
 *
 * Records are added one at a time into a buffer of at most `memory`
 * bytes (it grows as needed); a full buffer is sorted and written as a
 * run to one temporary file in tmpdir, created 0600 and unlinked at once,
 * so that nothing is left behind, even after a crash. Reading merges the
 * runs, at most EXTSORT_MAX_FANIN at a time: more runs are first merged,
 * in passes, into longer ones. Input that arrives in order already is
 * never sorted: in-order buffers extend the run before them, and one run
 * is read back as it is (the fast path). Reading takes a quarter of the
 * memory: when every record fits in that, nothing is written at all;
 * more is written out as a run first, so that the buffer's memory is
 * free for what the reader does with the records.
 *
 * The comparator must decide every tie (the sort is not stable): the
 * loader's keys end with the event's place in the file. */
#ifndef ONLOAN_CLI_EXTSORT_H
#define ONLOAN_CLI_EXTSORT_H

#include <stddef.h>
#include <stdint.h>

#include "core/strbuf.h"

#define EXTSORT_MAX_FANIN 64
#define EXTSORT_MAX_RECORD 256      /* bytes of one record, at most */

typedef int extsort_cmp(const void *a, const void *b);

struct extsort_stats {
    size_t records;             /* added */
    size_t runs;                /* written to disk (0: all in memory) */
    size_t merge_passes;        /* passes that merged runs into longer ones before reading */
    size_t buffers_sorted;      /* buffers that were not in order already */
    unsigned long long bytes_written;
};

struct extsort;

/* rec_size: 1..EXTSORT_MAX_RECORD bytes; memory: the buffer's bound in
 * bytes (at least 4 records are kept, whatever it says); reading uses a
 * quarter of it for the runs' buffers. tmpdir: where runs go. NULL when
 * out of memory or rec_size is out of range. */
struct extsort *extsort_new(size_t rec_size, extsort_cmp *cmp, size_t memory, const char *tmpdir);
void extsort_free(struct extsort *s);

/* Copies rec in. -1 with the reason in err (out of memory, the temporary
 * file could not be made or written: tmpdir named). */
int extsort_add(struct extsort *s, const void *rec, struct strbuf *err);

/* Changes the order before any run is written (the records added so
 * far are sorted again, in memory). -1 if a run exists already. */
int extsort_set_cmp(struct extsort *s, extsort_cmp *cmp);

/* Writes what the buffer holds as a run and frees the buffer (later adds
 * allocate it again): memory back while another sorter fills. -1 with
 * err. */
int extsort_spill(struct extsort *s, struct strbuf *err);

/* No more adds: sorts what is left (written out as a run unless it fits
 * in a quarter of the memory), merges runs down to a fan-in that fits;
 * then extsort_next reads. -1 with err. */
int extsort_finish(struct extsort *s, struct strbuf *err);

/* The next record in order: 1 with *rec (valid until the next call), 0
 * after the last, -1 with err (a read failed, out of memory). */
int extsort_next(struct extsort *s, const void **rec, struct strbuf *err);

/* For a sorter that extsort_finish wrote no run for (everything in a
 * quarter of the memory):
 * calls edit on every record in the present order, then sorts them by
 * cmp, in place, to be read again from the first. -1 if runs exist. */
int extsort_reorder(struct extsort *s, extsort_cmp *cmp, void (*edit)(void *rec, void *arg),
                    void *arg);

void extsort_get_stats(const struct extsort *s, struct extsort_stats *st);

/* Sorts n records of rec_size bytes in place (introsort: no memory
 * beyond the stack; glibc's qsort may allocate a copy of the array). */
void extsort_sort(void *base, size_t n, size_t rec_size, extsort_cmp *cmp);

#endif
