/* report_read.c: see report_read.h. */
#include "report/report_read.h"

#include <stdlib.h>
#include <string.h>

#include "core/calendar.h"
#include "core/log.h"

struct trip {
    struct report_read *rd;
    struct redis_op *op;        /* NULL when not in flight */
    long days[REPORT_READ_DAYS];
    size_t ndays;
};

struct report_read {
    struct redis_client *redis;
    const struct config *cfg;
    struct report_cells *cells;
    struct report **reports;    /* borrowed */
    size_t nreports;
    report_read_done *done;
    void *arg;
    long next_day, last_day;    /* the next day to ask for; the last one wanted */
    size_t days_per_trip;
    struct trip trips[REPORT_READ_IN_FLIGHT];
    size_t next_trip;           /* the trip whose reply is due next (round robin) */
    size_t in_flight;
    struct redis_op *cells_op;
};

static void read_free(struct report_read *rd)
{
    free(rd->reports);
    free(rd);
}

void report_read_cancel(struct report_read *rd)
{
    if (!rd)
        return;
    if (rd->cells_op)
        redis_op_cancel(rd->cells_op);
    for (size_t i = 0; i < REPORT_READ_IN_FLIGHT; i++)
        if (rd->trips[i].op)
            redis_op_cancel(rd->trips[i].op);
    read_free(rd);
}

static void finish(struct report_read *rd, enum failure why, enum report_status status)
{
    report_read_done *done = rd->done;
    void *arg = rd->arg;
    report_read_cancel(rd);     /* what is still in flight is not wanted */
    done(why, status, arg);
}

/* Whether some report wants day. */
static int wanted(const struct report_read *rd, long day)
{
    for (size_t i = 0; i < rd->nreports; i++) {
        const struct report_query *q = report_query_of(rd->reports[i]);
        if (day >= q->from && day <= q->to)
            return 1;
    }
    return 0;
}

static void trip_reply(redisReply *reply, enum failure error, void *arg);

/* Asks for the next days into trip t. 1 when a trip was sent, 0 when no
 * day is left, -1 when out of memory. */
static int send_trip(struct report_read *rd, struct trip *t)
{
    t->ndays = 0;
    for (; rd->next_day <= rd->last_day && t->ndays < rd->days_per_trip; rd->next_day++)
        if (wanted(rd, rd->next_day))
            t->days[t->ndays++] = rd->next_day;
    if (!t->ndays)
        return 0;
    struct rcmd cmd = {0};
    int rc = rcmd_addstr(&cmd, "MGET");
    for (size_t i = 0; i < t->ndays && rc == 0; i++) {
        char day[CAL_DAY_BYTES + 1];
        cal_day_text(t->days[i], day);
        rc = rcmd_addjoin(&cmd, rd->cfg->redis_prefix, "ru1:", day);
    }
    t->op = rc == 0 ? redis_exec(rd->redis, &cmd, 1, trip_reply, t) : NULL;
    rcmd_free(&cmd);
    if (!t->op)
        return -1;
    rd->in_flight++;
    return 1;
}

/* Keeps REPORT_READ_IN_FLIGHT trips asked; done when none is left. */
static void ask_more(struct report_read *rd)
{
    for (size_t i = 0; i < REPORT_READ_IN_FLIGHT; i++) {
        struct trip *t = &rd->trips[(rd->next_trip + i) % REPORT_READ_IN_FLIGHT];
        if (t->op)
            continue;
        int sent = send_trip(rd, t);
        if (sent < 0) {
            finish(rd, FAILURE_NONE, REPORT_NO_MEMORY);
            return;
        }
        if (!sent)
            break;
    }
    if (rd->in_flight == 0)
        finish(rd, FAILURE_NONE, REPORT_OK);
}

