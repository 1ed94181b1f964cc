/* ingest_int.h: the ingest engine's insides, shared by its four files
 * (not for other modules: they use ingest.h).
 *
 *   ingest.c        jobs: gathered, sealed, waiting for their patrons,
 *                   started in order, finished, answered; the lifetime
 *   ingest_write.c  a job's read, apply and guarded write of histories
 *   ingest_forget.c a forget: what the patron added taken back, their
 *                   keys deleted
 *   ingest_attribution.c  a written job's loans and holds attributed to
 *                   the touchpoints that showed their titles
 *   ingest_flush.c  the pair counts, record counts and totals written
 *                   every model.flush_ms */
#ifndef ONLOAN_INGEST_INT_H
#define ONLOAN_INGEST_INT_H

#include <stdint.h>
#include <sys/queue.h>

#include "core/dict.h"
#include "ingest/history.h"
#include "ingest/ingest.h"
#include "ingest/pairs.h"
#include "ingest/record_ids.h"
#include "redis/rcmd.h"
#include "redis/touchpoint_log.h"

enum job_kind { JOB_EVENTS, JOB_FORGET };

struct patron_group {
    const char *pseudonym;      /* borrowed from the job's events (or forget_pseudonym) */
    size_t first, n;            /* in the job's order[] */
    int seen_at;                /* index of its ZMSCORE seen: in the read's reply (or -1);
                                 * its history is the group's element of the MGET */
    int at_at;                  /* index of its HMGET at: in the read's reply (or -1: no
                                 * loan or hold) */
};

/* A loan or hold of a job that a touchpoint showed the title of, and
 * what it says about it (attribution.h). */
struct attribution {
    size_t at;                  /* the event's place in the job's order[] */
    const char *outcome;        /* static: attributed_borrow, ... */
    int applied;                /* the event was applied: counted only then */
    struct touchpoint_mark mark;
};

/* The attributions of a job in flight: they outlive it. */
struct attribution_send {
    struct ingest *ing;
    struct redis_op *op;
    size_t n;
    TAILQ_ENTRY(attribution_send) link;
};
TAILQ_HEAD(attribution_sends, attribution_send);

/* A caller waiting for a flush (ingest_flush). */
struct flush_waiter {
    ingest_done_cb *cb;
    void *arg;
    STAILQ_ENTRY(flush_waiter) link;
};
STAILQ_HEAD(flush_waiters, flush_waiter);
TAILQ_HEAD(job_list, ingest_job);

/* Record counts (distinct borrowers) and totals, kept until a flush
 * writes them with the pair counts. */
enum total { TOTAL_LOANS, TOTAL_REPEATS, TOTAL_DUPLICATES, TOTAL_STALE, TOTAL_PATRONS, NTOTALS };

struct counts {
    uint32_t *pop;                  /* per record index: new borrowers */
    size_t cap;
    uint32_t *touched;              /* indexes with pop > 0 */
    size_t ntouched, captouched;
    uint64_t *branch_new;           /* a new borrower at a branch: branch << 32 | record
                                     * (interned names), once each (pob:<branch>) */
    size_t nbranch_new, capbranch_new;
    long long total[NTOTALS];
};

struct ingest {
    struct event_base *base;
    struct redis_client *st;               /* jobs: histories and seen ids */
    struct redis_client *bulk;             /* flushes: pair counts, record counts, totals */
    const struct config *cfg;
    struct history_rules rules;
    struct record_ids *names;
    struct pair_log pending;        /* counted, not yet written: the jobs' logs */
    struct counts counts;           /* likewise: record counts and totals */
    struct counts counts_flushing;  /* those the running flush writes */
    uint64_t *retry;                /* directed counts a failed flush did not write */
    size_t nretry;
    int flush_running;
    struct pair_groups groups[2];   /* the running flush's counts by record: pending, retried */
    size_t next_record;             /* records [0, next_record) sent */
    size_t units_unwritten;         /* directed counts not known to be written (stats) */
    uint32_t *fallback;             /* records whose fresh list lost the race: APPENDed after */
    size_t nfallback, capfallback, next_fallback;
    uint8_t *listed;                /* per record: co:<record> known to exist (a write went through) */
    size_t caplisted;
    uint32_t *scratch;              /* the entries kept of a record's fresh list */
    size_t capscratch;
    struct flush_chunk {
        struct ingest *ing;
        int fallback;               /* [first, end) index fallback[], else records */
        size_t first, end;
        size_t units;               /* their directed counts */
        struct fresh_try {          /* a SET NX of a fresh list: its reply's index */
            size_t at;
            uint32_t record;
            size_t units;
        } *tries;
        size_t ntries;
        struct redis_op *op;        /* NULL: slot free */
    } chunks[4];                    /* written at once, in order */
    size_t chunks_in_flight;
    enum failure flush_error;        /* the running flush's first failure of pair counts */
    enum failure counts_error;       /* its record counts' failure (they go back to counts) */
    struct flush_waiters waiters;   /* for the next flush */
    struct flush_waiters flush_waiters;     /* for the running one */
    struct event *flush_timer;
    struct dict *busy;              /* pseudonym -> number of running jobs holding it */
    struct job_list waiting;        /* for their patrons, in order */
    struct job_list running;        /* started, not finished */
    struct redis_op *flush_op;
    struct attribution_sends attributing;  /* waiting for Redis */
    struct ingest_job *open;        /* live: gathering this loop pass's requests */
    struct event *seal_event;       /* live: sends the open job at the end of the pass */
    struct ingest_stats stats;
    int stopping;                   /* ingest_abort: no job starts any more */
};

