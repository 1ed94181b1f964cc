/* report_render.h: a finished report (report.h) written out as the API
 * gives it, JSON or CSV, a slice of rows at a time so that a long report
 * never holds the event loop; the CLI writes the same text.
 *
 * JSON: {"from", "to", "group": [keys], ["reference_arms": [...]],
 * "rows": [...], "total": {...}}. A row has its keys' values (null where
 * the touchpoints had none), the counters (ru_counter_names) and the rates
 * (rate_names) as {"value", "low", "high"} (null when on_loan is 0); with
 * arm among the keys also "difference": {"reference": arm, <rate>: {...}}
 * to the reference arm of the same other keys (null for the reference
 * arm itself and outside experiments; a rate null when either has no
 * on-loan touchpoints). "reference_arms" lists each experiment's
 * {"experiment", "arm", "control"}: control false means no arm shows 0
 * alternatives and the first arm is the reference. Reals have 6
 * significant digits. The document ends with a newline.
 *
 * Every key and value is jansson's: a row is dumped from one object whose
 * values are set in place (a year of days by 50 branches is 18,000 rows:
 * a tree of them would be half a million allocations), the head and the
 * total are objects of their own; between them only the commas and the
 * closing "]," of rows are ours.
 *
 * CSV (RFC 4180, CRLF line ends): a header row of the same names, a rate
 * as three columns <rate>, <rate>_low, <rate>_high; with arm also
 * reference_arm and <rate>_difference, _difference_low, _difference_high.
 * No total row. An empty field is a null.
 *
 * Two threads (report_render_split): the one thing onloand does that is
 * heavy on the CPU and cannot be made shorter by slicing. Slices keep the
 * loop free, but a year of days by 50 branches is still 80-110 ms of
 * jansson's dumps before the answer can go (7.9 MB of JSON), on one of
 * the machine's cores. So the rows [n/2, n) of a report of
 * REPORT_RENDER_SPLIT_ROWS rows or more are written by a thread of their
 * own, into a buffer of its own with jansson objects of its own, while
 * the loop writes [0, n/2) in its slices as before; the text is the same
 * byte for byte. jansson allows that: nothing of it is shared but the
 * allocator (loan_json_init's counts atomically) and json_null(), which
 * has no count. The thread only reads the finished report (report.h's
 * accessors write nothing) and calls nothing of libevent's: it tells the
 * loop that it is done through an eventfd whose event is on the loop. It
 * is stopped (a flag it reads before each row) and joined by
 * report_render_free, so that freeing waits one row at most. No other
 * code of onloand's starts a thread (YAZ starts its own to resolve
 * names), and everything about this one is in report_render.c. */
#ifndef ONLOAN_REPORT_REPORT_RENDER_H
#define ONLOAN_REPORT_REPORT_RENDER_H

#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>
#include <stddef.h>

#include "report/report.h"

#define REPORT_RENDER_SLICE 2000    /* rows written per loop pass */
#define REPORT_RENDER_SPLIT_ROWS 4000   /* rows from which a report is written in two
                                         * halves (fewer are 25 ms of work at most) */
#define REPORT_REAL_PRECISION 6     /* significant digits of a rate */
/* How reports' JSON is dumped (goals.h too). */
#define REPORT_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(REPORT_REAL_PRECISION))

struct report_render;

/* What report_render_some did. */
enum report_render_step {
    REPORT_RENDER_NO_MEMORY = -1,   /* what out holds is incomplete: give it up */
    REPORT_RENDER_MORE = 0,         /* rows are left: call again */
    REPORT_RENDER_DONE = 1,         /* all is written */
    REPORT_RENDER_WAITING = 2       /* the second half is not written yet: call again
                                     * once the ready callback has been called */
};

/* Called from the loop when the thread's half is written. */
typedef void report_render_ready(void *arg);

/* A writer of r (finished; borrowed until report_render_free) as format
 * (REPORT_JSON or REPORT_CSV), on the caller's thread alone. NULL when out
 * of memory. */
struct report_render *report_render_new(const struct report *r, enum report_format format);
/* Stops the thread, if there is one, and waits for it (one row at most). */
void report_render_free(struct report_render *rr);
/* Has rows [n/2, n) written by a thread of their own when the report has
 * at least min_rows rows (REPORT_RENDER_SPLIT_ROWS; fewer: rr is left as
 * it was), from now on. Before the first report_render_some, once.
 *
 * With base (the loop rr is used from), report_render_some returns
 * REPORT_RENDER_WAITING when it reaches row n/2 before the thread is done,
 * and ready(arg) is called from base's loop once it is (it may free rr).
 * Without base (a blocking program; ready is then unused),
 * report_render_some waits for the thread there.
 *
 * 0, or -1 with errno when no thread could be had (ENOMEM, EAGAIN, or an
 * eventfd's EMFILE ...): rr is then as it was, on one thread. */
int report_render_split(struct report_render *rr, size_t min_rows, struct event_base *base,
                        report_render_ready *ready, void *arg);
/* Appends the next max_rows rows of the caller's half to out (the head
 * before the first, the thread's half after the caller's last, then the
 * tail): REPORT_RENDER_MORE, _DONE, _WAITING (what this call wrote is in
 * out), or _NO_MEMORY, whichever thread ran short. */
enum report_render_step report_render_some(struct report_render *rr, struct evbuffer *out,
                                           size_t max_rows);

/* A real as CSV has it: REPORT_REAL_PRECISION significant digits. */
void report_real_text(double v, char out[32]);

#endif
