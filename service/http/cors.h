/* cors.h: CORS, so that pages of the library's own OPAC may call onloan
 * from the browser (the widget, outcomes) and no other site may.
 *
 * Only the exact origins of http.cors_origins are answered: a request
 * from one gets Access-Control-Allow-Origin naming it (never "*", and
 * never credentials: no route takes cookies) and Vary: Origin; a
 * preflight (OPTIONS with Access-Control-Request-Method) from one is
 * answered 204 with the methods and headers allowed, and from any other
 * origin 403 naming origin. */
#ifndef ONLOAN_HTTP_CORS_H
#define ONLOAN_HTTP_CORS_H

#include <event2/http.h>

#include "core/config.h"

/* Adds the CORS headers a request from an allowed origin gets. */
void cors_headers(const struct config *cfg, struct evhttp_request *req);
/* Answers an OPTIONS request (a preflight, or not). */
void cors_preflight(const struct config *cfg, struct evhttp_request *req);

#endif
