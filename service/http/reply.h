/* reply.h: the one place that turns outcomes into HTTP status codes and
 * JSON bodies, and reads request bodies. Handlers answer through it; the
 * router (router.h) sits above them. */
#ifndef ONLOAN_HTTP_REPLY_H
#define ONLOAN_HTTP_REPLY_H

#include <event2/http.h>
#include <jansson.h>

#include "core/failure.h"

/* Bodies up to this much over the limit are read and refused with a
 * JSON 413; larger ones libevent refuses unread. */
#define HTTP_BODY_SLACK_BYTES 65536

/* evhttp_send_reply, but a HEAD request gets the headers only, with the
 * Content-Length of body (which stays the caller's). Every answer with a
 * body goes through it. */
void http_send_reply(struct evhttp_request *req, int code, const char *reason,
                     struct evbuffer *body);
/* Sends body (stolen: the reference is dropped) with the given status. */
void http_reply_json(struct evhttp_request *req, int code, json_t *body);
/* Sends JSON text as it is (already serialised by jansson). */
void http_reply_json_text(struct evhttp_request *req, int code, const char *text, size_t len);
/* The same for a text in two parts: head, sent from where it is (not
 * copied; done(arg) is called once it is no longer needed, sent or not),
 * then tail (copied). */
void http_reply_json_shared(struct evhttp_request *req, int code, const char *head,
                            size_t head_len, void (*done)(void *arg), void *arg,
                            const char *tail, size_t tail_len);
/* Sends len bytes of body as they are, as content_type (not cached):
 * what is not JSON (a receipt's text, an image). */
void http_reply_bytes(struct evhttp_request *req, int code, const char *content_type,
                      const void *body, size_t len);
/* Sends {"error": message, "field": field} (field may be NULL). */
void http_reply_error(struct evhttp_request *req, int code, const char *field,
                      const char *message);
/* 503 {"error": message, "field": null}: onloand cannot answer now (out
 * of memory, too busy, a backend down); message says what to do. */
void http_reply_unavailable(struct evhttp_request *req, const char *message);
/* 503 {"error": message, "field": null, "reason": failure_name(why)}:
 * a backend failed (why says how) and nothing is wrong with the request. */
void http_reply_failure(struct evhttp_request *req, enum failure why, const char *message);
/* The message of every 503 for onloand's own lack of memory. */
#define HTTP_NO_MEMORY "out of memory"
/* Reading a request body: a body over the limit is the client's fault
 * (413), memory we lack is ours (503). */
enum http_body { HTTP_BODY_OK, HTTP_BODY_TOO_LARGE, HTTP_BODY_NO_MEMORY };
/* The request body, at most max bytes: *body points to its *len bytes in
 * the request's input buffer (made contiguous, not copied, not
 * NUL-terminated), valid until the request is answered. */
enum http_body http_request_body(struct evhttp_request *req, size_t max, const char **body,
                                 size_t *len);
/* http_request_body for a handler: 0, or -1 after answering 413 (naming
 * the limit, limit_name: "limits.max_body_bytes") or 503. */
int http_read_body(struct evhttp_request *req, size_t max, const char *limit_name,
                   const char **body, size_t *len);
/* Whether the request's Content-Type is want (parameters after it, such
 * as "; charset=utf-8", allowed; case-insensitive). */
int http_content_type_is(struct evhttp_request *req, const char *want);

#endif
