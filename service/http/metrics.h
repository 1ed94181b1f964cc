/* metrics.h: GET /metrics, in Prometheus' text format (core/prom_text.h).
 *
 * What the HTTP face counts itself (http_metrics.h: requests by route
 * and status, their durations, answers by channel and experiment arm,
 * loan events by type), and what each module keeps and /healthz shows
 * too: the catalogues, the Redis clients, the caches, the spool, the
 * ingest engine, the listeners; with the build's version and the
 * daemon's start time. Read at the scrape, from the counters the loop
 * keeps; nothing waits for a backend. No patron data is in any of it:
 * the labels are routes, statuses, config names and enums. */
#ifndef ONLOAN_HTTP_METRICS_H
#define ONLOAN_HTTP_METRICS_H

#include <event2/http.h>

#include "core/strbuf.h"

struct server;

/* The text of every metric family, appended to out: -1 when out of
 * memory. */
int metrics_text(struct server *srv, struct strbuf *out);
/* Answers a GET or HEAD of /metrics. */
void metrics_handle(struct server *srv, struct evhttp_request *req);

#endif
