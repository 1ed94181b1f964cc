/* report_read.h: reading the rollups (redis/rollup.h) into reports
 * without holding the event loop for long, for onloand and the CLI alike.
 *
 * HGETALL <prefix>ru1:cells once; then the days the reports span, in
 * round trips of one MGET of <prefix>ru1:<YYYYMMDD> keys each: at most
 * REPORT_READ_DAYS days a trip, fewer when the cells are many (about
 * REPORT_READ_BYTES of counters a trip), REPORT_READ_IN_FLIGHT trips
 * asked at a time. A trip's days are added to the reports when its reply
 * comes, in a loop pass of their own: a 731-day report is 24 passes of
 * about 1 ms each at a thousand cells. Only what the reports' spans
 * cover is read; the streams never are. */
#ifndef ONLOAN_REPORT_REPORT_READ_H
#define ONLOAN_REPORT_REPORT_READ_H

#include <stddef.h>

#include "core/config.h"
#include "core/failure.h"
#include "redis/redis_client.h"
#include "report/report.h"

#define REPORT_READ_DAYS 31
#define REPORT_READ_BYTES (8u << 20)
#define REPORT_READ_IN_FLIGHT 2

/* Called once, from the event loop, when every day is read (why and
 * status both 0), Redis failed (why: FAILURE_REDIS_UNAVAILABLE or
 * FAILURE_REDIS_TIMEOUT), or a report refused a day (status: no memory,
 * too many rows). The read is over when it returns: do not cancel it. */
typedef void report_read_done(enum failure why, enum report_status status, void *arg);

struct report_read;

/* Fills cells (empty; borrowed) and feeds the n reports (borrowed,
 * bound to cells here) their days. NULL when out of memory: done will
 * not be called. */
struct report_read *report_read_start(struct redis_client *redis, const struct config *cfg,
                                      struct report_cells *cells, struct report *const *reports,
                                      size_t n, report_read_done *done, void *arg);
/* Stops a read before done: done will not be called. */
void report_read_cancel(struct report_read *rd);

#endif
