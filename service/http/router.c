/* router.c: one evhttp callback that routes every request; see router.h. */
#include "http/router.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "http/alternatives.h"
#include "http/assets.h"
#include "http/cors.h"
#include "http/healthz.h"
#include "http/loans.h"
#include "http/outcomes.h"
#include "http/params.h"
#include "http/patrons.h"
#include "http/qr.h"
#include "http/reply.h"
#include "http/reports.h"
#include "server.h"

/* /v1/touchpoints/<id>/events: where <id> is in path (*n bytes), or NULL
 * for another path. */
static const char *touchpoint_in_path(const char *path, size_t *n)
{
    static const char prefix[] = "/v1/touchpoints/";
    static const char suffix[] = "/events";
    size_t len = strlen(path), plen = sizeof prefix - 1, slen = sizeof suffix - 1;
    if (len <= plen + slen || strncmp(path, prefix, plen) != 0 ||
        strcmp(path + len - slen, suffix) != 0)
        return NULL;
    *n = len - plen - slen;
    return path + plen;
}

static void http_route(struct evhttp_request *req, void *arg)
{
    struct server *srv = arg;
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    srv->requests++;
    cors_headers(srv->cfg, req);
    if (!path) {
        http_reply_error(req, 400, "path", "malformed request URI");
        return;
    }
    if (method == EVHTTP_REQ_OPTIONS) {
        cors_preflight(srv->cfg, req);
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
    if (strcmp(path, "/v1/qr") == 0) {
        if (method != EVHTTP_REQ_GET)
            http_reply_error(req, 405, "method", "use GET");
        else
            qr_handle(srv, req, evhttp_uri_get_query(uri));
        return;
    }
    if (strcmp(path, "/v1/loans") == 0) {
        if (method != EVHTTP_REQ_POST)
            http_reply_error(req, 405, "method", "use POST");
        else
            loans_handle(srv, req);
        return;
    }
    if (strcmp(path, "/v1/reports/outcomes") == 0 || strcmp(path, "/v1/reports/goals") == 0) {
        if (method != EVHTTP_REQ_GET)
            http_reply_error(req, 405, "method", "use GET");
        else if (path[12] == 'o')
            reports_outcomes_handle(srv, req, evhttp_uri_get_query(uri));
        else
            reports_goals_handle(srv, req, evhttp_uri_get_query(uri));
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
            patrons_forget_handle(srv, req, patron);
        return;
    }
    size_t n;
    const char *tp = touchpoint_in_path(path, &n);
    if (tp) {
        char id[TOUCHPOINT_ID_MAX_BYTES + 1];
        if (method != EVHTTP_REQ_POST)
            http_reply_error(req, 405, "method", "use POST");
        else if (params_touchpoint_id(tp, n, id) < 0)
            http_reply_error(req, 400, "touchpoint", "malformed touchpoint id");
        else
            outcomes_handle(srv, req, id);
        return;
    }
    const struct asset *asset = assets_find(path);
    if (asset) {
        if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD)
            http_reply_error(req, 405, "method", "use GET");
        else
            assets_handle(req, asset);
        return;
    }
    http_reply_error(req, 404, "path", "no such endpoint");
}

/* The fronts (http/front.h): listen, for the open network, takes bodies
 * up to limits.max_body_bytes and the per-client rate limit (not on
 * /healthz); listen_ingest, if set, takes every route too, with bodies up
 * to ingest.max_body_bytes: libevent reads a body before any handler, so
 * before a key is checked, and a large one only where the operator
 * lets clients in. */
int router_start(struct server *srv, struct strbuf *err)
{
    const struct config *cfg = srv->cfg;
    struct front_config fc = {
        .name = "listen",
        .host = cfg->listen_host,
        .port = cfg->listen_port,
        .max_connections = srv->max_connections,
        .backlog = cfg->listen_backlog,
        .max_body = (size_t)cfg->max_body_bytes,
        .max_header_bytes = cfg->max_header_bytes,
        .idle_timeout_s = cfg->idle_timeout_s,
        .read_timeout_ms = cfg->read_timeout_ms,
        .rate = srv->rate,
        .unlimited_path = "/healthz",
    };
    if (!(srv->front = front_new(srv->base, &fc, http_route, srv, err)))
        return -1;
    log_msg(LOG_INFO, "listening on %s:%d", cfg->listen_host, cfg->listen_port);
    if (!cfg->listen_ingest_host)
        return 0;
    fc.name = "listen_ingest";
    fc.host = cfg->listen_ingest_host;
    fc.port = cfg->listen_ingest_port;
    fc.max_body = (size_t)(cfg->max_body_bytes > cfg->max_loans_body_bytes
                               ? cfg->max_body_bytes : cfg->max_loans_body_bytes);
    fc.rate = NULL;
    if (!(srv->ingest_front = front_new(srv->base, &fc, http_route, srv, err)))
        return -1;
    log_msg(LOG_INFO, "listening on %s:%d for ingest", cfg->listen_ingest_host,
            cfg->listen_ingest_port);
    return 0;
}
