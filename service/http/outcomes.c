/* outcomes.c: POST /v1/touchpoints/<id>/events; see outcomes.h.
 *
 * The body is checked (outcome_body.h), the touchpoint read back (is it
 * there, is the token its own, did it show the record?), then the outcome
 * counted once (touchpoint_log.h): 201, or 200 when it was before. While
 * Redis is away, a touchpoint this daemon made in the last hour is known
 * without it (recent_touchpoints.h), and the outcome waits in the spool
 * (spool.h): 202, counted once when written. */
#include "http/outcomes.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/token.h"
#include "http/outcome_body.h"
#include "http/recent_touchpoints.h"
#include "http/reply.h"
#include "redis/touchpoint_log.h"
#include "server.h"

/* One POST, from the touchpoint's read to the outcome's write. */
struct outcome_request {
    struct server *srv;
    struct evhttp_request *req;
    char *touchpoint;
    char *type;
    char *record;           /* NULL when the outcome names none */
    char *token;
    struct outcome out;     /* once checked: what is counted */
    char *cell_name;        /* out's, when it goes by name */
    char day[RU_DAY_BYTES + 1];
};

static void outcome_request_free(struct outcome_request *o)
{
    server_release(o->srv);
    free(o->touchpoint);
    free(o->type);
    free(o->record);
    free(o->token);
    free(o->cell_name);
    free(o);
}

/* The outcome handed to the spool (Redis is away, or went with the
 * write): counted once it is written, whether or not it was before; 202
 * says so. */
static void outcome_spooled(struct outcome_request *o, const struct outcome *out)
{
    struct rcmd cmd = {0};
    int kept = touchpoint_log_outcome(o->srv->cfg, out, &cmd) == 0 &&
               spool_write(o->srv->spool, &cmd) == 0;
    rcmd_free(&cmd);
    if (!kept)
        http_reply_failure(o->req, FAILURE_REDIS_UNAVAILABLE,
                           "the outcome could not be stored now; try again");
    else
        http_reply_json(o->req, 202, json_pack("{s:s, s:n, s:s, s:s?, s:n, s:b}", "touchpoint",
                                               o->touchpoint, "event", "type", o->type,
                                               "record", o->record, "duplicate", "queued", 1));
}

static void outcome_written(redisReply *reply, enum failure error, void *arg)
{
    struct outcome_request *o = arg;
    if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == 0) {
        /* counted before: the same (touchpoint, type, record) */
        http_reply_json(o->req, 200, json_pack("{s:s, s:n, s:s, s:s?, s:b}", "touchpoint",
                                               o->touchpoint, "event", "type", o->type,
                                               "record", o->record, "duplicate", 1));
    } else if (!reply) {
        /* lost or late: perhaps written, perhaps not; the spool's copy
         * counts once either way */
        outcome_spooled(o, &o->out);
    } else if (reply->type != REDIS_REPLY_STRING) {
        log_msg(LOG_WARN, "touchpoint outcome not logged: %s",
                reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
        (void)error;
        http_reply_failure(o->req, FAILURE_REDIS_UNAVAILABLE,
                           "the outcome could not be stored; try again");
    } else {
        /* counted: kept a while, to be sent again should Redis lose it */
        struct rcmd cmd = {0};
        if (touchpoint_log_outcome(o->srv->cfg, &o->out, &cmd) < 0 ||
            spool_remember(o->srv->spool, &cmd) < 0)
            log_msg(LOG_WARN, "touchpoint outcome: no memory to keep it for spool_replay_ms");
        rcmd_free(&cmd);
        http_reply_json(o->req, 201, json_pack("{s:s, s:s#, s:s, s:s?, s:b}", "touchpoint",
                                               o->touchpoint, "event", reply->str,
                                               (int)reply->len, "type", o->type,
                                               "record", o->record, "duplicate", 0));
    }
    outcome_request_free(o);
}

/* The touchpoint is known (read back from Redis, or this daemon's own of
 * the last hour): the token and the record are checked against it, and
 * the outcome counted: written now (direct), or through the spool. */
static void outcome_check_and_count(struct outcome_request *o, const struct touchpoint_entry *e,
                                    const char *cell_name, int direct)
{
    const struct config *cfg = o->srv->cfg;
    struct token_subject subject = {o->touchpoint, e->record, e->alternatives};
    switch (token_check(&o->srv->token_key, &subject, o->token, (long long)time(NULL))) {
    case TOKEN_OK:
        break;
    case TOKEN_EXPIRED:
        http_reply_error(o->req, 403, "token", "expired: outcomes of this answer can no "
                                                "longer be posted");
        outcome_request_free(o);
        return;
    case TOKEN_MALFORMED:
    case TOKEN_FORGED:
        http_reply_error(o->req, 403, "token", "not this touchpoint's token");
        outcome_request_free(o);
        return;
    }
    if (o->record && !touchpoint_entry_shows(e, o->record)) {
        http_reply_error(o->req, 422, "record",
                         "that record was neither the wanted title nor an alternative shown");
        outcome_request_free(o);
        return;
    }
    o->out = (struct outcome){o->touchpoint, o->type, o->record, NULL, 0, NULL};
    if (e->day && strlen(e->day) == RU_DAY_BYTES && (e->has_cell || cell_name)) {
        memcpy(o->day, e->day, RU_DAY_BYTES + 1);
        o->out.day = o->day;
        o->out.cell = e->cell;
        if (!e->has_cell && !(o->out.cell_name = o->cell_name = strdup(cell_name))) {
            http_reply_unavailable(o->req, HTTP_NO_MEMORY);
            outcome_request_free(o);
            return;
        }
    }
    if (!direct) {
        outcome_spooled(o, &o->out);
        outcome_request_free(o);
        return;
    }
    struct rcmd cmd = {0};
    struct redis_op *op = NULL;
    if (touchpoint_log_outcome(cfg, &o->out, &cmd) == 0)
        op = redis_exec(o->srv->redis, &cmd, 1, outcome_written, o);
    rcmd_free(&cmd);
    if (!op) {
        http_reply_unavailable(o->req, HTTP_NO_MEMORY);
        outcome_request_free(o);
    }
}

