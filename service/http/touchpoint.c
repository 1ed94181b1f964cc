/* touchpoint.c: logging touchpoints and their outcomes; see touchpoint.h. */
#include "http/touchpoint.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/ids.h"
#include "core/log.h"
#include "http/reply.h"
#include "ingest/loan_event.h"
#include "server.h"

static int utc_now(char out[21])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    return strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) ? 0 : -1;
}

static int add_field(struct rcmd *cmd, const char *name, const char *value)
{
    return rcmd_addstr(cmd, name) | rcmd_addstr(cmd, value ? value : "");
}

static int add_xadd_head(const struct server *srv, struct rcmd *cmd, const char *stream)
{
    return rcmd_addstr(cmd, "XADD") | rcmd_addjoin(cmd, srv->cfg->redis_prefix, stream, "") |
           rcmd_addstr(cmd, "MAXLEN") | rcmd_addstr(cmd, "~") |
           rcmd_addf(cmd, "%d", srv->cfg->touchpoint_stream_max) | rcmd_addstr(cmd, "*");
}

int touchpoint_command(const struct server *srv, const struct touchpoint *tp, struct rcmd *cmd)
{
    char now[21];
    struct strbuf alts = {0};
    int rc = utc_now(now);
    for (size_t i = 0; i < tp->nalternatives; i++)
        rc |= (i ? strbuf_append(&alts, ",", 1) : 0) | strbuf_puts(&alts, tp->alternatives[i]);
    rc |= add_xadd_head(srv, cmd, "tp");
    rc |= add_field(cmd, "time", now) | add_field(cmd, "record", tp->record) |
          add_field(cmd, "catalogue", tp->catalogue) | add_field(cmd, "status", tp->status) |
          add_field(cmd, "branch", tp->branch) | add_field(cmd, "channel", tp->channel) |
          add_field(cmd, "lang", tp->lang) | add_field(cmd, "alternatives", strbuf_cstr(&alts));
    strbuf_free(&alts);
    return rc ? -1 : 0;
}

int touchpoint_event_type_valid(const char *type)
{
    static const char *const types[] = {"shown", "click", "reserve", "borrow", "dismiss"};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(type, types[i]) == 0)
            return 1;
    return 0;
}

/* One POST of an outcome: look the touchpoint up, then append. */
struct event_request {
    struct server *srv;
    struct evhttp_request *req;
    char *touchpoint;
    char *type;
    char *record;           /* NULL when the event names none */
};

static void event_request_free(struct event_request *er)
{
    er->srv->pending_requests--;
    free(er->touchpoint);
    free(er->type);
    free(er->record);
    free(er);
}

static void event_added(redisReply *reply, const char *error, void *arg)
{
    struct event_request *er = arg;
    if (!reply || reply->type != REDIS_REPLY_STRING) {
        log_msg(LOG_WARN, "touchpoint event not logged: %s", error ? error : reply->str);
        http_reply_error(er->req, 503, NULL, "the event could not be stored; try again");
    } else {
        http_reply_json(er->req, 201, json_pack("{s:s, s:s#, s:s, s:s?}", "touchpoint",
                                                er->touchpoint, "event", reply->str,
                                                (int)reply->len, "type", er->type,
                                                "record", er->record));
    }
    event_request_free(er);
}

/* Was record the wanted title or one of the alternatives shown? The
 * touchpoint entry is [id, [field, value, ...]]. */
static int touchpoint_names_record(const redisReply *entry, const char *record)
{
    const redisReply *fields = entry->element[1];
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const char *name = fields->element[i]->str, *value = fields->element[i + 1]->str;
        if (strcmp(name, "record") == 0 && strcmp(value, record) == 0)
            return 1;
        if (strcmp(name, "alternatives") == 0) {
            size_t n = strlen(record);
            for (const char *p = value; *p;) {
                size_t len = strcspn(p, ",");
                if (len == n && strncmp(p, record, n) == 0)
                    return 1;
                p += len + (p[len] == ',');
            }
        }
    }
    return 0;
}

