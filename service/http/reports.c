/* reports.c: GET /v1/reports/...; see reports.h.
 *
 * A report request: its key and parameters checked, the rollups read
 * (report_read.h: a loop pass per round trip), then, for outcomes, the
 * rows written REPORT_RENDER_SLICE at a time, a loop pass each, into the
 * body that is sent at the end; a large report's second half meanwhile
 * on a thread of report_render's, which wakes the request when the loop
 * has got there first. One struct carries it and is freed in one place,
 * report_request_end (which cancels the read and stops that thread).
 *
 * The client is watched from the start (front_watch): one that leaves
 * ends its request at once, whatever it waits for, instead of when its
 * report would have been sent (evhttp alone would notice only then). */
#include "http/reports.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/keyvalq_struct.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "core/calendar.h"
#include "core/log.h"
#include "http/auth.h"
#include "http/params.h"
#include "http/reply.h"
#include "report/goals.h"
#include "report/report_read.h"
#include "report/report_render.h"
#include "server.h"

struct report_request {
    struct server *srv;
    struct evhttp_request *req;
    struct report_cells *cells;
    struct report *report;          /* outcomes */
    struct goals *goals;            /* or goals */
    struct report_read *read;       /* in flight, or NULL */
    struct report_render *render;
    struct evbuffer *body;
    struct event *slice;            /* the next slice of rows, next loop pass */
    struct front_watch *watch;      /* the client, or NULL: not watched */
};

static void report_request_end(struct report_request *rq)
{
    front_unwatch(rq->watch);
    report_read_cancel(rq->read);
    if (rq->slice)
        event_free(rq->slice);
    if (rq->body)
        evbuffer_free(rq->body);
    report_render_free(rq->render);
    report_free(rq->report);
    goals_free(rq->goals);
    report_cells_free(rq->cells);
    server_release(rq->srv);
    free(rq);
}

static void send_body(struct report_request *rq, const char *content_type)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(rq->req);
    evhttp_add_header(h, "Content-Type", content_type);
    evhttp_add_header(h, "Cache-Control", "no-store");
    http_send_reply(rq->req, 200, "OK", rq->body);
}

/* A read that failed, or a report refused (no memory, too many rows):
 * the reply. */
static void reply_refused(struct report_request *rq, enum failure why, enum report_status st)
{
    if (why) {
        http_reply_failure(rq->req, why, "the report counters could not be read; try again");
    } else if (st == REPORT_TOO_MANY_ROWS) {
        char msg[160];
        snprintf(msg, sizeof msg, "the report would have more than reports.max_rows (%d) rows: "
                 "group by fewer keys or ask for fewer days", rq->srv->cfg->report_max_rows);
        http_reply_error(rq->req, 400, "group", msg);
    } else {
        if (st == REPORT_OUT_OF_ORDER)
            log_msg(LOG_ERROR, "report: days read out of order");
        http_reply_unavailable(rq->req, HTTP_NO_MEMORY);
    }
}

static void next_slice(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct report_request *rq = arg;
    static const struct timeval now = {0, 0};
    enum report_render_step step = report_render_some(rq->render, rq->body, REPORT_RENDER_SLICE);
    if (step == REPORT_RENDER_WAITING)
        return;                 /* second_half_ready calls again */
    if (step == REPORT_RENDER_MORE && evtimer_add(rq->slice, &now) == 0)
        return;
    if (step == REPORT_RENDER_DONE)
        send_body(rq, report_query_of(rq->report)->format == REPORT_CSV
                          ? "text/csv; charset=utf-8"
                          : "application/json; charset=utf-8");
    else                        /* out of memory (or no next pass) */
        http_reply_unavailable(rq->req, HTTP_NO_MEMORY);
    report_request_end(rq);
}

/* The thread writing the report's second half is done (report_render.h). */
static void second_half_ready(void *arg)
{
    next_slice(-1, 0, arg);
}

static void outcomes_read(enum failure why, enum report_status st, void *arg)
{
    struct report_request *rq = arg;
    rq->read = NULL;            /* over */
    if (why || st != REPORT_OK || (st = report_finish(rq->report)) != REPORT_OK) {
        reply_refused(rq, why, st);
        report_request_end(rq);
        return;
    }
    if (!(rq->render = report_render_new(rq->report, report_query_of(rq->report)->format)) ||
        !(rq->body = evbuffer_new()) ||
        !(rq->slice = evtimer_new(rq->srv->base, next_slice, rq))) {
        http_reply_unavailable(rq->req, HTTP_NO_MEMORY);
        report_request_end(rq);
        return;
    }
    /* without a thread the loop writes it all, in its slices, slower */
    if (report_render_split(rq->render, REPORT_RENDER_SPLIT_ROWS, rq->srv->base,
                            second_half_ready, rq) < 0)
        log_msg(LOG_WARN, "report: no thread for the second half of %zu rows (%s): written "
                "by the loop alone", report_nrows(rq->report), strerror(errno));
    next_slice(-1, 0, rq);
}

