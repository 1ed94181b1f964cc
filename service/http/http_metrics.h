/* http_metrics.h: the HTTP face's own counters, for /metrics
 * (metrics.h): requests by route and status with their durations,
 * answers by channel, status and experiment arm, loan events by type.
 * (What other modules count, they keep and /metrics asks them.)
 *
 * Every label is from a set fixed when onloand starts: the routes are
 * the router's patterns (router.h: never a raw path, so ids and unknown
 * paths cannot multiply the series), statuses are 100..599, channels
 * and answer statuses are enums, the arms are the config's. Counting
 * allocates nothing: it cannot fail. Plain uint64 counters, on the one
 * event loop. */
#ifndef ONLOAN_HTTP_HTTP_METRICS_H
#define ONLOAN_HTTP_HTTP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/failure.h"
#include "core/prom_text.h"
#include "core/strbuf.h"
#include "ingest/loan_event.h"

/* The upper bounds (seconds) of the request duration histograms. */
#define HTTP_METRICS_DURATION_BOUNDS \
    {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

/* What an answer of /v1/alternatives said of the wanted title. */
enum answer_status { ANSWER_AVAILABLE, ANSWER_ON_LOAN, ANSWER_UNKNOWN, NANSWER_STATUSES };
/* ANSWER_UNKNOWN for a name not known. */
enum answer_status answer_status_of(const char *name);

struct http_metrics;

/* routes: the route labels (the array is copied, the strings borrowed:
 * they must outlive m), index as http_metrics_request takes it; cfg: its experiments (borrowed).
 * NULL when out of memory. */
struct http_metrics *http_metrics_new(const char *const *routes, size_t nroutes,
                                      const struct config *cfg);
void http_metrics_free(struct http_metrics *m);

/* A request of routes[route] answered code in seconds. A route or code
 * out of range counts under route 0 / code 0 would be a bug: ignored. */
void http_metrics_request(struct http_metrics *m, size_t route, int code, double seconds);
/* An answer of /v1/alternatives (200): its channel, status, the
 * experiment and arm it was in (NULL, NULL outside one: pointers into
 * the config given), and what it was degraded by. */
void http_metrics_answer(struct http_metrics *m, enum channel channel, enum answer_status status,
                         const struct experiment_config *ex, const struct arm_config *arm,
                         failure_set degraded);
/* Loan event types (loan_event.h), for counting them. */
#define HTTP_METRICS_LOAN_TYPES (LOAN_EVENT_HOLD_CANCELLED + 1)
/* A POST /v1/loans batch the engine took (202): n events of type. */
void http_metrics_loans_taken(struct http_metrics *m, enum loan_event_type type, size_t n);
/* A batch refused: why is FAILURE_NONE for invalid events (a 400),
 * else the failure of its 503. */
void http_metrics_loans_refused(struct http_metrics *m, enum failure why);

/* Appends the families above in the text format (prom_text.h): -1
 * when out of memory. */
int http_metrics_write(const struct http_metrics *m, struct strbuf *out);

#endif
