/* router.h: the HTTP server: listening, libevent's limits, and the routes.
 *
 *   GET    /healthz                        healthz.h
 *   GET    /metrics                        metrics.h
 *   GET    /v1/alternatives                alternatives.h
 *   POST   /v1/touchpoints/<id>/events     outcomes.h
 *   POST   /v1/loans                       loans.h
 *   DELETE /v1/patrons/<patron>            patrons.h
 *   GET    /v1/reports/outcomes            reports.h
 *   GET    /v1/reports/goals               reports.h
 *   GET    /v1/qr                          qr.h
 *   GET    /widget.js, /kiosk, ...         assets.h
 *
 * The router sits above the handlers; they answer through reply.h. Each
 * request answered is counted for /metrics under its route's pattern
 * (as docs/openapi.json names them: /v1/touchpoints/{touchpoint}/events,
 * /v1/patrons/{patron}; an asset's path;
 * "other" for any path that is no route), never the path itself. */
#ifndef ONLOAN_HTTP_ROUTER_H
#define ONLOAN_HTTP_ROUTER_H

#include "core/strbuf.h"

struct server;

/* Starts listening on the configured address. Returns -1 with the reason
 * in err. */
int router_start(struct server *srv, struct strbuf *err);

#endif
