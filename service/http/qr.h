/* qr.h: GET /v1/qr?touchpoint=<id>&token=<token>[&format=svg|png], the
 * reservation link of an answer as a QR code, for the kiosk's screen.
 *
 * The link is the answer's own reserve_url: the touchpoint is read back
 * from its stream (touchpoint_log.h), its token checked as an outcome's
 * is (token.h: only who was given the answer can ask), and the link made
 * again from the entry's record and catalogue by the catalogue's link
 * plugin, as answer.c made it. Nothing from the request goes into the
 * code, so the image cannot be made to carry someone else's link. */
#ifndef ONLOAN_HTTP_QR_H
#define ONLOAN_HTTP_QR_H

#include <event2/http.h>

struct server;

void qr_handle(struct server *srv, struct evhttp_request *req, const char *query);

#endif
