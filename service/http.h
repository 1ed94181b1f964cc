/* http.h: routes, and the one place that turns outcomes into HTTP
 * status codes and JSON bodies. */
#ifndef ONLOAN_HTTP_H
#define ONLOAN_HTTP_H

#include <event2/http.h>
#include <jansson.h>

#include "strbuf.h"

struct server;

/* Bodies up to this much over the limit are read and refused with a
 * JSON 413; larger ones libevent refuses unread. */
#define HTTP_BODY_SLACK_BYTES 65536

int http_start(struct server *srv, struct strbuf *err);

/* Sends body (stolen: the reference is dropped) with the given status. */
void http_reply_json(struct evhttp_request *req, int code, json_t *body);
/* Sends JSON text as it is (already serialised by jansson). */
void http_reply_json_text(struct evhttp_request *req, int code, const char *text, size_t len);
/* Sends {"error": message, "field": field} (field may be NULL). */
void http_reply_error(struct evhttp_request *req, int code, const char *field,
                      const char *message);
/* Reading a request body: a body over the limit is the client's fault
 * (413), memory we lack is ours (503). */
enum http_body { HTTP_BODY_OK, HTTP_BODY_TOO_LARGE, HTTP_BODY_NO_MEMORY };
/* The request body, at most max bytes: *body points to its *len bytes in
 * the request's input buffer (made contiguous, not copied, not
 * NUL-terminated), valid until the request is answered. */
enum http_body http_request_body(struct evhttp_request *req, size_t max, const char **body,
                                 size_t *len);

#endif
