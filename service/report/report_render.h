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
 * No total row. An empty field is a null. */
#ifndef ONLOAN_REPORT_REPORT_RENDER_H
#define ONLOAN_REPORT_REPORT_RENDER_H

#include <event2/buffer.h>
#include <jansson.h>
#include <stddef.h>

#include "report/report.h"

#define REPORT_RENDER_SLICE 2000    /* rows written per loop pass */
#define REPORT_REAL_PRECISION 6     /* significant digits of a rate */
/* How reports' JSON is dumped (goals.h too). */
#define REPORT_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(REPORT_REAL_PRECISION))

struct report_render;

/* A writer of r (finished; borrowed until report_render_free) as format
 * (REPORT_JSON or REPORT_CSV). NULL when out of memory. */
struct report_render *report_render_new(const struct report *r, enum report_format format);
void report_render_free(struct report_render *rr);
/* Appends the next max_rows rows to out (the head before the first, the
 * tail after the last). 1 when all is written, 0 when rows are left, -1
 * when out of memory (what out holds is then incomplete). */
int report_render_some(struct report_render *rr, struct evbuffer *out, size_t max_rows);

/* A real as CSV has it: REPORT_REAL_PRECISION significant digits. */
void report_real_text(double v, char out[32]);

#endif
