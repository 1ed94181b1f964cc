/* touchpoint_batch.c: see touchpoint_batch.h. */
#include "redis/touchpoint_batch.h"

#include <stdlib.h>

#include "core/log.h"

struct touchpoint_batch {
    struct spool *sp;
    const struct config *cfg;
    struct event *pass_end;         /* active while touchpoints are gathered */
    struct touchpoint_writes w;     /* they, with a place reserved in the spool */
    struct touchpoint_batch_stats stats;
};

static void pass_end_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    touchpoint_batch_flush(arg);
}

struct touchpoint_batch *touchpoint_batch_new(struct event_base *base, struct spool *sp,
                                              const struct config *cfg)
{
    struct touchpoint_batch *tb = calloc(1, sizeof *tb);
    if (!tb)
        return NULL;
    tb->sp = sp;
    tb->cfg = cfg;
    if (!(tb->pass_end = event_new(base, -1, 0, pass_end_cb, tb))) {
        free(tb);
        return NULL;
    }
    return tb;
}

void touchpoint_batch_free(struct touchpoint_batch *tb)
{
    if (!tb)
        return;
    touchpoint_batch_flush(tb);
    event_free(tb->pass_end);
    free(tb);
}

int touchpoint_batch_add(struct touchpoint_batch *tb, const struct touchpoint *tp, uint64_t ms,
                         uint64_t draw, const enum ru_counter *counters, size_t ncounters,
                         char id[TOUCHPOINT_ID_MAX_BYTES + 1])
{
    if (tb->w.n == 0 && spool_reserve(tb->sp) < 0)
        return -1;
    if (touchpoint_writes_add(tb->cfg, &tb->w, tp, ms, draw, counters, ncounters, id) < 0) {
        if (tb->w.n == 0)
            spool_write_reserved(tb->sp, NULL);
        return -1;
    }
    if (tb->w.n >= TOUCHPOINT_BATCH_PLACES)
        touchpoint_batch_flush(tb);
    else if (tb->w.n == 1)
        event_active(tb->pass_end, EV_TIMEOUT, 1);   /* after the events of this pass */
    return 0;
}

void touchpoint_batch_flush(struct touchpoint_batch *tb)
{
    if (tb->w.n == 0)
        return;
    struct rcmd cmd = {0};
    int rc = touchpoint_writes_command(tb->cfg, &tb->w, &cmd);
    if (spool_write_reserved(tb->sp, rc == 0 ? &cmd : NULL) < 0 || rc < 0) {
        tb->stats.lost += tb->w.n;
        log_msg(LOG_WARN, "%zu touchpoints not logged: no memory for their write", tb->w.n);
    } else {
        tb->stats.batches++;
        tb->stats.touchpoints += tb->w.n;
    }
    rcmd_free(&cmd);
    touchpoint_writes_clear(&tb->w);
    event_del(tb->pass_end);
}

void touchpoint_batch_get_stats(const struct touchpoint_batch *tb,
                                struct touchpoint_batch_stats *st)
{
    *st = tb->stats;
}
