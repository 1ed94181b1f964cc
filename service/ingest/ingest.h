/* ingest.h: loan events into the loan model, on the event loop.
 *
 * The one code path for live events (POST /v1/loans), files (onloan
 * load) and the evaluation (onloan eval). A job is a batch of checked
 * events (loan_event.h):
 *   0. live (the daemon), the requests that arrive in one pass of the
 *      event loop make one job, up to ingest.gather_max_events events:
 *      one read and one write for all of them (each still gets its own
 *      result; a failure fails them all, and none is half-applied);
 *   1. it waits while an earlier job holds one of its patrons, so one
 *      patron's events are applied one batch at a time, in order;
 *   2. reads those patrons' histories (one MGET) and seen event ids, in
 *      one MULTI;
 *   3. applies the events per patron in time order (history.h: the
 *      counting rule), in memory;
 *   4. writes histories and seen ids in one script (all of the batch or
 *      none of it), only if every history read in 2. is still as read:
 *      another process (onloan load beside onloand, a second onloand) may
 *      have changed one since. Then nothing is written and the job goes
 *      back to 2., at most 8 times ("write_conflict"); then answers;
 *      Only loans are applied: holds change nothing of the model;
 *   4a. once written, the loans and holds of patrons that a touchpoint
 *      showed their titles to (at:<pseudonym>, read with the histories in
 *      2.) are attributed to it (attribution.h): one script per outcome,
 *      all of the job's in one MULTI, sent without holding up the answer
 *      (failures logged and counted in ingest_stats);
 *   5. its pair counts, record counts and totals join the pending ones,
 *      written every model.flush_ms (or at model.flush_max_pairs): pop
 *      and meta in one MULTI first, then, in chunks of about 256 KB, one
 *      APPEND per record to co:<record> with the record marked for
 *      compaction, or, for a record's first list, that list already
 *      compacted (SET NX), not marked.
 * A SIGTERM'd daemon flushes before it exits; if it is killed, at most
 * flush_ms of pair counts are lost (never counted twice).
 *
 * The keys it writes: docs/redis-keys.md. */
#ifndef ONLOAN_INGEST_H
#define ONLOAN_INGEST_H

#include <event2/event.h>

#include "core/config.h"
#include "core/failure.h"
#include "ingest/loan_event.h"
#include "redis/redis_client.h"

struct ingest;

struct ingest_result {
    size_t taken;               /* events in the batch */
    size_t new_loans;           /* first loans of a title by a patron: counted */
    size_t repeats;             /* the patron had the title already: not counted again */
    size_t duplicates;          /* an event seen before (same id, or same title and time) */
    size_t stale;               /* older than all the patron's full history holds (history.h) */
    size_t holds;               /* hold events (placed, filled, cancelled): not in the model */
    size_t new_patrons;
};

struct ingest_stats {
    unsigned long long jobs, requests, events, new_loans, repeats, duplicates, stale;
    unsigned long long pairs_added, pairs_written, flushes, flush_failures;   /* pairs: undirected */
    unsigned long long write_conflicts; /* job writes refused because another process had
                                         * changed a history since it was read (read again) */
    unsigned long long flush_waits;     /* flush writes not confirmed within redis.timeout_ms
                                         * (waited for, never sent again) */
    unsigned long long holds;
    unsigned long long attributed;      /* outcomes counted for touchpoints (step 4a) */
    unsigned long long attributed_again;    /* found counted before (a replay): not counted */
    unsigned long long attribution_failures;    /* not counted: Redis failed, out of memory */
    size_t attributions_pending;        /* sent, not answered yet */
    size_t pending_pairs, waiting_jobs, running_jobs;
    int pending_counts;         /* record counts or totals not written yet */
};

/* res is NULL when error is set: FAILURE_REDIS_UNAVAILABLE, _REDIS_TIMEOUT,
 * _OUT_OF_MEMORY, _WRITE_CONFLICT (nothing of the batch was applied), or
 * FAILURE_WRITE_UNCONFIRMED: the write took longer than redis.timeout_ms
 * and may yet be applied (the job goes on and counts the events if it is;
 * sent again, they come back as duplicates). */
typedef void ingest_cb(const struct ingest_result *res, enum failure error, void *arg);
typedef void ingest_done_cb(enum failure error, void *arg);

/* Jobs go through st, flushes through bulk (the daemon gives them a
 * connection of their own, so that a megabyte of pair counts does not
 * hold up the jobs and answers queued behind it on one connection; the
 * CLI passes one store twice).
 * periodic: flush every model.flush_ms and gather requests into jobs (the
 * daemon); otherwise each request is a job and counts are flushed only at
 * model.flush_max_pairs and on ingest_flush, so that a batch is written
 * the same way every time (the CLI). Returns NULL when out of memory. */
struct ingest *ingest_new(struct event_base *base, struct redis_client *st, struct redis_client *bulk,
                          const struct config *cfg, int periodic);
/* Drops pending pair counts: flush first. */
void ingest_free(struct ingest *ing);

/* Takes the events (batch is emptied) and returns 0; -1 when out of
 * memory (the batch is left to the caller). Never calls back from inside. */
int ingest_submit(struct ingest *ing, struct loan_batch *batch, ingest_cb *cb, void *arg);
/* Removes everything kept under the patron's pseudonym (history, seen
 * ids, the touchpoints remembered for attribution), after any job of
 * theirs in flight, and takes back the title and pair counts their
 * history says they added (ingest_forget.c). cb's error is FAILURE_NONE
 * on success; FAILURE_WRITE_CONFLICT when other writers kept changing
 * the lists (what is left is finished by the next forget of the patron).
 * Returns -1 when out of memory. */
int ingest_forget(struct ingest *ing, const char *pseudonym, ingest_done_cb *cb, void *arg);

/* Writes the pending pair counts now; cb when they are written (error
 * set if they could not be: they stay pending then). */
void ingest_flush(struct ingest *ing, ingest_done_cb *cb, void *arg);
/* cb when the flush running now is over (what gathered meanwhile waits
 * for the next); with none running, as ingest_flush. For a writer that
 * holds back while too much waits, without draining everything. */
void ingest_flush_wait(struct ingest *ing, ingest_done_cb *cb, void *arg);

void ingest_get_stats(const struct ingest *ing, struct ingest_stats *st);
/* 1 when no job is gathering, waiting or running, and no attribution is
 * waiting for Redis. */
int ingest_idle(const struct ingest *ing);
/* A stopping daemon: no job starts any more, and every caller not
 * answered yet (of a gathering, waiting or running job) is answered now
 * with FAILURE_SHUTTING_DOWN. Jobs already running go on (their writes
 * may still land, as a write that is late may); nobody is told. */
void ingest_abort(struct ingest *ing);

#endif
