/* loans.c: see loans.h. */
#include "http/loans.h"

#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/log.h"
#include "http/kept_answers.h"
#include "http/reply.h"
#include "ingest/ingest.h"
#include "ingest/loan_event.h"
#include "server.h"

/* Checks the bearer key; answers 401/403 itself and returns -1 if the
 * request may not go on. */
static int authorize(struct server *srv, struct evhttp_request *req, unsigned role,
                     const char *role_name)
{
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0 || !auth[7]) {
        evhttp_add_header(out, "WWW-Authenticate", "Bearer");
        http_reply_error(req, 401, "authorization", "an API key is required: Authorization: Bearer <key>");
        return -1;
    }
    const char *name;
    unsigned roles = config_api_key_roles(srv->cfg, auth + 7, strlen(auth + 7), &name);
    if (!roles) {
        evhttp_add_header(out, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
        http_reply_error(req, 401, "authorization", "unknown API key");
        return -1;
    }
    if (!(roles & role)) {
        log_msg(LOG_WARN, "API key \"%s\" used without the %s role", name, role_name);
        char msg[96];
        snprintf(msg, sizeof msg, "this API key lacks the %s role", role_name);
        http_reply_error(req, 403, "authorization", msg);
        return -1;
    }
    return 0;
}

/* A request waiting for the loan store (ingest.h), counted in
 * pending_requests until answered. */
struct pending {
    struct server *srv;
    struct evhttp_request *req;
    char pseudonym[PSEUDONYM_HEX_LEN + 1];      /* a forget's patron, else "" */
};

static struct pending *pending_new(struct server *srv, struct evhttp_request *req)
{
    struct pending *pd = malloc(sizeof *pd);
    if (pd) {
        *pd = (struct pending){.srv = srv, .req = req};
        srv->pending_requests++;
    }
    return pd;
}

static void pending_free(struct pending *pd)
{
    pd->srv->pending_requests--;
    free(pd);
}

/* The 503 for an ingest error: "write_unconfirmed" (it may yet be
 * applied) or any other (nothing was). */
static void reply_store_failure(struct evhttp_request *req, const char *error,
                                const char *unconfirmed, const char *unavailable)
{
    int unsure = strcmp(error, "write_unconfirmed") == 0;
    http_reply_json(req, 503, json_pack("{s:s, s:n, s:s}", "error", unsure ? unconfirmed : unavailable,
                                        "field", "reason", error));
}

static void loans_ingested(const struct ingest_result *res, const char *error, void *arg)
{
    struct pending *lr = arg;
    if (error) {
        log_msg(LOG_WARN, "loan events not taken: %s", error);
        /* "write_conflict": the histories changed under every try (ingest.h) */
        int conflict = strcmp(error, "write_conflict") == 0;
        reply_store_failure(lr->req, error,
                            "the loan store did not confirm in time; send the events again "
                            "(those applied meanwhile come back as duplicates)",
                            conflict ? "other writers kept changing these patrons' histories; "
                                       "nothing was applied, send the events again"
                                     : "the loan store is unavailable; nothing was applied, send "
                                       "the events again");
    } else {
        http_reply_json(lr->req, 202, json_pack("{s:I, s:I, s:I, s:I, s:I}",
                                                "taken", (json_int_t)res->taken,
                                                "new", (json_int_t)res->new_loans,
                                                "repeats", (json_int_t)res->repeats,
                                                "duplicates", (json_int_t)res->duplicates,
                                                "stale", (json_int_t)res->stale));
    }
    pending_free(lr);
}

json_t *loans_refusal(enum loans_status st, const struct loan_problem *probs, size_t n,
                      int *code)
{
    if (st != LOANS_INVALID || n == 0) {
        *code = 503;
        return json_pack("{s:s, s:n}", "error", "out of memory", "field");
    }
    *code = 400;
    json_t *list = json_array();
    for (size_t i = 0; i < n && i < MAX_REPORTED_PROBLEMS; i++) {
        json_t *p = json_pack("{s:s, s:s, s:I}", "field", probs[i].field, "error", probs[i].message,
                              "index", (json_int_t)probs[i].index);
        if (p && probs[i].line)
            json_object_set_new(p, "line", json_integer((json_int_t)probs[i].line));
        json_array_append_new(list, p);
    }
    char msg[256];
    snprintf(msg, sizeof msg, "event %zu: %s: %s (nothing of this request was applied)",
             probs[0].index, probs[0].field, probs[0].message);
    return json_pack("{s:s, s:s, s:I, s:I, s:o}", "error", msg, "field", probs[0].field,
                     "index", (json_int_t)probs[0].index, "problems_total", (json_int_t)n,
                     "problems", list);
}

