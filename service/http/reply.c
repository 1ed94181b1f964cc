/* reply.c: JSON replies and request bodies; see reply.h. */
#include "http/reply.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/strbuf.h"

void http_send_reply(struct evhttp_request *req, int code, const char *reason,
                     struct evbuffer *body)
{
    if (body && evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        /* RFC 9110 9.3.2: the GET's headers, its Content-Length too, and
         * no content. libevent 2.1 would write the body after them: a
         * keep-alive client would read it as the next answer, and one
         * that closes after the headers cuts the write short. */
        struct evkeyvalq *h = evhttp_request_get_output_headers(req);
        char len[32];
        snprintf(len, sizeof len, "%zu", evbuffer_get_length(body));
        if (!evhttp_find_header(h, "Content-Length"))
            evhttp_add_header(h, "Content-Length", len);
        body = NULL;
    }
    evhttp_send_reply(req, code, reason, body);
}

/* out, JSON text to which its last line's end is added here, as the
 * reply; out is freed. A 503 when memory is out. */
static void send_json(struct evhttp_request *req, int code, struct evbuffer *out)
{
    const char *reason = code < 300 ? "OK" : code < 500 ? "Client Error" : "Server Error";
    if (evbuffer_add(out, "\n", 1) < 0) {
        evbuffer_free(out);
        evhttp_send_error(req, 503, "out of memory");
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/json; charset=utf-8");
    evhttp_add_header(h, "Cache-Control", "no-store");
    http_send_reply(req, code, reason, out);
    evbuffer_free(out);
}

void http_reply_json_text(struct evhttp_request *req, int code, const char *text, size_t len)
{
    struct evbuffer *out = evbuffer_new();
    if (!out || evbuffer_add(out, text, len) < 0) {
        if (out)
            evbuffer_free(out);
        evhttp_send_error(req, 503, "out of memory");
        return;
    }
    send_json(req, code, out);
}

struct shared_done {
    void (*done)(void *arg);
    void *arg;
};

static void shared_cleanup(const void *data, size_t len, void *extra)
{
    (void)data;
    (void)len;
    struct shared_done *d = extra;
    d->done(d->arg);
    free(d);
}

void http_reply_json_shared(struct evhttp_request *req, int code, const char *head,
                            size_t head_len, void (*done)(void *arg), void *arg,
                            const char *tail, size_t tail_len)
{
    struct evbuffer *out = evbuffer_new();
    struct shared_done *d = malloc(sizeof *d);
    if (d)
        *d = (struct shared_done){done, arg};
    if (!out || !d || evbuffer_add_reference(out, head, head_len, shared_cleanup, d) < 0) {
        if (out)
            evbuffer_free(out);
        free(d);
        done(arg);
        evhttp_send_error(req, 503, "out of memory");
        return;
    }
    if (evbuffer_add(out, tail, tail_len) < 0) {
        evbuffer_free(out);             /* calls done */
        evhttp_send_error(req, 503, "out of memory");
        return;
    }
    send_json(req, code, out);
}

void http_reply_bytes(struct evhttp_request *req, int code, const char *content_type,
                      const void *body, size_t len)
{
    struct evbuffer *out = evbuffer_new();
    if (!out || evbuffer_add(out, body, len) < 0) {
        if (out)
            evbuffer_free(out);
        evhttp_send_error(req, 503, "out of memory");
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", content_type);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    http_send_reply(req, code, code < 300 ? "OK" : "Error", out);
    evbuffer_free(out);
}

void http_reply_json(struct evhttp_request *req, int code, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) {
        evhttp_send_error(req, 503, "out of memory");
        return;
    }
    http_reply_json_text(req, code, text, strlen(text));
    free(text);
}

void http_reply_error(struct evhttp_request *req, int code, const char *field,
                      const char *message)
{
    json_t *body = json_pack("{s:s, s:s?}", "error", message, "field", field);
    http_reply_json(req, code, body ? body : json_object());
}

enum http_body http_request_body(struct evhttp_request *req, size_t max, const char **body,
                                 size_t *len)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    if (n > max)
        return HTTP_BODY_TOO_LARGE;
    /* one chain already (the usual case) costs nothing; else libevent
     * joins the chains, in the buffer, once */
    const unsigned char *data = n ? evbuffer_pullup(in, -1) : (const unsigned char *)"";
    if (!data)
        return HTTP_BODY_NO_MEMORY;
    *body = (const char *)data;
    *len = n;
    return HTTP_BODY_OK;
}


int http_read_body(struct evhttp_request *req, size_t max, const char *limit_name,
                   const char **body, size_t *len)
{
    struct strbuf msg = {0};
    switch (http_request_body(req, max, body, len)) {
    case HTTP_BODY_OK:
        return 0;
    case HTTP_BODY_TOO_LARGE:
        if (strbuf_printf(&msg, "body larger than %s", limit_name) < 0)
            http_reply_error(req, 413, "body", "body too large");
        else
            http_reply_error(req, 413, "body", msg.buf);
        strbuf_free(&msg);
        return -1;
    case HTTP_BODY_NO_MEMORY:
        break;
    }
    http_reply_unavailable(req, HTTP_NO_MEMORY);
    return -1;
}

int http_content_type_is(struct evhttp_request *req, const char *want)
{
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    size_t n = strlen(want);
    return ct && strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

void http_reply_failure(struct evhttp_request *req, enum failure why, const char *message)
{
    json_t *body = json_pack("{s:s, s:n, s:s}", "error", message, "field", "reason",
                             failure_name(why));
    http_reply_json(req, 503, body ? body : json_object());
}

void http_reply_unavailable(struct evhttp_request *req, const char *message)
{
    http_reply_error(req, 503, NULL, message);
}