/* Redis cannot say what the touchpoint was: this daemon may know. */
static void outcome_from_recent(struct outcome_request *o, enum failure error)
{
    const struct recent_touchpoint *t =
        recent_touchpoints_get(o->srv->recent_touchpoints, o->touchpoint, monotonic_ms());
    if (!t) {
        http_reply_failure(o->req, error ? error : FAILURE_REDIS_UNAVAILABLE,
                           "the touchpoint log is not reachable; try again");
        outcome_request_free(o);
        return;
    }
    struct touchpoint_entry e = {t->record, t->alternatives, t->day, NULL, 0, 0};
    outcome_check_and_count(o, &e, t->cell_name, 0);
}

static void touchpoint_read(redisReply *reply, enum failure error, void *arg)
{
    struct outcome_request *o = arg;
    struct touchpoint_entry e;
    if (!reply) {
        outcome_from_recent(o, error);
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY) {
        http_reply_failure(o->req, FAILURE_REDIS_UNAVAILABLE,
                           "the touchpoint log is not reachable; try again");
        outcome_request_free(o);
        return;
    }
    int found = touchpoint_entry_parse(reply, &e);
    if (found == 0) {
        http_reply_error(o->req, 404, "touchpoint", "no such touchpoint");
        outcome_request_free(o);
        return;
    }
    if (found < 0) {
        http_reply_unavailable(o->req, "unexpected touchpoint log entry");
        outcome_request_free(o);
        return;
    }
    outcome_check_and_count(o, &e, NULL, 1);
}

/* Checks the request and its body (outcome_body.h): 0, or -1 with a
 * reply already sent. b is the caller's to free either way. */
static int read_outcome(struct server *srv, struct evhttp_request *req, struct outcome_body *b)
{
    *b = (struct outcome_body){0};
    if (!http_content_type_is(req, "application/json")) {
        http_reply_error(req, 415, "content-type", "send application/json");
        return -1;
    }
    size_t len = 0;
    const char *body = NULL;
    if (http_read_body(req, (size_t)srv->cfg->max_body_bytes, "limits.max_body_bytes", &body,
                       &len) < 0)
        return -1;
    struct outcome_body_error err;
    switch (outcome_body_parse(body, len, srv->cfg->max_record_id_bytes, b, &err)) {
    case OUTCOME_BODY_NO_MEMORY:
        http_reply_unavailable(req, HTTP_NO_MEMORY);
        return -1;
    case OUTCOME_BODY_INVALID:
        http_reply_error(req, err.status, err.field, err.message);
        return -1;
    case OUTCOME_BODY_OK:
        break;
    }
    return 0;
}

void outcomes_handle(struct server *srv, struct evhttp_request *req, const char *id)
{
    struct outcome_body b;
    if (read_outcome(srv, req, &b) < 0 || server_admit(srv, req) < 0) {
        outcome_body_free(&b);
        return;
    }
    struct outcome_request *o = calloc(1, sizeof *o);
    if (o) {
        o->srv = srv;
        o->req = req;
    }
    int oom = !o || !(o->touchpoint = strdup(id)) || !(o->type = strdup(b.type)) ||
              (b.record && !(o->record = strdup(b.record))) || !(o->token = strdup(b.token));
    outcome_body_free(&b);
    /* Redis is asked while it is there and nothing waits for it in the
     * spool (else an outcome could come before its touchpoint); a
     * touchpoint of this very pass goes first */
    touchpoint_batch_flush(srv->touchpoints);
    struct spool_stats sst;
    spool_get_stats(srv->spool, &sst);
    if (!oom && (!redis_client_connected(srv->redis) || sst.waiting)) {
        outcome_from_recent(o, FAILURE_REDIS_UNAVAILABLE);
        return;
    }
    struct rcmd cmds[TOUCHPOINT_READ_CMDS] = {{0}};
    struct redis_op *op = NULL;
    if (!oom && touchpoint_log_read(srv->cfg, id, cmds) == 0)
        op = redis_exec(srv->redis, cmds, TOUCHPOINT_READ_CMDS, touchpoint_read, o);
    for (size_t i = 0; i < TOUCHPOINT_READ_CMDS; i++)
        rcmd_free(&cmds[i]);
    if (!op) {
        http_reply_unavailable(req, HTTP_NO_MEMORY);
        if (o)
            outcome_request_free(o);
        else
            server_release(srv);
    }
}
