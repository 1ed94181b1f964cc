/* report.h: the outcomes report: the rollup counters (redis/rollup.h) of
 * a span of days added up into rows by the keys asked for.
 *
 * Reading the rollups is report_read.h's; writing the rows out is
 * report_render.h's (JSON, CSV) and the CLI's (a table). This module is
 * the arithmetic in between, without I/O, so that the daemon and the CLI
 * give the same numbers:
 *
 *   report_cells_add()   each field of ru1:cells (a cell's name and number)
 *   report_new()         one report: its query, and a segment (goals)
 *   report_bind()        the cells numbered: which row each cell adds to
 *   report_add_day()     each day's counters, in ascending order of days
 *   report_finish()      rows sorted by their keys, the total, the
 *                        references of experiment arms
 *
 * A row is one combination of the values of the keys asked for, which
 * some cell counted something in on some day of the span; rows nothing
 * was counted in are left out. Without keys there is one row, the total,
 * even when it is all zeros.
 *
 * Rates (rates.h) are per on-loan touchpoint: click_rate is the clicks
 * on touchpoints whose wanted title was on loan, over those touchpoints
 * (on_loan); reserve_rate likewise with reserve; alternative_borrow_rate
 * with attributed_borrow (an alternative shown and borrowed later, as the
 * library system's loans tell). Outcomes of touchpoints whose title was
 * available count in their counters but in no rate. */
#ifndef ONLOAN_REPORT_REPORT_H
#define ONLOAN_REPORT_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "redis/rollup.h"
#include "report/rates.h"

/* What rows are made by (the group parameter): dates, then the parts of
 * a rollup cell. */
enum report_key {
    REPORT_DAY,                 /* 2026-12-04 */
    REPORT_WEEK,                /* 2026-W49 (ISO 8601) */
    REPORT_MONTH,               /* 2026-12 */
    REPORT_CATALOGUE,
    REPORT_BRANCH,
    REPORT_CHANNEL,
    REPORT_STATUS,              /* of the wanted title: available, on_loan, unknown */
    REPORT_ARM,                 /* the experiment arm */
    REPORT_NKEYS
};
extern const char *const report_key_names[];    /* "day", ..., NULL */
#define REPORT_KEY_IS_DATE(k) ((k) <= REPORT_MONTH)

enum report_format { REPORT_JSON, REPORT_CSV, REPORT_TABLE };
extern const char *const report_format_names[]; /* "json", "csv", "table", NULL */

/* The counter whose outcomes each rate counts (enum rate, config.h). */
extern const enum ru_counter report_rate_counter[NRATES];

/* ---- the query ----------------------------------------------------------------- */

struct report_query {
    long from, to;              /* days since 1970-01-01, both included */
    enum report_key group[REPORT_NKEYS];
    size_t ngroup;
    enum report_format format;
    int from_given, to_given;
};

/* What is wrong with a query (or a report), for a 400 {"error","field"}
 * or the CLI's message. */
struct report_error {
    const char *field;          /* from, to, group, format */
    char message[160];
};

/* No keys, JSON, the span to be defaulted. */
void report_query_init(struct report_query *q);
/* One parameter: from, to (YYYY-MM-DD), group (keys joined by ',', each
 * at most once; "" for none), format (json, csv; table when table_ok).
 * -1 with err naming it when its value is not one; an unknown name is the
 * caller's to refuse. */
int report_query_set(struct report_query *q, const char *name, const char *value, int table_ok,
                     struct report_error *err);
/* Fills in what was not given (to: today; from: REPORT_DEFAULT_DAYS - 1
 * days before to) and checks the span: from not after to, and at most
 * reports.max_days days, from and to included. -1 with err naming the
 * parameter given that breaks it. */
#define REPORT_DEFAULT_DAYS 30
int report_query_finish(struct report_query *q, const struct config *cfg, long today,
                        struct report_error *err);
/* The days a query spans (to - from + 1; 0 when to is before from). */
long report_query_days(const struct report_query *q);

/* ---- the cells ----------------------------------------------------------------- */

/* Cell numbers above this are taken for damage and skipped (rollup.c
 * numbers cells from 0 up, one per combination ever counted). */
#define REPORT_MAX_CELLS 4000000