/* One caller of a job: a POST, a chunk of a file, a forget. A live job
 * gathers the requests that arrive in one pass of the event loop. */
struct job_request {
    ingest_cb *cb;                  /* events */
    ingest_done_cb *done_cb;        /* forget */
    void *arg;
    size_t first, n;                /* its events: b.ev[first, first + n) */
    struct ingest_result res;
};

struct forget_work;

struct ingest_job {
    struct ingest *ing;
    enum job_kind kind;
    struct loan_batch b;            /* the requests' events, one after the other */
    struct loan_event **order;      /* by patron, then time, then arrival */
    struct patron_group *groups;
    size_t ngroups;
    char forget_pseudonym[PSEUDONYM_HEX_LEN + 1];
    struct job_request *reqs;
    size_t nreqs, capreqs;
    int answered;                   /* the callers have their answer (see job_late) */
    struct redis_op *op;
    size_t sent;                    /* commands in the last redis_exec */
    TAILQ_ENTRY(ingest_job) link;   /* in waiting, or in running */
    uint32_t cur_record;            /* the record being applied (pair callback) */
    struct pair_table pairs;        /* counted by this job: the loan's record first */
    uint32_t *fresh;                /* records with a new borrower */
    uint32_t *fresh_branch;         /* and the branch of each (RECORD_IDS_NONE: none) */
    size_t nfresh, capfresh;
    struct ingest_result res;       /* the requests' results summed (stats, totals) */
    int conflicts;                  /* writes refused because a history changed */
    struct attribution *attr;       /* by at: ascending (the order of the read) */
    size_t nattr, capattr;
    size_t attr_next;               /* the next one apply may reach */
    struct forget_work *forget;     /* JOB_FORGET: where it is (ingest_forget.c); owned */
};


/* ingest.c */
/* The job is over: its patrons are free, its callers answered (unless
 * job_late did already), and waiting jobs may start. */
void ingest_job_finish(struct ingest_job *job, enum failure error);
/* A write past redis.timeout_ms (redis_exec_sure's late callback). */
void ingest_job_late(void *arg);

/* ingest_write.c */
/* Runs a job whose patrons no other job holds: an events job reads,
 * applies and writes; a forget deletes. Ends in ingest_job_finish. */
void ingest_job_start(struct ingest_job *job);

/* ingest_forget.c */
/* Runs a forget job (ingest_job_start); ends in ingest_job_finish. */
void ingest_forget_start(struct ingest_job *job);
/* Frees what the forget job holds (job_free), and stops waiting for a
 * flush. */
void ingest_forget_free(struct ingest_job *job);

/* ingest_attribution.c */
/* Appends to the job's read one HMGET at:<pseudonym> of their loans' and
 * holds' records per patron group (sets at_at). -1 when out of memory. */
int ingest_attr_read(struct ingest_job *job, struct rcmd_list *cs);
/* Keeps, from the read's reply, the events a touchpoint may be credited
 * with (before they are applied). -1 when out of memory. */
int ingest_attr_take(struct ingest_job *job, const redisReply *reply);
/* The event at order[at] was applied (not a duplicate, not stale); called
 * in order. */
static inline void ingest_attr_applied(struct ingest_job *job, size_t at)
{
    while (job->attr_next < job->nattr && job->attr[job->attr_next].at < at)
        job->attr_next++;
    if (job->attr_next < job->nattr && job->attr[job->attr_next].at == at)
        job->attr[job->attr_next].applied = 1;
}
/* Forgets what the last read found (the job reads again). */
void ingest_attr_reset(struct ingest_job *job);
/* The job's writes went through: its applied attributions are counted
 * (sent; the job need not wait). */
void ingest_attr_send(struct ingest_job *job);
/* Cancels the sends in flight (ingest_free). */
void ingest_attr_free(struct ingest *ing);

/* ingest_flush.c */
/* A written job's pair counts, record counts and totals join the pending
 * ones. */
void ingest_flush_take(struct ingest *ing, struct ingest_job *job);
/* Writes what is pending now, unless a flush is running. */
void ingest_flush_start(struct ingest *ing);
/* The flush timer's callback (arg: the ingest). */
void ingest_flush_tick(evutil_socket_t fd, short what, void *arg);
/* Whether record counts or totals are pending (stats). */
int ingest_flush_counts_pending(const struct ingest *ing);
/* arg waits for no flush any more (its callback will not come). */
void ingest_flush_unwait(struct ingest *ing, void *arg);
/* Cancels the flush in flight and frees what flushes hold. */
void ingest_flush_free(struct ingest *ing);

#endif
