/* cors.c: see cors.h. */
#include "http/cors.h"

#include <event2/keyvalq_struct.h>
#include <string.h>

#include "http/reply.h"

static const char *allowed_origin(const struct config *cfg, struct evhttp_request *req)
{
    const char *origin = evhttp_find_header(evhttp_request_get_input_headers(req), "Origin");
    for (size_t i = 0; origin && i < cfg->ncors_origins; i++)
        if (strcmp(origin, cfg->cors_origins[i]) == 0)
            return cfg->cors_origins[i];
    return NULL;
}

void cors_headers(const struct config *cfg, struct evhttp_request *req)
{
    const char *origin = allowed_origin(cfg, req);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    if (cfg->ncors_origins)
        evhttp_add_header(out, "Vary", "Origin");
    if (origin)
        evhttp_add_header(out, "Access-Control-Allow-Origin", origin);
}

void cors_preflight(const struct config *cfg, struct evhttp_request *req)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    if (!evhttp_find_header(in, "Access-Control-Request-Method")) {
        http_reply_error(req, 405, "method", "OPTIONS is only for CORS preflights");
        return;
    }
    if (!allowed_origin(cfg, req)) {
        http_reply_error(req, 403, "origin", "this origin is not in http.cors_origins");
        return;
    }
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    evhttp_add_header(out, "Access-Control-Allow-Methods", "GET, POST");
    evhttp_add_header(out, "Access-Control-Allow-Headers", "Content-Type");
    evhttp_add_header(out, "Access-Control-Max-Age", "600");
    evhttp_send_reply(req, 204, "No Content", NULL);
}
