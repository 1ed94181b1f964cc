/* http.c: evhttp routes and JSON replies; see http.h. */
#include "http.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>

#include "alternatives.h"
#include "loans.h"
#include "log.h"
#include "params.h"
#include "server.h"
#include "touchpoint.h"
#include "ttl_cache.h"

void http_reply_json_text(struct evhttp_request *req, int code, const char *text, size_t len)
{
    struct evbuffer *out = evbuffer_new();
    const char *reason = code < 300 ? "OK" : code < 500 ? "Client Error" : "Server Error";
    if (!out || evbuffer_add(out, text, len) < 0 || evbuffer_add(out, "\n", 1) < 0) {
        if (out)
            evbuffer_free(out);
        evhttp_send_error(req, 503, "out of memory");
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/json; charset=utf-8");
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_send_reply(req, code, reason, out);
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

static void http_healthz(struct server *srv, struct evhttp_request *req)
{
    json_t *cats = json_array();
    for (size_t i = 0; i < srv->cfg->ncatalogues; i++) {
        struct catalogue_stats st;
        catalogue_get_stats(srv->catalogues[i], &st);
        json_array_append_new(cats, json_pack(
            "{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "name", srv->cfg->catalogues[i].name,
            "busy_connections", (json_int_t)st.busy_connections,
            "queued_searches", (json_int_t)st.queued_searches,
            "cached_records", (json_int_t)st.cached_records,
            "cached_searches", (json_int_t)st.cached_searches,
            "searches", (json_int_t)st.searches, "failures", (json_int_t)st.failures,
            "timeouts", (json_int_t)st.timeouts, "cache_hits", (json_int_t)st.cache_hits));
    }
    struct ingest_stats is;
    struct compact_stats cs;
    ingest_get_stats(srv->ingest, &is);
    compact_get_stats(srv->compactor, &cs);
    json_t *ingest = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:I, s:I, s:I, s:I, s:I, s:I}",
                               "requests", (json_int_t)is.requests, "jobs", (json_int_t)is.jobs,
                               "events", (json_int_t)is.events, "new_loans", (json_int_t)is.new_loans,
                               "repeats", (json_int_t)is.repeats, "duplicates", (json_int_t)is.duplicates,
                               "stale", (json_int_t)is.stale, "pending_pairs", (json_int_t)is.pending_pairs,
                               "pending_counts", is.pending_counts,
                               "waiting_jobs", (json_int_t)is.waiting_jobs,
                               "running_jobs", (json_int_t)is.running_jobs,
                               "flushes", (json_int_t)is.flushes,
                               "flush_failures", (json_int_t)is.flush_failures,
                               "flush_waits", (json_int_t)is.flush_waits,
                               "write_conflicts", (json_int_t)is.write_conflicts);
    json_t *compaction = json_pack("{s:I, s:I, s:I, s:I}", "rounds", (json_int_t)cs.rounds,
                                   "lists", (json_int_t)cs.records, "conflicts", (json_int_t)cs.conflicts,
                                   "failures", (json_int_t)cs.failures);
    struct forget_feed_stats fs;
    forget_feed_get_stats(srv->forget_feed, &fs);
    json_t *feed = json_pack("{s:b, s:I, s:I, s:I}", "listening",
                             forget_feed_listening(srv->forget_feed), "heard", (json_int_t)fs.heard,
                             "subscribed", (json_int_t)fs.subscribed, "refused",
                             (json_int_t)fs.refused);
    http_reply_json(req, 200, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o}",
                                        "status", "ok",
                                        "redis", store_connected(srv->store) && store_connected(srv->bulk_store)
                                                 ? "connected" : "disconnected",
                                        "pending_requests", (json_int_t)srv->pending_requests,
                                        "requests", (json_int_t)srv->requests,
                                        "model_reads", (json_int_t)model_reads_in_flight(srv->model),
                                        "kept_answers", (json_int_t)ttl_cache_size(srv->answers),
                                        "kept_patron_answers",
                                        (json_int_t)ttl_cache_size(srv->patron_answers),
                                        "catalogues", cats, "ingest", ingest,
                                        "compaction", compaction, "forget_feed", feed));
}

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
            http_healthz(srv, req);
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

int http_start(struct server *srv, struct strbuf *err)
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
