/* outcomes.c: POST /v1/touchpoints/<id>/events; see outcomes.h.
 *
 * The body is checked, the touchpoint read back (is it there, did it show
 * the record?), then the outcome appended. */
#include "http/outcomes.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "core/log.h"
#include "http/reply.h"
#include "ingest/loan_event.h"
#include "redis/touchpoint_log.h"
#include "server.h"

/* One POST, from the touchpoint's read to the outcome's write. */
struct outcome_request {
    struct server *srv;
    struct evhttp_request *req;
    char *touchpoint;
    char *type;
    char *record;           /* NULL when the outcome names none */
};

static void outcome_request_free(struct outcome_request *o)
{
    server_release(o->srv);
    free(o->touchpoint);
    free(o->type);
    free(o->record);
    free(o);
}

static void outcome_written(redisReply *reply, enum failure error, void *arg)
{
    struct outcome_request *o = arg;
    if (!reply || reply->type != REDIS_REPLY_STRING) {
        log_msg(LOG_WARN, "touchpoint outcome not logged: %s",
                error ? failure_name(error) : reply->str);
        http_reply_unavailable(o->req, "the outcome could not be stored; try again");
    } else {
        http_reply_json(o->req, 201, json_pack("{s:s, s:s#, s:s, s:s?}", "touchpoint",
                                               o->touchpoint, "event", reply->str,
                                               (int)reply->len, "type", o->type,
                                               "record", o->record));
    }
    outcome_request_free(o);
}

static void touchpoint_read(redisReply *reply, enum failure error, void *arg)
{
    struct outcome_request *o = arg;
    (void)error;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        http_reply_unavailable(o->req, "the touchpoint log is not reachable; try again");
        outcome_request_free(o);
        return;
    }
    if (reply->elements == 0) {
        http_reply_error(o->req, 404, "touchpoint", "no such touchpoint");
        outcome_request_free(o);
        return;
    }
    int shown = o->record ? touchpoint_entry_shows(reply->element[0], o->record) : 1;
    if (shown < 0) {
        http_reply_unavailable(o->req, "unexpected touchpoint log entry");
        outcome_request_free(o);
        return;
    }
    if (!shown) {
        http_reply_error(o->req, 422, "record",
                         "that record was neither the wanted title nor an alternative shown");
        outcome_request_free(o);
        return;
    }
    struct rcmd cmd = {0};
    struct redis_op *op = NULL;
    if (touchpoint_log_outcome(o->srv->cfg, o->touchpoint, o->type, o->record, &cmd) == 0)
        op = redis_exec(o->srv->redis, &cmd, 1, outcome_written, o);
    rcmd_free(&cmd);
    if (!op) {
        http_reply_unavailable(o->req, HTTP_NO_MEMORY);
        outcome_request_free(o);
    }
}

/* Checks the body: the outcome's type and record, or a reply already
 * sent (-1). *type and *record point into *doc (the caller's to drop). */
static int read_outcome(struct server *srv, struct evhttp_request *req, json_t **doc,
                        const char **type, const char **record)
{
    size_t len = 0;
    const char *body = NULL;
    switch (http_request_body(req, (size_t)srv->cfg->max_body_bytes, &body, &len)) {
    case HTTP_BODY_TOO_LARGE:
        http_reply_error(req, 413, "body", "body larger than limits.max_body_bytes");
        return -1;
    case HTTP_BODY_NO_MEMORY:
        http_reply_unavailable(req, HTTP_NO_MEMORY);
        return -1;
    case HTTP_BODY_OK:
        break;
    }
    json_error_t jerr;
    enum loans_status st;
    json_t *ev = *doc = loan_json_load(body, len, &jerr, &st);     /* tells out of memory apart */
    if (st == LOANS_NO_MEMORY) {
        http_reply_unavailable(req, HTTP_NO_MEMORY);
        return -1;
    }
    if (!ev || !json_is_object(ev)) {
        http_reply_error(req, 400, "body", "must be a JSON object {\"type\": ..., \"record\": ...}");
        return -1;
    }
    const char *key;
    json_t *value;
    json_object_foreach(ev, key, value) {
        if (strcmp(key, "type") != 0 && strcmp(key, "record") != 0) {
            http_reply_error(req, 400, key, "unknown field");
            return -1;
        }
    }
    json_t *rec = json_object_get(ev, "record");
    *type = json_string_value(json_object_get(ev, "type"));
    *record = json_string_value(rec);
    if (!*type || !touchpoint_outcome_type_valid(*type)) {
        http_reply_error(req, 400, "type", "must be one of shown, click, reserve, borrow, dismiss");
        return -1;
    }
    if ((rec && !*record) || (*record && !record_id_valid(*record, srv->cfg->max_record_id_bytes))) {
        http_reply_error(req, 400, "record", "must be a record id");
        return -1;
    }
    if (!*record && strcmp(*type, "shown") != 0 && strcmp(*type, "dismiss") != 0) {
        http_reply_error(req, 400, "record", "is required for click, reserve and borrow");
        return -1;
    }
    return 0;
}

void outcomes_handle(struct server *srv, struct evhttp_request *req, const char *id)
{
    json_t *doc = NULL;
    const char *type, *record;
    if (read_outcome(srv, req, &doc, &type, &record) < 0) {
        json_decref(doc);
        return;
    }
    if (server_admit(srv, req) < 0) {
        json_decref(doc);
        return;
    }
    struct outcome_request *o = calloc(1, sizeof *o);
    if (o) {
        o->srv = srv;
        o->req = req;
    }
    int oom = !o || !(o->touchpoint = strdup(id)) || !(o->type = strdup(type)) ||
              (record && !(o->record = strdup(record)));
    json_decref(doc);
    struct rcmd cmd = {0};
    struct redis_op *op = NULL;
    if (!oom && touchpoint_log_read(srv->cfg, id, &cmd) == 0)
        op = redis_exec(srv->redis, &cmd, 1, touchpoint_read, o);
    rcmd_free(&cmd);
    if (!op) {
        http_reply_unavailable(req, HTTP_NO_MEMORY);
        if (o)
            outcome_request_free(o);
        else
            server_release(srv);
    }
}
