/* loader.h: driving the ingest engine from a file (onloan load, eval).
 *
 * The CLI's own event loop, Redis connection (redis_client.h), ingest engine
 * and compactor: the same code the daemon runs for live events. Events
 * are applied per patron in time order (ties in file order), in jobs of
 * whole patrons, several in flight; then the pair counts are flushed and
 * the touched lists compacted (and every LOADER_COMPACT_FLUSHES flushes
 * on the way). */
#ifndef ONLOAN_CLI_LOADER_H
#define ONLOAN_CLI_LOADER_H

#include <stdio.h>

#include "core/config.h"
#include "ingest/ingest.h"
#include "ingest/loan_event.h"
#include "model/compact.h"

struct loader {
    struct event_base *base;
    struct redis_client *st;
    struct ingest *ing;
    struct compactor *comp;
    const struct config *cfg;
};

struct load_summary {
    size_t events, new_loans, repeats, duplicates, stale, holds, new_patrons;
    double jobs_s;              /* until every event is applied (pair counts still pending) */
    double ingest_s;            /* until every count is written */
    double compact_s;
    size_t flush_waits;         /* times the jobs waited for a flush (LOADER_PENDING_FLUSHES) */
    size_t compactions;         /* compactions during the load (LOADER_COMPACT_FLUSHES) */
    struct ingest_stats ingest;
    struct compact_stats compact;
};

/* Connects (waiting up to connect_ms). Returns -1 with the reason in err. */
int loader_open(struct loader *run, const struct config *cfg, int connect_ms,
               struct strbuf *err);
void loader_close(struct loader *run);

/* Events per job: whole patrons, so a job may have more. */
#define LOADER_JOB_EVENTS 20000
/* New jobs wait (those in flight go on) while this many times
 * model.flush_max_pairs pair counts are pending (onloan sets that to at
 * least 8,000,000, and a streamed load to --memory / 16: 32,000,000 for
 * 512M, 512 MB while a flush groups them). One: while a flush writes, the
 * next one fills up to its size and no more, so a load's memory stays
 * what one flush and the next take however long the file (at 2, a 100 M
 * load peaked at 1,355 MB against 900 for 10 M). */
#define LOADER_PENDING_FLUSHES 1
/* The lists are compacted (with no job in flight) every this many
 * flushes, besides at the end: until then they are only appended to, and
 * a 100 M load that compacted only at the end held 10 GB of appended
 * lines in Redis. */
#define LOADER_COMPACT_FLUSHES 4

/* Ingests every event of b (emptied), then flushes and compacts.
 * progress (may be NULL) gets a "\r..." line now and then. */
int loader_ingest(struct loader *run, struct loan_batch *b, FILE *progress,
                 struct load_summary *sum, struct strbuf *err);

/* Where loader_ingest_jobs takes its jobs from: the next one into job
 * (whole patrons, in the order they are applied; the caller owns it):
 * 1, 0 when there are no more, -1 with the reason in err. */
typedef int loader_next_job(void *src, struct loan_batch *job, struct strbuf *err);
/* The same for jobs from next (total: the events they hold, for the
 * progress line), a few in flight, taken as the earlier ones finish:
 * what is in memory is those jobs, not the file. */
int loader_ingest_jobs(struct loader *run, loader_next_job *next, void *src, size_t total,
                       FILE *progress, struct load_summary *sum, struct strbuf *err);

/* Sends one command and runs the loop until its reply: reply_fn gets it
 * (or NULL and the error). For the CLI's small reads. -1 (reply_fn not
 * called) when out of memory. */
int loader_command(struct loader *run, struct rcmd *cmd,
                  void (*reply_fn)(redisReply *reply, enum failure error, void *arg), void *arg);

/* Reads a whole file ("-": standard input) into memory. */
char *loader_read_file(const char *path, size_t *len, struct strbuf *err);

/* Reads and checks every event of the files (loans CSV, JSON lines or
 * MovieLens ratings) into all, the way onloan load and eval take them:
 * nothing is to be used if one is bad. Returns 0, or -1 with what went
 * wrong in report: a file that cannot be read, each file's first
 * max_shown (at most LOADER_MAX_SHOWN_PROBLEMS) problems as
 * "file:line: field: message" lines and how many more there were, or
 * that memory ran out (which is no file's fault; reading stops there). */
#define LOADER_MAX_SHOWN_PROBLEMS 20
#define LOADER_MAX_FILE_EVENTS 100000000
int loader_read_events(const struct config *cfg, char *const *paths, int npaths, size_t max_shown,
                      struct loan_batch *all, struct strbuf *report);
/* The same for one text already read (name: the file's, for the report;
 * now bounds times in the future): 0, -1 when an event is bad (reported
 * as above), -2 when memory ran out (said in report). */
int loader_events_from_text(const struct config *cfg, const char *name, const char *text,
                            size_t len, long long now, size_t max_shown, struct loan_batch *all,
                            struct strbuf *report);

#endif
