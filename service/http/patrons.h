/* patrons.h: DELETE /v1/patrons/<patron>: forget a patron (role forget).
 *
 * Everything kept under the patron's pseudonym goes, and what they added
 * to the model is taken back (ingest.h, the forget); every onloand drops
 * the answers it keeps for them (forget_feed.h). 200 {"forgotten": true}; 400 for a malformed patron
 * id; 401/403 without a key with the role; 503 when Redis fails. */
#ifndef ONLOAN_HTTP_PATRONS_H
#define ONLOAN_HTTP_PATRONS_H

#include <event2/http.h>

struct server;

/* encoded: the path's last segment, still percent-encoded. */
void patrons_forget_handle(struct server *srv, struct evhttp_request *req, const char *encoded);

#endif
