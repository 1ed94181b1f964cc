/* touchpoint_batch.h: the touchpoints of one pass of the event loop,
 * written to Redis together.
 *
 * Every answer of /v1/alternatives is a touchpoint to write (its tp
 * entry, tpd: and rollup counters: touchpoint_log.h). Alone, each write
 * costs Redis a script call and onloand a command, a spool write and a
 * reply; under load, most of what both spend on an answer. So the
 * touchpoints answered in one pass of the loop are gathered and go as one
 * script, through the spool (spool.h), once the pass has handled its
 * other events, or as soon as TOUCHPOINT_BATCH_PLACES (64) are gathered. A quiet
 * server's batches hold one touchpoint each and wait for nothing; a busy
 * one's grow with the requests each pass handles.
 *
 * A batch holds a place in the spool from its first touchpoint, so a
 * touchpoint taken is a write the spool will take: the answer may carry
 * its id and token at once. Whatever must reach Redis after a touchpoint
 * (an outcome of it, a patron's attribution marks naming its cell) is
 * sent after touchpoint_batch_flush. */
#ifndef ONLOAN_REDIS_TOUCHPOINT_BATCH_H
#define ONLOAN_REDIS_TOUCHPOINT_BATCH_H

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "redis/spool.h"
#include "redis/touchpoint_log.h"

struct touchpoint_batch;

/* NULL when out of memory. The spool must outlive it. */
struct touchpoint_batch *touchpoint_batch_new(struct event_base *base, struct spool *sp,
                                              const struct config *cfg);
/* What it holds is flushed first. */
void touchpoint_batch_free(struct touchpoint_batch *tb);

/* Takes tp (counting counters) into the batch and writes its id, which
 * names the batch (touchpoint_log.h): ms and draw are now's and a random
 * number, taken if tp starts a batch. 0, or -1 when the spool is full or
 * memory is out (then tp is not logged: the caller says so). */
int touchpoint_batch_add(struct touchpoint_batch *tb, const struct touchpoint *tp, uint64_t ms,
                         uint64_t draw, const enum ru_counter *counters, size_t ncounters,
                         char id[TOUCHPOINT_ID_MAX_BYTES + 1]);
/* Hands what is gathered to the spool now. */
void touchpoint_batch_flush(struct touchpoint_batch *tb);

struct touchpoint_batch_stats {
    unsigned long long batches;     /* scripts handed to the spool */
    unsigned long long touchpoints; /* in them */
    unsigned long long lost;        /* taken, then not written: no memory for the script */
};
void touchpoint_batch_get_stats(const struct touchpoint_batch *tb,
                                struct touchpoint_batch_stats *st);

#endif