static int content_type_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    return ct && strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

void loans_handle(struct server *srv, struct evhttp_request *req)
{
    const struct config *cfg = srv->cfg;
    if (authorize(srv, req, ROLE_INGEST, "ingest") < 0)
        return;
    if (srv->pending_requests >= (size_t)cfg->max_pending_requests) {
        http_reply_error(req, 503, NULL, "too many requests in progress; try again shortly");
        return;
    }
    size_t len = 0;
    const char *body = NULL;
    switch (http_request_body(req, (size_t)cfg->max_loans_body_bytes, &body, &len)) {
    case HTTP_BODY_TOO_LARGE:
        http_reply_error(req, 413, "body", "body larger than ingest.max_body_bytes");
        return;
    case HTTP_BODY_NO_MEMORY:
        http_reply_error(req, 503, NULL, "out of memory");
        return;
    case HTTP_BODY_OK:
        break;
    }
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    struct loan_batch batch = {0};
    struct loan_problem probs[MAX_REPORTED_PROBLEMS];
    size_t nprobs = 0;
    enum loans_status st;
    long long now = (long long)time(NULL);
    if (content_type_is(ct, "text/csv") || content_type_is(ct, "application/x-ndjson") ||
        content_type_is(ct, "application/jsonl")) {
        st = loans_from_text(body, len, cfg, now, (size_t)cfg->max_events_per_request, &batch,
                             probs, MAX_REPORTED_PROBLEMS, &nprobs);
    } else if (!ct || content_type_is(ct, "application/json")) {
        json_error_t jerr;
        json_t *doc = loan_json_load(body, len, &jerr, &st);
        if (!doc && st == LOANS_INVALID) {
            char msg[256];
            snprintf(msg, sizeof msg, "malformed JSON at line %d, column %d: %s", jerr.line,
                     jerr.column, jerr.text);
            http_reply_error(req, 400, "body", msg);
            return;
        }
        if (doc)
            st = loans_from_json(doc, cfg, now, (size_t)cfg->max_events_per_request, &batch,
                                 probs, MAX_REPORTED_PROBLEMS, &nprobs);
        json_decref(doc);
    } else {
        http_reply_error(req, 415, "content-type",
                         "send application/json, text/csv or application/x-ndjson");
        return;
    }
    if (st != LOANS_OK) {
        loan_batch_free(&batch);
        int code;
        json_t *reply = loans_refusal(st, probs, nprobs, &code);
        http_reply_json(req, code, reply);
        return;
    }
    struct pending *lr = pending_new(srv, req);
    if (!lr || ingest_submit(srv->ingest, &batch, loans_ingested, lr) < 0) {
        if (lr)
            pending_free(lr);
        loan_batch_free(&batch);
        http_reply_error(req, 503, NULL, "out of memory");
    }
}

static void patron_forgotten(const char *error, void *arg)
{
    struct pending *fr = arg;
    if (!error)         /* also heard on the forget feed; this one cannot be late */
        server_patron_forgotten(fr->srv, fr->pseudonym);
    if (error)
        reply_store_failure(fr->req, error, "the loan store did not confirm in time; ask again",
                            "the loan store is unavailable; nothing was removed");
    else
        http_reply_json(fr->req, 200, json_pack("{s:b}", "forgotten", 1));
    pending_free(fr);
}

void patron_forget_handle(struct server *srv, struct evhttp_request *req, const char *encoded)
{
    if (authorize(srv, req, ROLE_FORGET, "forget") < 0)
        return;
    if (srv->pending_requests >= (size_t)srv->cfg->max_pending_requests) {
        http_reply_error(req, 503, NULL, "too many requests in progress; try again shortly");
        return;
    }
    size_t len = 0;
    char *patron = evhttp_uridecode(encoded, 0, &len);
    char pseudo[PSEUDONYM_HEX_LEN + 1];
    int bad = !patron || pseudonymise_patron(srv->cfg->patron_key, patron, len, pseudo) < 0;
    free(patron);
    if (bad) {
        http_reply_error(req, 400, "patron", PATRON_RULE);
        return;
    }
    struct pending *fr = pending_new(srv, req);
    if (fr)
        memcpy(fr->pseudonym, pseudo, sizeof pseudo);
    if (!fr || ingest_forget(srv->ingest, pseudo, patron_forgotten, fr) < 0) {
        if (fr)
            pending_free(fr);
        http_reply_error(req, 503, NULL, "out of memory");
    }
}
