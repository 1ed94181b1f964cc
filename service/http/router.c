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
#include "http/metrics.h"
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

/* The routes, as /metrics labels them: a route's pattern, never the
 * path asked (ids would make a series each); then each asset's path
 * (a fixed set), from ROUTE_ASSETS on. */
enum route {
    ROUTE_OTHER,
    ROUTE_HEALTHZ,
    ROUTE_METRICS,
    ROUTE_ALTERNATIVES,
    ROUTE_QR,
    ROUTE_LOANS,
    ROUTE_REPORTS_OUTCOMES,
    ROUTE_REPORTS_GOALS,
    ROUTE_PATRONS,              /* the rest are not matched by the whole path */
    ROUTE_TOUCHPOINT_EVENTS,
    ROUTE_ASSETS
};
static const char *const route_patterns[ROUTE_ASSETS] = {
    "other", "/healthz", "/metrics", "/v1/alternatives", "/v1/qr", "/v1/loans",
    "/v1/reports/outcomes", "/v1/reports/goals", "/v1/patrons/{patron}",
    "/v1/touchpoints/{touchpoint}/events",
};
static const char patrons_prefix[] = "/v1/patrons/";

/* path's route (NULL: a URI evhttp could not parse: other). */
static size_t route_of(const char *path)
{
    size_t n;
    if (!path)
        return ROUTE_OTHER;
    for (size_t r = ROUTE_OTHER + 1; r < ROUTE_PATRONS; r++)
        if (strcmp(path, route_patterns[r]) == 0)
            return r;
    if (strncmp(path, patrons_prefix, sizeof patrons_prefix - 1) == 0)
        return ROUTE_PATRONS;
    if (touchpoint_in_path(path, &n))
        return ROUTE_TOUCHPOINT_EVENTS;
    const struct asset *asset = assets_find(path);
    return asset ? ROUTE_ASSETS + (size_t)(asset - assets) : ROUTE_OTHER;
}

static const char *request_path(struct evhttp_request *req)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    return uri ? evhttp_uri_get_path(uri) : NULL;
}

/* A GET (and HEAD, when head) route: 1 to go on, else 0 after a 405. */
static int method_is_get(struct evhttp_request *req, int head)
{
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    if (method == EVHTTP_REQ_GET || (head && method == EVHTTP_REQ_HEAD))
        return 1;
    http_reply_error(req, 405, "method", "use GET");
    return 0;
}

static int method_is(struct evhttp_request *req, enum evhttp_cmd_type want, const char *use)
{
    if (evhttp_request_get_command(req) == want)
        return 1;
    http_reply_error(req, 405, "method", use);
    return 0;
}

static void http_route(struct evhttp_request *req, void *arg)
{
    struct server *srv = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = request_path(req);
    srv->requests++;
    cors_headers(srv->cfg, req);
    if (!path) {
        http_reply_error(req, 400, "path", "malformed request URI");
        return;
    }
    if (evhttp_request_get_command(req) == EVHTTP_REQ_OPTIONS) {
        cors_preflight(srv->cfg, req);
        return;
    }
    size_t route = route_of(path), n;
    const char *query = evhttp_uri_get_query(uri);
    switch (route) {
    case ROUTE_OTHER:
        http_reply_error(req, 404, "path", "no such endpoint");
        return;
    case ROUTE_HEALTHZ:
        if (method_is_get(req, 1))
            healthz_handle(srv, req);
        return;
    case ROUTE_METRICS:
        if (method_is_get(req, 1))
            metrics_handle(srv, req);
        return;
    case ROUTE_ALTERNATIVES:
        if (method_is_get(req, 0))
            alternatives_handle(srv, req, query);
        return;
    case ROUTE_QR:
        if (method_is_get(req, 0))
            qr_handle(srv, req, query);
        return;
    case ROUTE_LOANS:
        if (method_is(req, EVHTTP_REQ_POST, "use POST"))
            loans_handle(srv, req);
        return;
    case ROUTE_REPORTS_OUTCOMES:
        if (method_is_get(req, 0))
            reports_outcomes_handle(srv, req, query);
        return;
    case ROUTE_REPORTS_GOALS:
        if (method_is_get(req, 0))
            reports_goals_handle(srv, req, query);
        return;
    case ROUTE_PATRONS: {
        const char *patron = path + sizeof patrons_prefix - 1;
        if (!method_is(req, EVHTTP_REQ_DELETE, "use DELETE"))
            return;
        if (!*patron || strchr(patron, '/'))
            http_reply_error(req, 400, "patron", "must be /v1/patrons/<patron id>");
        else
            patrons_forget_handle(srv, req, patron);
        return;
    }
    case ROUTE_TOUCHPOINT_EVENTS: {
        char id[TOUCHPOINT_ID_MAX_BYTES + 1];
        const char *tp = touchpoint_in_path(path, &n);
        if (!method_is(req, EVHTTP_REQ_POST, "use POST"))
            return;
        if (params_touchpoint_id(tp, n, id) < 0)
            http_reply_error(req, 400, "touchpoint", "malformed touchpoint id");
        else
            outcomes_handle(srv, req, id);
        return;
    }
    default:
        if (method_is_get(req, 1))
            assets_handle(req, &assets[route - ROUTE_ASSETS]);
        return;
    }
}

/* A request's answer was written (front.h): counted under its route. */
static void http_answered(struct evhttp_request *req, int code, double seconds, void *arg)
{
    struct server *srv = arg;
    http_metrics_request(srv->http_metrics, route_of(request_path(req)), code, seconds);
}

/* The route labels of /metrics: the patterns, then the assets' paths. */
static struct http_metrics *http_metrics_for_routes(const struct config *cfg)
{
    const char **labels = calloc(ROUTE_ASSETS + nassets, sizeof *labels);
    if (!labels)
        return NULL;
    for (size_t r = 0; r < ROUTE_ASSETS; r++)
        labels[r] = route_patterns[r];
    for (size_t a = 0; a < nassets; a++)
        labels[ROUTE_ASSETS + a] = assets[a].path;
    struct http_metrics *m = http_metrics_new(labels, ROUTE_ASSETS + nassets, cfg);
    free(labels);
    return m;
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
    if (!(srv->http_metrics = http_metrics_for_routes(cfg))) {
        strbuf_puts(err, "out of memory");
        return -1;
    }
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
        .answered = http_answered,
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
