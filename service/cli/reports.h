/* reports.h: onloan report, the reports of the API from the same rollups
 * and the same code (report/report.h, report_read.h, report_render.h,
 * goals.h).
 *
 *   onloan report [--from D] [--to D] [--group KEYS] [--format table|csv|json]
 *   onloan report --goals [--format table|json]
 *
 * --from, --to, --group as the API's from, to, group (the same defaults,
 * the same limits: reports.max_days, reports.max_rows); --format json and
 * csv print exactly what GET /v1/reports/outcomes answers for the same
 * days, table (the default) aligned columns with the rates as percentages
 * and their 95 % intervals, and the total. --goals prints the goals
 * report, as GET /v1/reports/goals or as a table.
 *
 * Exit status: 0 printed; 1 Redis could not be read, or out of memory, or
 * standard output failed; 2 bad usage (an option or a value, a span or a
 * report too large, each named as the API names it). */
#ifndef ONLOAN_CLI_REPORTS_H
#define ONLOAN_CLI_REPORTS_H

#include "core/config.h"

/* argv: the arguments after "report". */
int reports_main(const struct config *cfg, int argc, char **argv);

#endif
