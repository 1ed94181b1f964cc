/* healthz.h: GET /healthz, answered at once from what the daemon holds:
 * Redis connection state, pending requests, model reads, kept answers,
 * each catalogue's connections, queue, caches and failures, the ingest
 * engine, compaction and the forget feed. */
#ifndef ONLOAN_HTTP_HEALTHZ_H
#define ONLOAN_HTTP_HEALTHZ_H

#include <event2/http.h>

struct server;

void healthz_handle(struct server *srv, struct evhttp_request *req);

#endif