static void goals_read(enum failure why, enum report_status st, void *arg)
{
    struct report_request *rq = arg;
    rq->read = NULL;            /* over */
    if (why || st != REPORT_OK || (st = goals_finish(rq->goals)) != REPORT_OK) {
        reply_refused(rq, why, st);
    } else if (!(rq->body = evbuffer_new()) || goals_write(rq->goals, rq->body) < 0) {
        http_reply_unavailable(rq->req, HTTP_NO_MEMORY);
    } else {
        send_body(rq, "application/json; charset=utf-8");
    }
    report_request_end(rq);
}

/* Admits the request and starts reading for its reports (n of them). On
 * failure it is answered and freed. */
static void start_read(struct report_request *rq, struct report *const *reports, size_t n,
                       report_read_done *done)
{
    if (!(rq->read = report_read_start(rq->srv->redis, rq->srv->cfg, rq->cells, reports, n, done,
                                       rq))) {
        http_reply_unavailable(rq->req, HTTP_NO_MEMORY);
        report_request_end(rq);
    }
}

/* The client left before its report was sent (front_watch): the read,
 * or the writing of rows, stops here (a split report's thread after its
 * row: report_render_free), and the request ends with an answer that
 * goes nowhere (libevent's request needs one to be freed). */
static void client_gone(void *arg)
{
    struct report_request *rq = arg;
    log_msg(LOG_DEBUG, "report: the client left while %s: given up",
            rq->render ? "its rows were written" : "the counters were read");
    http_reply_unavailable(rq->req, "the client left");
    report_request_end(rq);
}

static struct report_request *request_new(struct server *srv, struct evhttp_request *req)
{
    if (server_admit(srv, req) < 0)
        return NULL;
    struct report_request *rq = calloc(1, sizeof *rq);
    if (rq) {
        rq->srv = srv;
        rq->req = req;
    }
    if (!rq || !(rq->cells = report_cells_new())) {
        http_reply_unavailable(req, HTTP_NO_MEMORY);
        if (rq)
            report_request_end(rq);
        else
            server_release(srv);
        return NULL;
    }
    rq->watch = server_watch_client(srv, req, client_gone, rq);    /* NULL: not watched */
    return rq;
}

static long today(struct server *srv)
{
    return config_date_days(server_date(srv));
}

void reports_outcomes_handle(struct server *srv, struct evhttp_request *req, const char *query)
{
    static const char *const known[] = {"from", "to", "group", "format", NULL};
    if (auth_require(srv, req, ROLE_REPORT, "report") < 0)
        return;
    struct evkeyvalq params;
    struct param_error perr = {0};
    struct report_error rerr = {0};
    struct report_query q;
    report_query_init(&q);
    int bad = params_split_strict(query, known, &params, &perr) < 0;
    const char *field = perr.field, *message = perr.message;
    struct evkeyval *kv;
    TAILQ_FOREACH(kv, &params, next) {
        if (bad)
            break;
        if ((bad = report_query_set(&q, kv->key, kv->value, 0, &rerr) < 0)) {
            field = rerr.field;
            message = rerr.message;
        }
    }
    if (!bad && (bad = report_query_finish(&q, srv->cfg, today(srv), &rerr) < 0)) {
        field = rerr.field;
        message = rerr.message;
    }
    if (bad)
        http_reply_error(req, 400, field, message);
    evhttp_clear_headers(&params);
    if (bad)
        return;
    struct report_request *rq = request_new(srv, req);
    if (!rq)
        return;
    if (!(rq->report = report_new(srv->cfg, &q, NULL, (size_t)srv->cfg->report_max_rows))) {
        http_reply_unavailable(req, HTTP_NO_MEMORY);
        report_request_end(rq);
        return;
    }
    start_read(rq, &rq->report, 1, outcomes_read);
}

void reports_goals_handle(struct server *srv, struct evhttp_request *req, const char *query)
{
    static const char *const known[] = {NULL};
    if (auth_require(srv, req, ROLE_REPORT, "report") < 0)
        return;
    struct evkeyvalq params;
    struct param_error perr = {0};
    int bad = params_split_strict(query, known, &params, &perr) < 0;
    if (bad)
        http_reply_error(req, 400, perr.field, perr.message);
    evhttp_clear_headers(&params);
    if (bad)
        return;
    struct report_request *rq = request_new(srv, req);
    if (!rq)
        return;
    if (!(rq->goals = goals_new(srv->cfg, today(srv)))) {
        http_reply_unavailable(req, HTTP_NO_MEMORY);
        report_request_end(rq);
        return;
    }
    size_t n;
    struct report *const *reports = goals_reports(rq->goals, &n);
    start_read(rq, reports, n, goals_read);
}
