/* qr.c: GET /v1/qr; see qr.h. The query is checked, the touchpoint read
 * back and its token checked, then the image made (qr_image.h). */
#include "http/qr.h"

#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/qr_image.h"
#include "core/token.h"
#include "http/params.h"
#include "http/reply.h"
#include "redis/touchpoint_log.h"
#include "server.h"

/* One GET, from the touchpoint's read to the image. */
struct qr_request {
    struct server *srv;
    struct evhttp_request *req;
    char touchpoint[TOUCHPOINT_ID_MAX_BYTES + 1];
    char token[TOKEN_MAX_BYTES + 1];
    int png;                    /* format=png; else SVG */
};

static void qr_request_free(struct qr_request *q)
{
    server_release(q->srv);
    free(q);
}

static void send_image(struct qr_request *q, const char *link)
{
    struct strbuf img = {0};
    enum qr_image_result rc = q->png ? qr_image_png(link, &img) : qr_image_svg(link, &img);
    switch (rc) {
    case QR_IMAGE_OK:
        http_reply_bytes(q->req, 200, q->png ? "image/png" : "image/svg+xml; charset=utf-8",
                         img.buf, img.len);
        break;
    case QR_IMAGE_NO_MEMORY:
        http_reply_unavailable(q->req, HTTP_NO_MEMORY);
        break;
    case QR_IMAGE_TOO_LONG:
    case QR_IMAGE_FAILED:
        log_msg(LOG_WARN, "no QR code of the reservation link of touchpoint %s (%zu bytes)",
                q->touchpoint, strlen(link));
        http_reply_unavailable(q->req, "the reservation link cannot be made a QR code");
        break;
    }
    strbuf_free(&img);
}

static void touchpoint_read(redisReply *reply, enum failure error, void *arg)
{
    struct qr_request *q = arg;
    struct server *srv = q->srv;
    struct touchpoint_entry e;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        http_reply_failure(q->req, error ? error : FAILURE_REDIS_UNAVAILABLE,
                           "the touchpoint log is not reachable; try again");
        qr_request_free(q);
        return;
    }
    int found = touchpoint_entry_parse(reply, &e);
    if (found == 0) {
        http_reply_error(q->req, 404, "touchpoint", "no such touchpoint");
        qr_request_free(q);
        return;
    }
    if (found < 0) {
        http_reply_unavailable(q->req, "unexpected touchpoint log entry");
        qr_request_free(q);
        return;
    }
    struct token_subject subject = {q->touchpoint, e.record, e.alternatives};
    switch (token_check(&srv->token_key, &subject, q->token, (long long)time(NULL))) {
    case TOKEN_OK:
        break;
    case TOKEN_EXPIRED:
        http_reply_error(q->req, 403, "token", "expired: this answer's code can no longer "
                                                "be shown");
        qr_request_free(q);
        return;
    case TOKEN_MALFORMED:
    case TOKEN_FORGED:
        http_reply_error(q->req, 403, "token", "not this touchpoint's token");
        qr_request_free(q);
        return;
    }
    int cat = e.catalogue ? server_catalogue_index(srv, e.catalogue) : -1;
    if (cat < 0) {
        http_reply_error(q->req, 404, "touchpoint",
                         "this touchpoint's catalogue is no longer configured");
        qr_request_free(q);
        return;
    }
    struct strbuf link = {0};
    if (link_reserve_url(srv->links[cat], e.record, &link) < 0 || !link.len)
        http_reply_unavailable(q->req, "the catalogue's link plugin made no reservation link");
    else
        send_image(q, link.buf);
    strbuf_free(&link);
    qr_request_free(q);
}

void qr_handle(struct server *srv, struct evhttp_request *req, const char *query)
{
    static const char *const known[] = {"touchpoint", "token", "format", NULL};
    struct evkeyvalq params;
    struct param_error perr;
    if (params_split_strict(query, known, &params, &perr) < 0) {
        evhttp_clear_headers(&params);
        http_reply_error(req, 400, perr.field, perr.message);
        return;
    }
    const char *touchpoint = evhttp_find_header(&params, "touchpoint");
    const char *token = evhttp_find_header(&params, "token");
    const char *format = evhttp_find_header(&params, "format");
    struct qr_request q = {.srv = srv, .req = req};
    int status = 0;
    const char *field = NULL, *message = NULL;
    if (!touchpoint || params_touchpoint_id(touchpoint, strlen(touchpoint), q.touchpoint) < 0) {
        status = 400, field = "touchpoint";
        message = touchpoint ? "malformed touchpoint id" : "is required";
    } else if (format && strcmp(format, "svg") != 0 && strcmp(format, "png") != 0) {
        status = 400, field = "format", message = "must be svg or png";
    } else if (!token || strlen(token) > TOKEN_MAX_BYTES) {
        status = 403, field = "token", message = token ? "not this touchpoint's token"
                                                       : "is required: the answer's "
                                                         "touchpoint_token";
    } else {
        memcpy(q.token, token, strlen(token) + 1);
        q.png = format && strcmp(format, "png") == 0;
    }
    evhttp_clear_headers(&params);
    if (status) {
        http_reply_error(req, status, field, message);
        return;
    }
    if (server_admit(srv, req) < 0)
        return;
    struct qr_request *r = malloc(sizeof *r);
    struct rcmd cmds[TOUCHPOINT_READ_CMDS] = {{0}};
    struct redis_op *op = NULL;
    touchpoint_batch_flush(srv->touchpoints);  /* a touchpoint of this pass is read back too */
    if (r) {
        *r = q;
        if (touchpoint_log_read(srv->cfg, r->touchpoint, cmds) == 0)
            op = redis_exec(srv->redis, cmds, TOUCHPOINT_READ_CMDS, touchpoint_read, r);
    }
    for (size_t i = 0; i < TOUCHPOINT_READ_CMDS; i++)
        rcmd_free(&cmds[i]);
    if (!op) {
        http_reply_unavailable(req, HTTP_NO_MEMORY);
        if (r)
            qr_request_free(r);
        else
            server_release(srv);
    }
}
