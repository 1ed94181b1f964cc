/* load_stream.h: onloan load's events, streamed from disk (issue 21).
 *
 * The first pass reads each file a block at a time and checks every event
 * with the rules of loan_event.h: if one is bad, nothing is used, and the
 * report names file, line and field as loader_read_events does. Each good
 * event is kept as a 52-byte record (struct load_rec: the pseudonym and
 * event id as binary, the record id interned, time and place in the files
 * as 32-bit numbers), sorted on disk within a memory bound (extsort.h)
 * into the order loader_ingest applies a batch in memory: each patron's
 * events together, patrons in the order they first appear, each patron's
 * events in time and then file order. The second pass hands them to the
 * ingest engine as jobs of whole patrons (loader_ingest_jobs).
 *
 * Each record carries the place of its patron's first event, from a map
 * of patrons (24 bytes a slot, half full at most) in at most a quarter of
 * the memory: one sort then gives the order, and none at all when the
 * files are in it already (an export sorted by patron and time: the fast
 * path, the records read back as written). When the patrons outgrow that
 * map it takes two sorts: by pseudonym, which finds each patron's first
 * event, then by that.
 *
 * Memory: the sort's buffer (options.memory, and a quarter of it to read
 * runs back), the patrons' map (at most a quarter), the interned record
 * ids (what the titles take), a block and a line. Disk: 52 bytes an event
 * in tmpdir, twice over while two sorts overlap. */
#ifndef ONLOAN_CLI_LOAD_STREAM_H
#define ONLOAN_CLI_LOAD_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "cli/extsort.h"
#include "core/config.h"
#include "core/strbuf.h"
#include "ingest/loan_event.h"

#define LOAD_MAX_EVENTS 1000000000u     /* in one load: its place in the files is 32 bits */
#define LOAD_MAX_LINE_BYTES 1048576     /* a longer line is a problem of its own */
#define LOAD_MIN_MEMORY (1u << 20)      /* --memory at least */
#define LOAD_DEFAULT_MEMORY (512u << 20)

struct load_stream_options {
    size_t memory;              /* bytes for the sort's buffer */
    const char *tmpdir;         /* where sorted runs go */
    size_t max_shown;           /* problems shown per file (at most LOADER_MAX_SHOWN_PROBLEMS) */
    size_t job_events;          /* events per job (whole patrons: may be more) */
};

struct load_stream_stats {
    size_t events;
    size_t patrons_mapped;      /* patrons whose first event was kept in memory */
    int sorts;                  /* 0 (in order already), 1, or 2 (the patrons outgrew memory / 4) */
    struct extsort_stats sort[2];   /* by pseudonym, then by first appearance */
    double read_s, sort_s;      /* the first pass; then the sorts it left to do */
};

struct load_stream;

/* NULL when out of memory. */
struct load_stream *load_stream_new(const struct config *cfg, const struct load_stream_options *o);
void load_stream_free(struct load_stream *ls);

/* The first pass over every file ("-": standard input). 0, or -1 with
 * what went wrong in report: a file that cannot be read, each file's
 * first max_shown problems as "file:line: field: message" lines and how
 * many more there were, out of memory or the temporary files failing
 * (which is no file's fault). Then the records are sorted. */
int load_stream_read(struct load_stream *ls, char *const *paths, int npaths, struct strbuf *report);

/* loader_next_job over the sorted records (src: the load_stream). */
int load_stream_next_job(void *src, struct loan_batch *job, struct strbuf *err);

void load_stream_get_stats(const struct load_stream *ls, struct load_stream_stats *st);

/* One event as kept on disk. */
struct load_rec {
    uint32_t first;             /* seq of the patron's first event (the sort by it) */
    uint32_t when;              /* Unix seconds (events are at most a day ahead: fits to 2106) */
    uint32_t seq;               /* its place in the files */
    uint32_t record;            /* interned record id */
    uint8_t patron[16];         /* the pseudonym, binary */
    uint8_t id[16];             /* the hashed event id, binary, if has_id */
    uint8_t type, has_id;
    uint16_t branch;            /* 1 + the branch's index among the load's branches;
                                 * 0: none (at most LOAD_MAX_BRANCHES) */
};
#define LOAD_MAX_BRANCHES 65535

/* The two orders (extsort_cmp): by pseudonym then seq; by first, time, seq. */
int load_rec_by_patron(const void *a, const void *b);
int load_rec_by_first(const void *a, const void *b);

#endif
