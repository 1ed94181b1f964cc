/* compact.c: see compact.h. */
#include "model/compact.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "core/log.h"
#include "model/cooc_list.h"

/* Puts ARGV[1] (the compacted list) in place of the first ARGV[2] bytes
 * of KEYS[1], keeping what was appended since, if those bytes are still
 * the ones read: their header line (ARGV[3], "" if there was none) is
 * unchanged, since every compaction writes a new generation. Else -1:
 * another compactor got there first. */
static const char swap_script[] =
    "local cur = redis.call('GET', KEYS[1]) or ''\n"
    "local n, hdr = tonumber(ARGV[2]), ARGV[3]\n"
    "if #cur < n then return -1 end\n"
    "if hdr == '' then\n"
    "  if string.sub(cur, 1, 1) == '#' then return -1 end\n"
    "elseif string.sub(cur, 1, #hdr) ~= hdr then return -1 end\n"
    "redis.call('SET', KEYS[1], ARGV[1] .. string.sub(cur, n + 1))\n"
    "return 1\n";

struct compactor {
    struct event_base *base;
    struct redis_client *st;
    const struct config *cfg;
    struct event *timer;
    int running;                /* a round is in flight */
    struct redis_op *op;        /* its Redis call */
    LIST_HEAD(, readd) readds;  /* failed rounds' records going back to dirty */
    char **records;             /* this round's, owned */
    size_t nrecords;
    int full;                   /* the last SPOP filled the batch: go on */
    int stopped;                /* compactor_stop: no new rounds */
    compact_done_cb *all_cb;    /* compact_all caller, until dirty is empty */
    void *all_arg;
    enum failure all_error;      /* the failure to tell it once the re-adds are answered */
    struct compact_stats stats;
};

/* One SADD putting a failed round's records back in dirty. Several can be
 * in flight: a round can fail fast while an earlier one's SADD waits. */
struct readd {
    struct compactor *c;
    struct redis_op *op;
    LIST_ENTRY(readd) link;     /* in c->readds */
};

static void round_start(struct compactor *c);

static void round_free(struct compactor *c)
{
    for (size_t i = 0; i < c->nrecords; i++)
        free(c->records[i]);
    free(c->records);
    c->records = NULL;
    c->nrecords = 0;
}

/* Tells the compact_all caller, if any (once). */
static void all_done(struct compactor *c, enum failure error)
{
    if (c->all_cb) {
        compact_done_cb *cb = c->all_cb;
        c->all_cb = NULL;
        cb(error, c->all_arg);
    }
}

static void records_readded(redisReply *reply, enum failure error, void *arg)
{
    struct readd *r = arg;
    struct compactor *c = r->c;
    LIST_REMOVE(r, link);
    free(r);
    if (error || reply->type == REDIS_REPLY_ERROR)
        log_msg(LOG_WARN, "compaction: lists of a failed round not marked again (%s): "
                "compacted after their next counts", error ? failure_name(error) : reply->str);
    if (!c->running && LIST_EMPTY(&c->readds))
        all_done(c, c->all_error);
}

/* SPOP took them out of dirty: a round that failed puts them back, so
 * that no list stays long until its record happens to be counted again. */
static void records_readd(struct compactor *c)
{
    struct rcmd cmd = {0};
    if (!c->nrecords)
        return;
    struct readd *r = malloc(sizeof *r);
    int failed = !r || rcmd_addstr(&cmd, "SADD") | rcmd_addf(&cmd, "%sdirty", c->cfg->redis_prefix);
    for (size_t i = 0; i < c->nrecords && !failed; i++)
        failed = rcmd_addstr(&cmd, c->records[i]);
    if (failed) {
        log_msg(LOG_WARN, "compaction: out of memory: %zu lists not marked again", c->nrecords);
        free(r);
    } else {
        r->c = c;
        if ((r->op = redis_exec(c->st, &cmd, 1, records_readded, r))) {
            LIST_INSERT_HEAD(&c->readds, r, link);
        } else {
            log_msg(LOG_WARN, "compaction: out of memory: %zu lists not marked again", c->nrecords);
            free(r);
        }
    }
    rcmd_free(&cmd);
}

