/* reports.h: GET /v1/reports/outcomes and GET /v1/reports/goals, for API
 * keys with the role report (auth.h).
 *
 * outcomes?from=YYYY-MM-DD&to=YYYY-MM-DD&group=day,branch&format=json|csv:
 * report/report.h's rows, written by report/report_render.h; goals (no
 * parameters): report/goals.h. Both read the rollups (report_read.h) and
 * count as pending requests (server_admit) while they do.
 *
 * 200 the report; 400 a parameter named (a date that is not one, to
 * before from, more than reports.max_days days, an unknown or repeated
 * group key or parameter, a format other than json or csv, more than
 * reports.max_rows rows); 401/403 without a key with the role; 503 Redis
 * failed (reason), too many requests pending, or out of memory. */
#ifndef ONLOAN_HTTP_REPORTS_H
#define ONLOAN_HTTP_REPORTS_H

#include <event2/http.h>

struct server;

void reports_outcomes_handle(struct server *srv, struct evhttp_request *req, const char *query);
void reports_goals_handle(struct server *srv, struct evhttp_request *req, const char *query);

#endif
