/* batch.h: driving the ingest engine from a file (onloan load, eval).
 *
 * The CLI's own event loop, Redis connection (store.h), ingest engine
 * and compactor: the same code the daemon runs for live events. Events
 * are applied per patron in time order (ties in file order), in jobs of
 * whole patrons, several in flight; then the pair counts are flushed and
 * the touched lists compacted. */
#ifndef ONLOAN_BATCH_H
#define ONLOAN_BATCH_H

#include <stdio.h>

#include "compact.h"
#include "config.h"
#include "event.h"
#include "ingest.h"

struct batch_run {
    struct event_base *base;
    struct store *st;
    struct ingest *ing;
    struct compactor *comp;
    const struct config *cfg;
};

struct batch_summary {
    size_t events, new_loans, repeats, duplicates, stale, new_patrons;
    double jobs_s;              /* until every event is applied (pair counts still pending) */
    double ingest_s;            /* until every count is written */
    double compact_s;
    struct ingest_stats ingest;
    struct compact_stats compact;
};

/* Connects (waiting up to connect_ms). Returns -1 with the reason in err. */
int batch_open(struct batch_run *run, const struct config *cfg, int connect_ms,
               struct strbuf *err);
void batch_close(struct batch_run *run);

/* Ingests every event of b (emptied), then flushes and compacts.
 * progress (may be NULL) gets a "\r..." line now and then. */
int batch_ingest(struct batch_run *run, struct loan_batch *b, FILE *progress,
                 struct batch_summary *sum, struct strbuf *err);

/* Sends one command and runs the loop until its reply: reply_fn gets it
 * (or NULL and the error). For the CLI's small reads. */
int batch_command(struct batch_run *run, struct rcmd *cmd,
                  void (*reply_fn)(redisReply *reply, const char *error, void *arg), void *arg);

/* Reads a whole file ("-": standard input) into memory. */
char *batch_read_file(const char *path, size_t *len, struct strbuf *err);

#endif
