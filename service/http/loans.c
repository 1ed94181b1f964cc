/* loans.c: POST /v1/loans; see loans.h. */
#include "http/loans.h"

#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/log.h"
#include "core/strbuf.h"
#include "http/auth.h"
#include "http/http_metrics.h"
#include "http/reply.h"
#include "ingest/ingest.h"
#include "server.h"

/* A POST waiting for the ingest engine (ingest.h). */
struct loans_request {
    struct server *srv;
    struct evhttp_request *req;
    size_t by_type[HTTP_METRICS_LOAN_TYPES];    /* the batch's events, for /metrics */
};

static void loans_ingested(const struct ingest_result *res, enum failure error, void *arg)
{
    struct loans_request *lr = arg;
    if (error) {
        log_msg(LOG_WARN, "loan events not taken: %s", failure_name(error));
        http_metrics_loans_refused(lr->srv->http_metrics, error);
        http_reply_failure(lr->req, error,
                           error == FAILURE_WRITE_UNCONFIRMED
                               ? "the loan store did not confirm in time; send the events again "
                                 "(those applied meanwhile come back as duplicates)"
                           : error == FAILURE_WRITE_CONFLICT
                               ? "other writers kept changing these patrons' histories; nothing "
                                 "was applied, send the events again"
                               : "the loan store is unavailable; nothing was applied, send the "
                                 "events again");
    } else {
        for (int t = 0; t < HTTP_METRICS_LOAN_TYPES; t++)
            http_metrics_loans_taken(lr->srv->http_metrics, (enum loan_event_type)t,
                                     lr->by_type[t]);
        http_reply_json(lr->req, 202, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}",
                                                "taken", (json_int_t)res->taken,
                                                "new", (json_int_t)res->new_loans,
                                                "repeats", (json_int_t)res->repeats,
                                                "duplicates", (json_int_t)res->duplicates,
                                                "stale", (json_int_t)res->stale,
                                                "holds", (json_int_t)res->holds));
    }
    server_release(lr->srv);
    free(lr);
}

json_t *loans_refusal(enum loans_status st, const struct loan_problem *probs, size_t n,
                      int *code)
{
    if (st != LOANS_INVALID || n == 0) {
        *code = 503;
        return json_pack("{s:s, s:n}", "error", HTTP_NO_MEMORY, "field");
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
    struct strbuf msg = {0};
    json_t *body = NULL;
    if (strbuf_printf(&msg, "event %zu: %s: %s (nothing of this request was applied)",
                      probs[0].index, probs[0].field, probs[0].message) == 0)
        body = json_pack("{s:s, s:s, s:I, s:I, s:o}", "error", msg.buf, "field", probs[0].field,
                         "index", (json_int_t)probs[0].index, "problems_total", (json_int_t)n,
                         "problems", list);
    else
        json_decref(list);
    strbuf_free(&msg);
    if (!body)
        *code = 503;
    return body ? body : json_pack("{s:s, s:n}", "error", HTTP_NO_MEMORY, "field");
}

/* The events of the body, checked; or a reply already sent (-1). */
static int read_events(struct server *srv, struct evhttp_request *req, struct loan_batch *batch)
{
    const struct config *cfg = srv->cfg;
    size_t len = 0;
    const char *body = NULL;
    if (http_read_body(req, (size_t)cfg->max_loans_body_bytes, "ingest.max_body_bytes", &body,
                       &len) < 0)
        return -1;
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    struct loan_problem probs[MAX_REPORTED_PROBLEMS];
    size_t nprobs = 0;
    enum loans_status st;
    long long now = (long long)time(NULL);
    if (http_content_type_is(req, "text/csv") || http_content_type_is(req, "application/x-ndjson") ||
        http_content_type_is(req, "application/jsonl")) {
        st = loans_from_text(body, len, cfg, now, (size_t)cfg->max_events_per_request, batch,
                             probs, MAX_REPORTED_PROBLEMS, &nprobs);
    } else if (!ct || http_content_type_is(req, "application/json")) {
        json_error_t jerr;
        json_t *doc = loan_json_load(body, len, &jerr, &st);
        if (!doc && st == LOANS_INVALID) {
            struct strbuf msg = {0};
            int oom = strbuf_printf(&msg, "malformed JSON at line %d, column %d: %s", jerr.line,
                                    jerr.column, jerr.text) < 0;
            http_reply_error(req, 400, "body", oom ? "malformed JSON" : msg.buf);
            http_metrics_loans_refused(srv->http_metrics, FAILURE_NONE);
            strbuf_free(&msg);
            return -1;
        }
        if (doc)
            st = loans_from_json(doc, cfg, now, (size_t)cfg->max_events_per_request, batch,
                                 probs, MAX_REPORTED_PROBLEMS, &nprobs);
        json_decref(doc);
    } else {
        http_reply_error(req, 415, "content-type",
                         "send application/json, text/csv or application/x-ndjson");
        return -1;
    }
    if (st != LOANS_OK) {
        loan_batch_free(batch);
        int code;
        json_t *reply = loans_refusal(st, probs, nprobs, &code);
        http_metrics_loans_refused(srv->http_metrics,
                                   code == 400 ? FAILURE_NONE : FAILURE_OUT_OF_MEMORY);
        http_reply_json(req, code, reply);
        return -1;
    }
    return 0;
}

void loans_handle(struct server *srv, struct evhttp_request *req)
{
    struct loan_batch batch = {0};
    if (auth_require(srv, req, ROLE_INGEST, "ingest") < 0 || server_admit(srv, req) < 0)
        return;
    if (read_events(srv, req, &batch) < 0) {
        server_release(srv);
        return;
    }
    struct loans_request *lr = malloc(sizeof *lr);
    if (lr) {
        *lr = (struct loans_request){srv, req, {0}};
        for (size_t i = 0; i < batch.n; i++)
            if ((unsigned)batch.ev[i].type < HTTP_METRICS_LOAN_TYPES)
                lr->by_type[batch.ev[i].type]++;
    }
    if (!lr || ingest_submit(srv->ingest, &batch, loans_ingested, lr) < 0) {
        free(lr);
        loan_batch_free(&batch);
        http_metrics_loans_refused(srv->http_metrics, FAILURE_OUT_OF_MEMORY);
        http_reply_unavailable(req, HTTP_NO_MEMORY);
        server_release(srv);
    }
}
