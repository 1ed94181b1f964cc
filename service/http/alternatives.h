/* alternatives.h: one GET /v1/alternatives request, start to end.
 *
 * The request is one struct that travels through the callbacks and is
 * freed in exactly one place (alt_request_finish), whichever path it took:
 * answered, timed out, catalogue or Redis down. Late callbacks cannot
 * reach it: everything it started is cancelled there. */
#ifndef ONLOAN_HTTP_ALTERNATIVES_H
#define ONLOAN_HTTP_ALTERNATIVES_H

#include <event2/http.h>

struct server;

/* patron= is taken only with an API key of role personalise (auth.h):
 * else a 401 naming patron. Without it no key is asked for. */
void alternatives_handle(struct server *srv, struct evhttp_request *req, const char *query);

#endif
