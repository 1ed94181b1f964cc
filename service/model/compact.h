/* compact.h: keeping co-occurrence lists to their top K, in the
 * background.
 *
 * Ingest only appends to co:<record> (cooc_list.h) and adds the record to the
 * set dirty. Compaction takes records from dirty (SPOP: each goes to one
 * compactor), sums each list and keeps its model.neighbours_max best
 * entries, and puts that in place of the part it read, keeping whatever
 * was appended meanwhile (a Lua check-and-set, so no count is lost and
 * nothing waits). A pair cut off a list starts counting afresh if it
 * comes back. Rounds of model.compact_batch records run every
 * model.compact_interval_ms, and back to back while dirty is full. */
#ifndef ONLOAN_MODEL_COMPACT_H
#define ONLOAN_MODEL_COMPACT_H

#include <event2/event.h>

#include "core/config.h"
#include "core/failure.h"
#include "redis/redis_client.h"

struct compactor;

struct compact_stats {
    unsigned long long rounds, records, conflicts, failures;
    unsigned long long entries_in, entries_kept, bytes_in, bytes_out;
};

typedef void compact_done_cb(enum failure error, void *arg);

/* periodic: run by a timer (the daemon); otherwise only on compact_all. */
struct compactor *compactor_new(struct event_base *base, struct redis_client *st,
                                const struct config *cfg, int periodic);
void compactor_free(struct compactor *c);
/* Compacts until dirty is empty, then calls cb (once); after a failed
 * round, once its records are back in dirty (or that failed too). */
void compact_all(struct compactor *c, compact_done_cb *cb, void *arg);
/* A stopping daemon: no round starts any more; the one in flight and the
 * re-adds of failed rounds go on. Cancelling them instead would lose the
 * records SPOP took out of dirty, so wait for compactor_idle first. */
void compactor_stop(struct compactor *c);
/* No round in flight and no failed round's records on their way back. */
int compactor_idle(const struct compactor *c);
void compact_get_stats(const struct compactor *c, struct compact_stats *st);

#endif
