/* loans.h: POST /v1/loans, loan events from the library system (role
 * ingest).
 *
 * One JSON object, an array of up to ingest.max_events_per_request, or
 * the same as CSV / JSON lines (Content-Type text/csv,
 * application/x-ndjson). 202 {"taken","new","repeats","duplicates",
 * "stale"}; a bad event is a 400 naming its field and index, and then
 * nothing of the request is applied (nor when the daemon runs out of
 * memory reading them: a 503). 401/403 without a key with the role. */
#ifndef ONLOAN_HTTP_LOANS_H
#define ONLOAN_HTTP_LOANS_H

#include <event2/http.h>
#include <jansson.h>

#include "ingest/loan_event.h"

struct server;

void loans_handle(struct server *srv, struct evhttp_request *req);
/* The answer to a body whose events were not taken (st is not
 * LOANS_OK): *code 400 and the problems (n of them, the first
 * MAX_REPORTED_PROBLEMS listed) when the events are at fault; 503 and
 * {"error": "out of memory"} when we are, whatever was found before.
 * Returns the JSON body (NULL when even that cannot be built). */
#define MAX_REPORTED_PROBLEMS 20
json_t *loans_refusal(enum loans_status st, const struct loan_problem *probs, size_t n,
                      int *code);

#endif
