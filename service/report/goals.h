/* goals.h: the goals of the config (a rate to reach by a date, on a
 * segment of the touchpoints) measured on the rollups: GET
 * /v1/reports/goals and onloan report --goals.
 *
 * A goal counts its days from its from (default: a year before its by) to
 * today or its by, whichever is earlier; one report a goal (report.h,
 * its rows by day, its segment's touchpoints only). For each goal:
 *   current  the rate over all those days, with its 95 % interval
 *   recent   the same over the last GOAL_RECENT_DAYS of them
 *   weeks    every ISO week of the span: its rate, interval and on_loan
 *   on_track recent value >= target: where the rate is now, not where it
 *            was before the work began (current mixes both); null when
 *            the recent days have no on-loan touchpoint
 *   met      recent low >= target: reached beyond chance (implies
 *            on_track); null likewise
 *   days_left  from today to by (0 once by is past: the verdicts are
 *            then those of its last GOAL_RECENT_DAYS)
 * A goal whose from is still to come has no days: its rates are null. */
#ifndef ONLOAN_REPORT_GOALS_H
#define ONLOAN_REPORT_GOALS_H

#include <event2/buffer.h>
#include <stddef.h>

#include "core/config.h"
#include "report/report.h"

#define GOAL_RECENT_DAYS 28

struct goals;

/* A report for each goal of cfg (borrowed), on today's calendar. NULL
 * when out of memory. */
struct goals *goals_new(const struct config *cfg, long today);
void goals_free(struct goals *g);
/* The reports to read (report_read.h), *n of them. */
struct report *const *goals_reports(const struct goals *g, size_t *n);
/* After they are read: each finished. */
enum report_status goals_finish(struct goals *g);
/* The document {"today", "goals": [...]} (report_render.h's JSON
 * flags, a newline after it) appended to out; -1 when out of memory. */
int goals_write(const struct goals *g, struct evbuffer *out);
/* The same as a tree (caller frees), for the CLI's table. */
json_t *goals_json(const struct goals *g);

#endif