static void round_end(struct compactor *c, enum failure error)
{
    c->op = NULL;
    if (error)
        records_readd(c);
    round_free(c);
    c->running = 0;
    if (error) {
        c->stats.failures++;
        c->full = 0;
    }
    if (c->full && !c->stopped) {
        round_start(c);
        return;
    }
    /* A caller that stops when told (onloan load) must not stop before
     * every failed round's records are back in dirty. */
    c->all_error = error;
    if (LIST_EMPTY(&c->readds))
        all_done(c, error);
}

static void swapped(redisReply *reply, enum failure error, void *arg)
{
    struct compactor *c = arg;
    if (!error && reply->type == REDIS_REPLY_ARRAY) {
        /* A swap that failed (an error from inside the script: a write
         * refused, say) fails the round: its records go back to dirty. */
        for (size_t i = 0; i < reply->elements && !error; i++) {
            const redisReply *e = reply->element[i];
            if (e->type == REDIS_REPLY_INTEGER && e->integer < 0) {
                c->stats.conflicts++;
            } else if (e->type == REDIS_REPLY_ERROR) {
                log_msg(LOG_WARN, "compaction: %s", e->str);
                error = FAILURE_REDIS_UNAVAILABLE;
            }
        }
    } else if (!error) {
        log_msg(LOG_WARN, "compaction: %s", reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
        error = FAILURE_REDIS_UNAVAILABLE;
    }
    round_end(c, error);
}

/* EXEC reply of the GETs: compact each list, swap them all in one MULTI. */
static void lists_read(redisReply *reply, enum failure error, void *arg)
{
    struct compactor *c = arg;
    const struct config *cfg = c->cfg;
    if (!error && (reply->type != REDIS_REPLY_ARRAY || reply->elements != c->nrecords))
        error = FAILURE_REDIS_UNAVAILABLE;
    if (error) {
        round_end(c, error);
        return;
    }
    struct rcmd *cmds = calloc(c->nrecords, sizeof *cmds);
    int failed = !cmds;
    size_t ncmds = 0;
    for (size_t i = 0; !failed && i < c->nrecords; i++) {
        const redisReply *r = reply->element[i];
        if (r->type == REDIS_REPLY_ERROR) {
            /* a co: key of another type, say: as with a malformed list,
             * retrying would fail every round the record is in */
            log_msg(LOG_WARN, "compaction: co:%s not read (%s); left as it is", c->records[i], r->str);
            continue;
        }
        if (r->type != REDIS_REPLY_STRING)
            continue;           /* gone (forgotten or never written) */
        struct cooc_list list;
        struct strbuf out = {0};
        if (cooc_parse(&list, r->str, r->len) < 0) {
            log_msg(LOG_WARN, "compaction: co:%s is malformed; left as it is", c->records[i]);
            continue;
        }
        c->stats.entries_in += list.n;
        cooc_top(&list, (size_t)cfg->neighbours_max + (size_t)cfg->neighbours_reserve);
        c->stats.entries_kept += list.n;
        failed = cooc_encode(&list, cooc_next_gen(list.gen), &out) < 0;
        struct rcmd *cmd = &cmds[ncmds++];
        failed |= rcmd_addstr(cmd, "EVAL") | rcmd_addstr(cmd, swap_script) | rcmd_addstr(cmd, "1") |
                  rcmd_addf(cmd, "%sco:%s", cfg->redis_prefix, c->records[i]) |
                  rcmd_add(cmd, out.buf ? out.buf : "", out.len) | rcmd_addf(cmd, "%zu", r->len) |
                  rcmd_add(cmd, r->str, list.header_len);
        cooc_free(&list);
        c->stats.bytes_in += r->len;
        c->stats.bytes_out += out.len;
        c->stats.records++;
        strbuf_free(&out);
    }
    if (!failed && ncmds > 0)
        failed = !(c->op = redis_send(c->st, cmds, ncmds, REDIS_SEND_SURE | REDIS_SEND_ARRAY,
                                      swapped, NULL, c));
    for (size_t i = 0; cmds && i < ncmds; i++)
        rcmd_free(&cmds[i]);
    free(cmds);
    if (failed)
        round_end(c, FAILURE_OUT_OF_MEMORY);
    else if (ncmds == 0)
        round_end(c, FAILURE_NONE);
}

static void popped(redisReply *reply, enum failure error, void *arg)
{
    struct compactor *c = arg;
    if (!error && reply->type != REDIS_REPLY_ARRAY)
        error = FAILURE_REDIS_UNAVAILABLE;
    if (error) {
        round_end(c, error);
        return;
    }
    c->stats.rounds++;
    c->full = reply->elements >= (size_t)c->cfg->compact_batch;
    if (reply->elements == 0) {
        round_end(c, FAILURE_NONE);
        return;
    }
    c->records = calloc(reply->elements, sizeof *c->records);
    struct rcmd *cmds = calloc(reply->elements, sizeof *cmds);
    int failed = !c->records || !cmds;
    for (size_t i = 0; !failed && i < reply->elements; i++) {
        const redisReply *r = reply->element[i];
        if (r->type != REDIS_REPLY_STRING || !(c->records[c->nrecords] = strdup(r->str))) {
            failed = 1;
            break;
        }
        failed = rcmd_addstr(&cmds[c->nrecords], "GET") |
                 rcmd_addf(&cmds[c->nrecords], "%sco:%s", c->cfg->redis_prefix, r->str);
        c->nrecords++;
    }
    if (!failed)
        failed = !(c->op = redis_send(c->st, cmds, c->nrecords, REDIS_SEND_ARRAY, lists_read, NULL, c));
    for (size_t i = 0; cmds && i < c->nrecords; i++)
        rcmd_free(&cmds[i]);
    free(cmds);
    if (failed)
        round_end(c, FAILURE_OUT_OF_MEMORY);
}

static void round_start(struct compactor *c)
{
    if (c->running || c->stopped)
        return;
    c->running = 1;
    struct rcmd cmd = {0};
    if (rcmd_addstr(&cmd, "SPOP") | rcmd_addf(&cmd, "%sdirty", c->cfg->redis_prefix) |
        rcmd_addf(&cmd, "%d", c->cfg->compact_batch)) {
        rcmd_free(&cmd);
        round_end(c, FAILURE_OUT_OF_MEMORY);
        return;
    }
    c->op = redis_exec_sure(c->st, &cmd, 1, popped, NULL, c);
    rcmd_free(&cmd);
    if (!c->op)
        round_end(c, FAILURE_OUT_OF_MEMORY);
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    round_start(arg);
}

struct compactor *compactor_new(struct event_base *base, struct redis_client *st,
                                const struct config *cfg, int periodic)
{
    struct compactor *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->base = base;
    c->st = st;
    c->cfg = cfg;
    if (periodic) {
        struct timeval tv = {cfg->compact_interval_ms / 1000, (cfg->compact_interval_ms % 1000) * 1000};
        if (!(c->timer = event_new(base, -1, EV_PERSIST, tick, c)) || event_add(c->timer, &tv) < 0) {
            compactor_free(c);
            return NULL;
        }
    }
    return c;
}

void compactor_free(struct compactor *c)
{
    if (!c)
        return;
    if (c->timer)
        event_free(c->timer);
    if (c->running)
        redis_op_cancel(c->op);
    struct readd *r;
    while ((r = LIST_FIRST(&c->readds))) {
        LIST_REMOVE(r, link);
        redis_op_cancel(r->op);
        free(r);
    }
    round_free(c);
    free(c);
}

void compact_all(struct compactor *c, compact_done_cb *cb, void *arg)
{
    c->all_cb = cb;
    c->all_arg = arg;
    c->full = 1;
    if (!c->running)
        round_start(c);
}

void compactor_stop(struct compactor *c)
{
    c->stopped = 1;
    if (c->timer)
        event_del(c->timer);
}

int compactor_idle(const struct compactor *c)
{
    return !c->running && LIST_EMPTY(&c->readds);
}

void compact_get_stats(const struct compactor *c, struct compact_stats *st)
{
    *st = c->stats;
}
