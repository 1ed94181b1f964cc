/* router.c: one evhttp callback that routes every request; see router.h. */
#include "http/router.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "http/alternatives.h"
#include "http/healthz.h"
#include "http/loans.h"
#include "http/params.h"
#include "http/reply.h"
#include "http/touchpoint.h"
#include "server.h"

/* /v1/touchpoints/<id>/events: copies <id> out of path, or returns NULL. */
static char *touchpoint_id_from_path(const char *path)
{
    static const char prefix[] = "/v1/touchpoints/";
    static const char suffix[] = "/events";
    size_t n = strlen(path), plen = sizeof prefix - 1, slen = sizeof suffix - 1;
    if (n <= plen + slen || strncmp(path, prefix, plen) != 0 ||
        strcmp(path + n - slen, suffix) != 0)
        return NULL;
    return strndup(path + plen, n - plen - slen);
}

static void http_route(struct evhttp_request *req, void *arg)
{
    struct server *srv = arg;
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    srv->requests++;
    if (!path) {
        http_reply_error(req, 400, "path", "malformed request URI");
        return;
    }
    if (strcmp(path, "/healthz") == 0) {
        if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD)
            http_reply_error(req, 405, "method", "use GET");
        else
            healthz_handle(srv, req);
        return;
    }
    if (strcmp(path, "/v1/alternatives") == 0) {
        if (method != EVHTTP_REQ_GET)
            http_reply_error(req, 405, "method", "use GET");
        else
            alternatives_handle(srv, req, evhttp_uri_get_query(uri));
        return;
    }
    if (strcmp(path, "/v1/loans") == 0) {
        if (method != EVHTTP_REQ_POST)
            http_reply_error(req, 405, "method", "use POST");
        else
            loans_handle(srv, req);
        return;
    }
    static const char patrons[] = "/v1/patrons/";
    if (strncmp(path, patrons, sizeof patrons - 1) == 0) {
        const char *patron = path + sizeof patrons - 1;
        if (method != EVHTTP_REQ_DELETE)
            http_reply_error(req, 405, "method", "use DELETE");
        else if (!*patron || strchr(patron, '/'))
            http_reply_error(req, 400, "patron", "must be /v1/patrons/<patron id>");
        else
            patron_forget_handle(srv, req, patron);
        return;
    }
    char *tp = touchpoint_id_from_path(path);
    if (tp) {
        if (method != EVHTTP_REQ_POST)
            http_reply_error(req, 405, "method", "use POST");
        else if (!params_valid_touchpoint(tp))
            http_reply_error(req, 400, "touchpoint", "malformed touchpoint id");
        else
            touchpoint_event_handle(srv, req, tp);
        free(tp);
        return;
    }
    http_reply_error(req, 404, "path", "no such endpoint");
}

int router_start(struct server *srv, struct strbuf *err)
{
    const struct config *cfg = srv->cfg;
    srv->http = evhttp_new(srv->base);
    if (!srv->http) {
        strbuf_puts(err, "cannot create the HTTP server");
        return -1;
    }
    /* Bodies a little over max_body_bytes are ours to refuse with a JSON
     * 413; libevent refuses larger ones before reading them (it reads a
     * body before any handler, so before the key is checked). */
    int max_body = cfg->max_body_bytes > cfg->max_loans_body_bytes ? cfg->max_body_bytes
                                                                    : cfg->max_loans_body_bytes;
    evhttp_set_max_body_size(srv->http, (ev_ssize_t)max_body + HTTP_BODY_SLACK_BYTES);
    evhttp_set_max_headers_size(srv->http, (ev_ssize_t)cfg->max_header_bytes);
    evhttp_set_timeout(srv->http, cfg->idle_timeout_s);
    evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
                                          EVHTTP_REQ_POST | EVHTTP_REQ_DELETE);
    evhttp_set_gencb(srv->http, http_route, srv);
    srv->listener = evhttp_bind_socket_with_handle(srv->http, cfg->listen_host,
                                                   (ev_uint16_t)cfg->listen_port);
    if (!srv->listener) {
        strbuf_printf(err, "cannot listen on %s:%d", cfg->listen_host, cfg->listen_port);
        return -1;
    }
    log_msg(LOG_INFO, "listening on %s:%d", cfg->listen_host, cfg->listen_port);
    return 0;
}