/* The cells of ru1:cells, split, by number: shared by the reports of one
 * read, and kept until they are freed. */
struct report_cells;
struct report_cells *report_cells_new(void);
void report_cells_free(struct report_cells *c);
/* One field of ru1:cells: a cell's name and its number, as Redis has
 * them. -1 when out of memory; a name without five parts or with a byte
 * that is not printable ASCII (onloand writes none), a number that is
 * not one, over REPORT_MAX_CELLS or given twice is skipped and counted. */
int report_cells_add(struct report_cells *c, const char *name, size_t name_len,
                     const char *number, size_t number_len);
size_t report_cells_count(const struct report_cells *c);
size_t report_cells_skipped(const struct report_cells *c);
/* The highest cell number + 1: the bytes of a day string that matter. */
uint32_t report_cells_span(const struct report_cells *c);

/* ---- a report ------------------------------------------------------------------ */

/* Which touchpoints a report counts (a goal's segment); NULL for any. */
struct report_segment {
    const char *catalogue, *branch, *channel, *arm;
};

enum report_status {
    REPORT_OK = 0,
    REPORT_NO_MEMORY,           /* nothing wrong with the query: we ran short */
    REPORT_TOO_MANY_ROWS,       /* more than max_rows rows */
    REPORT_OUT_OF_ORDER         /* a day not after the one before (a caller's bug) */
};

struct report_row {
    uint32_t bucket;            /* its dates (index of a run of days, report.c) */
    uint32_t group;             /* its cell keys (index of a combination) */
    uint64_t count[RU_NCOUNTERS];
    uint64_t rate_count[NRATES];    /* the rates' k: outcomes of on-loan touchpoints */
};

/* A report of q's days and keys over the touchpoints of seg (may be
 * NULL), of at most max_rows rows. q and seg are copied; cfg (its
 * experiments) and the strings of seg are borrowed. NULL when out of
 * memory. */
struct report *report_new(const struct config *cfg, const struct report_query *q,
                          const struct report_segment *seg, size_t max_rows);
void report_free(struct report *r);
/* Which row each cell adds to. cells is borrowed until report_free. */
enum report_status report_bind(struct report *r, const struct report_cells *cells);
/* One day's string (len bytes, rollup.h): days outside the report's span
 * are ignored, the others must come in ascending order (a day not given
 * counted nothing). */
enum report_status report_add_day(struct report *r, long day, const unsigned char *counts,
                                  size_t len);
/* After the last day: rows sorted by their keys (in the order of the
 * group, dates ascending, a missing value first, then by bytes). */
enum report_status report_finish(struct report *r);

const struct report_query *report_query_of(const struct report *r);
const struct config *report_config_of(const struct report *r);
size_t report_nrows(const struct report *r);
const struct report_row *report_row(const struct report *r, size_t i);
const struct report_row *report_total(const struct report *r);
/* The value of key k in row: a date's text, a cell's part, or NULL when
 * the touchpoints had none (no branch given, outside any experiment).
 * Valid until report_free. */
const char *report_key_value(const struct report *r, const struct report_row *row,
                             enum report_key k);
/* The first day of the row's dates (its day, with day among the keys). */
long report_row_day(const struct report *r, const struct report_row *row);
/* The row's rate (its k of its on_loan). */
void report_rate(const struct report_row *row, enum rate rate, struct estimate *e);

/* ---- experiment arms ----------------------------------------------------------- */

/* The arm the others of ex are compared with: its control (the arm that
 * shows no alternatives), else its first arm (*is_control 0). */
const struct arm_config *report_reference_arm(const struct experiment_config *ex,
                                              int *is_control);
/* With arm among the keys: the reference arm of row's arm (the first
 * experiment of the config that has an arm of that name), or NULL when
 * the row is outside experiments, of no configured experiment, or of the
 * reference arm itself. *ref is the row with the same keys but the
 * reference arm, or NULL when that counted nothing. */
const char *report_reference(const struct report *r, const struct report_row *row,
                             const struct report_row **ref);
/* The difference of row's rate to ref's (rates.h). */
void report_difference(const struct report_row *row, const struct report_row *ref,
                       enum rate rate, struct estimate *e);
/* Whether the report is grouped by key k. */
int report_has_key(const struct report *r, enum report_key k);

#endif