static void trip_reply(redisReply *reply, enum failure error, void *arg)
{
    struct trip *t = arg;
    struct report_read *rd = t->rd;
    t->op = NULL;
    rd->in_flight--;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != t->ndays ||
        t != &rd->trips[rd->next_trip]) {
        log_msg(LOG_WARN, "report: rollup days not read: %s",
                error ? failure_name(error)
                      : reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
        finish(rd, error ? error : FAILURE_REDIS_UNAVAILABLE, REPORT_OK);
        return;
    }
    rd->next_trip = (rd->next_trip + 1) % REPORT_READ_IN_FLIGHT;
    for (size_t i = 0; i < t->ndays; i++) {
        const redisReply *day = reply->element[i];
        if (day->type != REDIS_REPLY_STRING)
            continue;           /* nil: nothing counted that day */
        for (size_t j = 0; j < rd->nreports; j++) {
            enum report_status st = report_add_day(rd->reports[j], t->days[i],
                                                   (const unsigned char *)day->str, day->len);
            if (st != REPORT_OK) {
                finish(rd, FAILURE_NONE, st);
                return;
            }
        }
    }
    ask_more(rd);
}

static void cells_reply(redisReply *reply, enum failure error, void *arg)
{
    struct report_read *rd = arg;
    rd->cells_op = NULL;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements % 2) {
        log_msg(LOG_WARN, "report: rollup cells not read: %s",
                error ? failure_name(error)
                      : reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
        finish(rd, error ? error : FAILURE_REDIS_UNAVAILABLE, REPORT_OK);
        return;
    }
    for (size_t i = 0; i < reply->elements; i += 2) {
        const redisReply *name = reply->element[i], *number = reply->element[i + 1];
        if (name->type != REDIS_REPLY_STRING || number->type != REDIS_REPLY_STRING)
            continue;
        if (report_cells_add(rd->cells, name->str, name->len, number->str, number->len) < 0) {
            finish(rd, FAILURE_NONE, REPORT_NO_MEMORY);
            return;
        }
    }
    if (report_cells_skipped(rd->cells))
        log_msg(LOG_WARN, "report: %zu malformed fields of %sru1:cells skipped",
                report_cells_skipped(rd->cells), rd->cfg->redis_prefix);
    for (size_t j = 0; j < rd->nreports; j++)
        if (report_bind(rd->reports[j], rd->cells) != REPORT_OK) {
            finish(rd, FAILURE_NONE, REPORT_NO_MEMORY);
            return;
        }
    size_t day_bytes = (size_t)report_cells_span(rd->cells) * RU_NCOUNTERS * 4;
    rd->days_per_trip = day_bytes ? REPORT_READ_BYTES / day_bytes : REPORT_READ_DAYS;
    if (rd->days_per_trip < 1)
        rd->days_per_trip = 1;
    if (rd->days_per_trip > REPORT_READ_DAYS)
        rd->days_per_trip = REPORT_READ_DAYS;
    if (report_cells_count(rd->cells) == 0)
        rd->next_day = rd->last_day + 1;   /* nothing was ever counted */
    ask_more(rd);
}

struct report_read *report_read_start(struct redis_client *redis, const struct config *cfg,
                                      struct report_cells *cells, struct report *const *reports,
                                      size_t n, report_read_done *done, void *arg)
{
    struct report_read *rd = calloc(1, sizeof *rd);
    if (!rd || !(rd->reports = malloc((n + 1) * sizeof *rd->reports))) {
        free(rd);
        return NULL;
    }
    memcpy(rd->reports, reports, n * sizeof *reports);
    rd->nreports = n;
    rd->redis = redis;
    rd->cfg = cfg;
    rd->cells = cells;
    rd->done = done;
    rd->arg = arg;
    rd->next_day = 0;
    rd->last_day = -1;      /* no day wanted, unless a report spans some */
    int any = 0;
    for (size_t i = 0; i < n; i++) {
        const struct report_query *q = report_query_of(reports[i]);
        if (q->to < q->from)
            continue;
        if (!any || q->from < rd->next_day)
            rd->next_day = q->from;
        if (!any || q->to > rd->last_day)
            rd->last_day = q->to;
        any = 1;
    }
    for (size_t i = 0; i < REPORT_READ_IN_FLIGHT; i++)
        rd->trips[i].rd = rd;
    struct rcmd cmd = {0};
    if (rcmd_addstr(&cmd, "HGETALL") == 0 &&
        rcmd_addjoin(&cmd, cfg->redis_prefix, "ru1:cells", "") == 0)
        rd->cells_op = redis_exec(redis, &cmd, 1, cells_reply, rd);
    rcmd_free(&cmd);
    if (!rd->cells_op) {
        read_free(rd);
        return NULL;
    }
    return rd;
}
