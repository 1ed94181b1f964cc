/* patrons.c: DELETE /v1/patrons/<patron>; see patrons.h. */
#include "http/patrons.h"

#include <stdlib.h>
#include <string.h>

#include "core/pseudonym.h"
#include "http/auth.h"
#include "http/reply.h"
#include "ingest/ingest.h"
#include "server.h"

/* A forget waiting for the ingest engine (ingest.h). */
struct forget_request {
    struct server *srv;
    struct evhttp_request *req;
    char pseudonym[PSEUDONYM_HEX_LEN + 1];
};

static void patron_forgotten(enum failure error, void *arg)
{
    struct forget_request *fr = arg;
    if (error) {
        /* a forget goes in steps, each done once (ingest_forget.c): sent
         * again, it does what is left */
        http_reply_failure(fr->req, error,
                           error == FAILURE_WRITE_UNCONFIRMED
                               ? "the loan store did not confirm in time; ask again"
                           : error == FAILURE_WRITE_CONFLICT
                               ? "other writers kept changing the model; ask again to finish"
                               : "the loan store is unavailable; ask again to finish");
    } else {
        /* also heard on the forget feed; this one cannot be late */
        server_patron_forgotten(fr->srv, fr->pseudonym);
        http_reply_json(fr->req, 200, json_pack("{s:b}", "forgotten", 1));
    }
    server_release(fr->srv);
    free(fr);
}

void patrons_forget_handle(struct server *srv, struct evhttp_request *req, const char *encoded)
{
    if (auth_require(srv, req, ROLE_FORGET, "forget") < 0)
        return;
    size_t len = 0;
    char *patron = evhttp_uridecode(encoded, 0, &len);
    if (!patron) {
        http_reply_unavailable(req, HTTP_NO_MEMORY);
        return;
    }
    char pseudo[PSEUDONYM_HEX_LEN + 1];
    int bad = pseudonymise_patron(srv->cfg->patron_key, patron, len, pseudo) < 0;
    free(patron);
    if (bad) {
        http_reply_error(req, 400, "patron", PATRON_RULE);
        return;
    }
    if (server_admit(srv, req) < 0)
        return;
    struct forget_request *fr = malloc(sizeof *fr);
    if (fr) {
        fr->srv = srv;
        fr->req = req;
        memcpy(fr->pseudonym, pseudo, sizeof pseudo);
    }
    if (!fr || ingest_forget(srv->ingest, pseudo, patron_forgotten, fr) < 0) {
        free(fr);
        http_reply_unavailable(req, HTTP_NO_MEMORY);
        server_release(srv);
    }
}
