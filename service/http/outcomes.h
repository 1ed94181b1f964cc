/* outcomes.h: POST /v1/touchpoints/<id>/events, what the patron did with
 * an answer.
 *
 * Body {"type": shown|click|reserve|borrow|dismiss, "record": ...}; record
 * is required for click, reserve and borrow and must be the wanted title
 * or an alternative the touchpoint showed. 201 {"touchpoint", "event",
 * "type", "record"}; 400 naming the field, 404 for an unknown touchpoint,
 * 422 for a record it did not show, 413 for a body over
 * limits.max_body_bytes. Written to the outcome stream
 * (touchpoint_log.h). */
#ifndef ONLOAN_HTTP_OUTCOMES_H
#define ONLOAN_HTTP_OUTCOMES_H

#include <event2/http.h>

struct server;

/* id: the touchpoint, already checked by the router (params.h). */
void outcomes_handle(struct server *srv, struct evhttp_request *req, const char *id);

#endif