static void touchpoint_found(redisReply *reply, const char *error, void *arg)
{
    struct event_request *er = arg;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        http_reply_error(er->req, 503, NULL, "the touchpoint log is not reachable; try again");
        event_request_free(er);
        return;
    }
    (void)error;
    if (reply->elements == 0) {
        http_reply_error(er->req, 404, "touchpoint", "no such touchpoint");
        event_request_free(er);
        return;
    }
    const redisReply *entry = reply->element[0];
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
        entry->element[1]->type != REDIS_REPLY_ARRAY) {
        http_reply_error(er->req, 503, NULL, "unexpected touchpoint log entry");
        event_request_free(er);
        return;
    }
    if (er->record && !touchpoint_names_record(entry, er->record)) {
        http_reply_error(er->req, 422, "record",
                         "that record was neither the wanted title nor an alternative shown");
        event_request_free(er);
        return;
    }
    struct rcmd cmd = {0};
    char now[21];
    int rc = utc_now(now) | add_xadd_head(er->srv, &cmd, "ev") |
             add_field(&cmd, "touchpoint", er->touchpoint) | add_field(&cmd, "type", er->type) |
             add_field(&cmd, "record", er->record) | add_field(&cmd, "time", now);
    if (rc) {
        rcmd_free(&cmd);
        http_reply_error(er->req, 503, NULL, "out of memory");
        event_request_free(er);
        return;
    }
    redis_exec(er->srv->redis, &cmd, 1, event_added, er);
    rcmd_free(&cmd);
}

void touchpoint_event_handle(struct server *srv, struct evhttp_request *req, const char *id)
{
    size_t len = 0;
    const char *body = NULL;
    switch (http_request_body(req, (size_t)srv->cfg->max_body_bytes, &body, &len)) {
    case HTTP_BODY_TOO_LARGE:
        http_reply_error(req, 413, "body", "body larger than limits.max_body_bytes");
        return;
    case HTTP_BODY_NO_MEMORY:
        http_reply_error(req, 503, NULL, "out of memory");
        return;
    case HTTP_BODY_OK:
        break;
    }
    json_error_t jerr;
    enum loans_status st;
    json_t *ev = loan_json_load(body, len, &jerr, &st);     /* tells out of memory apart */
    const char *type = NULL, *record = NULL;
    json_t *extra = NULL;
    if (st == LOANS_NO_MEMORY) {
        http_reply_error(req, 503, NULL, "out of memory");
        return;
    }
    if (!ev || !json_is_object(ev)) {
        http_reply_error(req, 400, "body", "must be a JSON object {\"type\": ..., \"record\": ...}");
        json_decref(ev);
        return;
    }
    const char *key;
    json_object_foreach(ev, key, extra) {
        if (strcmp(key, "type") != 0 && strcmp(key, "record") != 0) {
            http_reply_error(req, 400, key, "unknown field");
            json_decref(ev);
            return;
        }
    }
    type = json_string_value(json_object_get(ev, "type"));
    json_t *rec = json_object_get(ev, "record");
    record = json_string_value(rec);
    const char *field = NULL, *why = NULL;
    if (!type || !touchpoint_event_type_valid(type)) {
        field = "type";
        why = "must be one of shown, click, reserve, borrow, dismiss";
    } else if ((rec && !record) ||
               (record && !record_id_valid(record, srv->cfg->max_record_id_bytes))) {
        field = "record";
        why = "must be a record id";
    } else if (!record && strcmp(type, "shown") != 0 && strcmp(type, "dismiss") != 0) {
        field = "record";
        why = "is required for click, reserve and borrow";
    }
    if (field) {
        http_reply_error(req, 400, field, why);
        json_decref(ev);
        return;
    }
    struct event_request *er = calloc(1, sizeof *er);
    if (!er || !(er->touchpoint = strdup(id)) || !(er->type = strdup(type)) ||
        (record && !(er->record = strdup(record)))) {
        if (er) {
            free(er->touchpoint);
            free(er->type);
        }
        free(er);
        json_decref(ev);
        http_reply_error(req, 503, NULL, "out of memory");
        return;
    }
    json_decref(ev);
    er->srv = srv;
    er->req = req;
    srv->pending_requests++;
    struct rcmd cmd = {0};
    if (rcmd_addstr(&cmd, "XRANGE") | rcmd_addf(&cmd, "%stp", srv->cfg->redis_prefix) |
        rcmd_addstr(&cmd, id) | rcmd_addstr(&cmd, id)) {
        rcmd_free(&cmd);
        http_reply_error(req, 503, NULL, "out of memory");
        event_request_free(er);
        return;
    }
    redis_exec(srv->redis, &cmd, 1, touchpoint_found, er);
    rcmd_free(&cmd);
}
