/* spool.c: see spool.h. */
#include "redis/spool.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"

#define SPOOL_FILE "spool.log"
#define RECORD_HASH_BYTES 16
/* Writes in flight at most. Redis answers a connection's commands in
 * order, so a read sent behind them (a model list, a history) waits for
 * them all: a write Redis cannot take at once waits here instead, where
 * nothing waits behind it. */
#define SEND_AHEAD 8
#define RESEND_MS 100               /* how often waiting writes are tried */
#define REPLAY_TICK_MS 250          /* how often confirmed writes are let go */

/* One write: its command, serialised (argument count, then each argument
 * as a length and its bytes). */
struct write {
    TAILQ_ENTRY(write) link;        /* in waiting, in_flight or confirmed */
    struct spool *sp;
    struct redis_op *op;            /* while in flight */
    int in_file;                    /* appended to the file (until it is emptied) */
    unsigned long long seq;         /* its place in the order writes came in */
    uint64_t confirmed_ms;          /* when Redis confirmed it (in confirmed) */
    size_t len;
    unsigned char data[];
};
TAILQ_HEAD(writes, write);

struct spool {
    struct event_base *base;
    struct redis_client *rc;
    const struct config *cfg;
    struct writes waiting, in_flight;
    size_t nwaiting, nin_flight, in_file;   /* in_file: records in the file not yet written */
    size_t reserved;                /* places held for writes to come (spool_reserve) */
    /* confirmed by Redis in the last spool_replay_ms that it was
     * connected, oldest first: sent again on its next connection */
    struct writes confirmed;
    size_t nconfirmed;
    unsigned long long seq;         /* the last write's */
    int fd;                         /* spool.log, or -1 (memory only) */
    int dirty;                      /* appended since the last sync */
    struct event *resend, *sync, *replay_tick;
    struct spool_stats stats;
};

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static struct write *write_new(struct spool *sp, const unsigned char *data, size_t len)
{
    struct write *w = malloc(sizeof *w + len);
    if (!w)
        return NULL;
    memset(w, 0, sizeof *w);
    w->sp = sp;
    w->seq = ++sp->seq;
    w->len = len;
    memcpy(w->data, data, len);
    return w;
}

/* The command as one block. NULL when out of memory. */
static struct write *write_of(struct spool *sp, const struct rcmd *cmd)
{
    size_t len = 4;
    for (int i = 0; i < cmd->argc; i++)
        len += 4 + cmd->len[i];
    struct write *w = malloc(sizeof *w + len);
    if (!w)
        return NULL;
    memset(w, 0, sizeof *w);
    w->sp = sp;
    w->seq = ++sp->seq;
    w->len = len;
    unsigned char *p = w->data;
    put_u32(p, (uint32_t)cmd->argc);
    p += 4;
    for (int i = 0; i < cmd->argc; i++) {
        put_u32(p, (uint32_t)cmd->len[i]);
        memcpy(p + 4, cmd->argv[i], cmd->len[i]);
        p += 4 + cmd->len[i];
    }
    return w;
}

/* The command again, its arguments pointing into w (nothing copied; not
 * for rcmd_free: free argv and len only). -1 when out of memory or when
 * the block is not a command (a file changed behind our back). */
static int command_of(const struct write *w, struct rcmd *cmd)
{
    memset(cmd, 0, sizeof *cmd);
    if (w->len < 4)
        return -1;
    uint32_t argc = get_u32(w->data);
    if (argc == 0 || argc > w->len / 4)
        return -1;
    cmd->argv = malloc(argc * sizeof *cmd->argv);
    cmd->len = malloc(argc * sizeof *cmd->len);
    if (!cmd->argv || !cmd->len) {
        free(cmd->argv);
        free(cmd->len);
        return -1;
    }
    const unsigned char *p = w->data + 4, *end = w->data + w->len;
    for (uint32_t i = 0; i < argc; i++) {
        uint32_t n = end - p >= 4 ? get_u32(p) : UINT32_MAX;
        if (n > (size_t)(end - p) - 4) {
            free(cmd->argv);
            free(cmd->len);
            return -1;
        }
        cmd->argv[i] = (char *)p + 4;
        cmd->len[i] = n;
        p += 4 + n;
    }
    cmd->argc = (int)argc;
    return p == end ? 0 : -1;
}

/* ---- the file ---------------------------------------------------------------- */

static void file_append(struct spool *sp, struct write *w)
{
    if (sp->fd < 0 || w->in_file)
        return;
    unsigned char head[4], hash[RECORD_HASH_BYTES];
    put_u32(head, (uint32_t)w->len);
    crypto_generichash(hash, sizeof hash, w->data, w->len, NULL, 0);
    struct part {
        const void *base;
        size_t len;
    } part[3] = {{head, 4}, {w->data, w->len}, {hash, sizeof hash}};
    for (int i = 0; i < 3; i++) {
        const unsigned char *p = part[i].base;
        size_t left = part[i].len;
        while (left) {
            ssize_t n = write(sp->fd, p, left);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                sp->stats.file_errors++;
                log_msg(LOG_WARN, "spool: cannot append to %s/%s: %s (kept in memory)",
                        sp->cfg->spool_dir, SPOOL_FILE, strerror(errno));
                return;
            }
            p += n;
            left -= (size_t)n;
        }
    }
    w->in_file = 1;
    sp->in_file++;
    if (!sp->dirty) {
        sp->dirty = 1;
        struct timeval tv = {sp->cfg->spool_sync_ms / 1000, (sp->cfg->spool_sync_ms % 1000) * 1000};
        evtimer_add(sp->sync, &tv);
    }
}

static void sync_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct spool *sp = arg;
    sp->dirty = 0;
    if (sp->fd >= 0 && fdatasync(sp->fd) < 0) {
        sp->stats.file_errors++;
        log_msg(LOG_WARN, "spool: cannot sync %s/%s: %s", sp->cfg->spool_dir, SPOOL_FILE,
                strerror(errno));
    }
}

/* A record of the file has been written to Redis: once none waits any
 * more, the file starts afresh. */
static void file_done(struct spool *sp, struct write *w)
{
    if (!w->in_file)
        return;
    if (--sp->in_file == 0 && sp->fd >= 0 && ftruncate(sp->fd, 0) < 0) {
        sp->stats.file_errors++;
        log_msg(LOG_WARN, "spool: cannot empty %s/%s: %s", sp->cfg->spool_dir, SPOOL_FILE,
                strerror(errno));
    }
}

/* The writes an earlier run left, in order, up to the first record cut
 * short or changed (a crash in the middle of an append). */
static int file_load(struct spool *sp, struct strbuf *err)
{
    struct stat st;
    if (fstat(sp->fd, &st) < 0) {
        strbuf_printf(err, "spool: %s/%s: %s", sp->cfg->spool_dir, SPOOL_FILE, strerror(errno));
        return -1;
    }
    if (st.st_size == 0)
        return 0;
    unsigned char *all = malloc((size_t)st.st_size);
    if (!all) {
        strbuf_printf(err, "spool: no memory to read %s/%s", sp->cfg->spool_dir, SPOOL_FILE);
        return -1;
    }
    size_t have = 0;
    while (have < (size_t)st.st_size) {
        ssize_t n = pread(sp->fd, all + have, (size_t)st.st_size - have, (off_t)have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        have += (size_t)n;
    }
    size_t at = 0, loaded = 0;
    while (at + 4 <= have) {
        size_t len = get_u32(all + at);
        unsigned char hash[RECORD_HASH_BYTES];
        if (len > have - at - 4 || RECORD_HASH_BYTES > have - at - 4 - len)
            break;
        crypto_generichash(hash, sizeof hash, all + at + 4, len, NULL, 0);
        if (sodium_memcmp(hash, all + at + 4 + len, sizeof hash) != 0)
            break;
        struct write *w = write_new(sp, all + at + 4, len);
        if (!w) {
            free(all);
            strbuf_printf(err, "spool: no memory for the writes of %s/%s", sp->cfg->spool_dir,
                          SPOOL_FILE);
            return -1;
        }
        w->in_file = 1;
        sp->in_file++;
        TAILQ_INSERT_TAIL(&sp->waiting, w, link);
        sp->nwaiting++;
        loaded++;
        at += 4 + len + RECORD_HASH_BYTES;
    }
    free(all);
    if (at < have)
        log_msg(LOG_WARN, "spool: %s/%s ends in %zu bytes that are not a whole record "
                "(a crash while appending): left out", sp->cfg->spool_dir, SPOOL_FILE, have - at);
    if (loaded)
        log_msg(LOG_INFO, "spool: %zu writes of an earlier run to send", loaded);
    return 0;
}

/* ---- sending ------------------------------------------------------------------ */

static void send_write(struct spool *sp, struct write *w);

/* A write waits in its place: new ones at the end, one that was sent and
 * came back (its connection lost) before every later one: a touchpoint's
 * outcome must not reach Redis before the touchpoint. */
static void keep_waiting(struct spool *sp, struct write *w, int came_back)
{
    struct write *after = NULL;
    if (came_back)
        TAILQ_FOREACH(after, &sp->waiting, link)
            if (after->seq > w->seq)
                break;
    if (after)
        TAILQ_INSERT_BEFORE(after, w, link);
    else
        TAILQ_INSERT_TAIL(&sp->waiting, w, link);
    sp->nwaiting++;
    file_append(sp, w);
    if (!evtimer_pending(sp->resend, NULL)) {
        struct timeval tv = {0, RESEND_MS * 1000};
        evtimer_add(sp->resend, &tv);
    }
}

/* An error reply that says "not now" rather than "never": Redis loading
 * its data after a restart, busy with a script, out of memory under
 * noeviction, a replica, a user not (yet) allowed, or a script sent by
 * its SHA1 that Redis has not got (sent as EVAL then). The write waits
 * and is sent again; any other error is the write's own and final. */
static int error_is_transient(const char *msg)
{
    static const char *const transient[] = {"LOADING", "BUSY", "OOM", "READONLY", "MASTERDOWN",
                                            "NOAUTH", "NOPERM", "TRYAGAIN", "CLUSTERDOWN",
                                            "NOREPLICAS", "NOSCRIPT", NULL};
    for (const char *const *t = transient; *t; t++)
        if (strncmp(msg, *t, strlen(*t)) == 0 && (msg[strlen(*t)] == ' ' || !msg[strlen(*t)]))
            return 1;
    return 0;
}

static void send_waiting(struct spool *sp);

/* ---- confirmed writes, sent again -------------------------------------------
 *
 * Redis may lose what it confirmed: killed while its append-only file
 * waits on a slow fsync (appendfsync everysec), or a primary lost before
 * its replicas had the write (replication is asynchronous). So a
 * confirmed write is kept for spool_replay_ms of connected time, and
 * every one kept is sent again when the next connection comes up (to a
 * Redis restarted, or to a new primary): idempotent, it changes nothing
 * where it survived. At most limits.max_spooled_writes are kept; the
 * oldest go first. */

static void let_go_confirmed(struct spool *sp, uint64_t now)
{
    struct write *w;
    while ((w = TAILQ_FIRST(&sp->confirmed)) &&
           (now - w->confirmed_ms > (uint64_t)sp->cfg->spool_replay_ms ||
            sp->nconfirmed > (size_t)sp->cfg->spool_max_writes)) {
        TAILQ_REMOVE(&sp->confirmed, w, link);
        sp->nconfirmed--;
        free(w);
    }
}

static void keep_confirmed(struct spool *sp, struct write *w)
{
    if (sp->cfg->spool_replay_ms == 0) {
        free(w);
        return;
    }
    w->in_file = 0;
    w->confirmed_ms = monotonic_ms();
    TAILQ_INSERT_TAIL(&sp->confirmed, w, link);
    sp->nconfirmed++;
    let_go_confirmed(sp, w->confirmed_ms);
}

/* Time passes only while Redis is there: what it confirmed just before
 * it went is still kept when it comes back. */
static void replay_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct spool *sp = arg;
    if (redis_client_connected(sp->rc))
        let_go_confirmed(sp, monotonic_ms());
}

/* A new connection: every write kept goes again, in its place before
 * those that wait. */
static void replay_confirmed(void *arg)
{
    struct spool *sp = arg;
    struct write *w;
    size_t n = sp->nconfirmed;
    while ((w = TAILQ_FIRST(&sp->confirmed))) {
        TAILQ_REMOVE(&sp->confirmed, w, link);
        sp->nconfirmed--;
        sp->stats.replayed++;
        keep_waiting(sp, w, 1);
    }
    if (n)
        log_msg(LOG_INFO, "spool: Redis connected again: the %zu writes it confirmed last "
                "are sent again (spool_replay_ms)", n);
    send_waiting(sp);
}

int spool_remember(struct spool *sp, const struct rcmd *cmd)
{
    if (sp->cfg->spool_replay_ms == 0)
        return 0;
    struct write *w = write_of(sp, cmd);
    if (!w)
        return -1;
    keep_confirmed(sp, w);
    return 0;
}

static void write_answered(redisReply *reply, enum failure error, void *arg)
{
    struct write *w = arg;
    struct spool *sp = w->sp;
    TAILQ_REMOVE(&sp->in_flight, w, link);
    sp->nin_flight--;
    w->op = NULL;
    (void)error;
    if (!reply || (reply->type == REDIS_REPLY_ERROR && error_is_transient(reply->str))) {
        /* the connection went with the write, or Redis cannot take it
         * yet: it may or may not have been applied; sent again, it
         * counts once either way */
        if (reply && sp->stats.transient_errors++ % 1000 == 0)
            log_msg(LOG_WARN, "spool: Redis cannot take writes now (%s): they wait", reply->str);
        sp->stats.kept++;
        keep_waiting(sp, w, 1);
        return;
    }
    file_done(sp, w);
    if (reply->type == REDIS_REPLY_ERROR) {
        sp->stats.failed++;
        log_msg(LOG_WARN, "spool: a write refused by Redis, dropped: %s", reply->str);
        free(w);
    } else {
        sp->stats.written++;
        keep_confirmed(sp, w);
    }
    send_waiting(sp);               /* the next ones at once: a spool drains faster than it fills */
}

static void send_write(struct spool *sp, struct write *w)
{
    struct rcmd cmd;
    if (command_of(w, &cmd) < 0) {
        sp->stats.failed++;
        log_msg(LOG_WARN, "spool: a write that is not a command (or no memory to send it), "
                "dropped");
        file_done(sp, w);
        free(w);
        return;
    }
    w->op = redis_send(sp->rc, &cmd, 1, REDIS_SEND_SURE | REDIS_SEND_CACHED, write_answered,
                       NULL, w);
    free(cmd.argv);
    free(cmd.len);
    if (!w->op) {
        keep_waiting(sp, w, 1);
        return;
    }
    TAILQ_INSERT_TAIL(&sp->in_flight, w, link);
    sp->nin_flight++;
}

/* Sends what waits, in order, up to SEND_AHEAD in flight. */
static void send_waiting(struct spool *sp)
{
    struct write *w;
    if (!redis_client_connected(sp->rc))
        return;
    while (sp->nin_flight < SEND_AHEAD && (w = TAILQ_FIRST(&sp->waiting))) {
        TAILQ_REMOVE(&sp->waiting, w, link);
        sp->nwaiting--;
        send_write(sp, w);
        if (TAILQ_FIRST(&sp->waiting) == w)
            break;          /* could not be sent: back where it was */
    }
}

static void resend_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct spool *sp = arg;
    send_waiting(sp);
    if (sp->nwaiting) {
        struct timeval tv = {0, RESEND_MS * 1000};
        evtimer_add(sp->resend, &tv);
    }
}

static int spool_full(const struct spool *sp)
{
    return sp->nwaiting + sp->nin_flight + sp->reserved >= (size_t)sp->cfg->spool_max_writes;
}

static int spool_put(struct spool *sp, const struct rcmd *cmd);

int spool_write(struct spool *sp, const struct rcmd *cmd)
{
    if (spool_full(sp)) {
        sp->stats.refused++;
        return -1;
    }
    return spool_put(sp, cmd);
}

int spool_reserve(struct spool *sp)
{
    if (spool_full(sp)) {
        sp->stats.refused++;
        return -1;
    }
    sp->reserved++;
    return 0;
}

int spool_write_reserved(struct spool *sp, const struct rcmd *cmd)
{
    sp->reserved--;
    return cmd ? spool_put(sp, cmd) : 0;
}

static int spool_put(struct spool *sp, const struct rcmd *cmd)
{
    struct write *w = write_of(sp, cmd);
    if (!w) {
        sp->stats.refused++;
        return -1;
    }
    if (sp->nwaiting == 0 && sp->nin_flight < SEND_AHEAD && redis_client_connected(sp->rc)) {
        send_write(sp, w);
        return 0;
    }
    sp->stats.kept++;
    keep_waiting(sp, w, 0);
    return 0;
}

/* ---- lifetime ----------------------------------------------------------------- */

struct spool *spool_new(struct event_base *base, struct redis_client *rc, const struct config *cfg,
                        struct strbuf *err)
{
    struct spool *sp = calloc(1, sizeof *sp);
    if (!sp) {
        strbuf_puts(err, "spool: out of memory");
        return NULL;
    }
    sp->base = base;
    sp->rc = rc;
    sp->cfg = cfg;
    sp->fd = -1;
    TAILQ_INIT(&sp->waiting);
    TAILQ_INIT(&sp->in_flight);
    TAILQ_INIT(&sp->confirmed);
    sp->resend = evtimer_new(base, resend_cb, sp);
    sp->sync = evtimer_new(base, sync_cb, sp);
    sp->replay_tick = event_new(base, -1, EV_PERSIST, replay_tick_cb, sp);
    struct timeval tick = {0, REPLAY_TICK_MS * 1000};
    if (!sp->resend || !sp->sync || !sp->replay_tick || evtimer_add(sp->replay_tick, &tick) < 0) {
        strbuf_puts(err, "spool: out of memory");
        spool_free(sp);
        return NULL;
    }
    if (cfg->spool_dir && *cfg->spool_dir) {
        struct strbuf path = {0};
        if (strbuf_printf(&path, "%s/%s", cfg->spool_dir, SPOOL_FILE) < 0 ||
            (sp->fd = open(path.buf, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0) {
            strbuf_printf(err, "spool: cannot open %s: %s", path.buf ? path.buf : cfg->spool_dir,
                          strerror(errno));
            strbuf_free(&path);
            spool_free(sp);
            return NULL;
        }
        if (flock(sp->fd, LOCK_EX | LOCK_NB) < 0) {
            strbuf_printf(err, "spool: %s is %s", path.buf,
                          errno == EWOULDBLOCK ? "another onloand's (spool_dir must be a "
                                                 "daemon's own)" : strerror(errno));
            strbuf_free(&path);
            spool_free(sp);
            return NULL;
        }
        strbuf_free(&path);
        if (file_load(sp, err) < 0) {
            spool_free(sp);
            return NULL;
        }
    }
    if (sp->nwaiting) {
        struct timeval tv = {0, 0};
        evtimer_add(sp->resend, &tv);
    }
    redis_client_on_connect(rc, replay_confirmed, sp);
    return sp;
}

void spool_free(struct spool *sp)
{
    if (!sp)
        return;
    struct write *w;
    if (sp->rc)
        redis_client_on_connect(sp->rc, NULL, NULL);
    /* Writes in flight are the Redis client's to answer (it is freed
     * after the spool: redis_op_cancel here); they are in the file if
     * they ever had to wait, else they were sent once and may be lost
     * with a stop while Redis was slow: a stop waits for the spool first
     * (server_drain). */
    while ((w = TAILQ_FIRST(&sp->in_flight))) {
        TAILQ_REMOVE(&sp->in_flight, w, link);
        redis_op_cancel(w->op);
        file_append(sp, w);
        free(w);
    }
    while ((w = TAILQ_FIRST(&sp->waiting))) {
        TAILQ_REMOVE(&sp->waiting, w, link);
        free(w);
    }
    while ((w = TAILQ_FIRST(&sp->confirmed))) {
        TAILQ_REMOVE(&sp->confirmed, w, link);
        free(w);
    }
    if (sp->fd >= 0) {
        if (sp->dirty && fdatasync(sp->fd) < 0)
            log_msg(LOG_WARN, "spool: cannot sync %s/%s: %s", sp->cfg->spool_dir, SPOOL_FILE,
                    strerror(errno));
        close(sp->fd);
    }
    if (sp->resend)
        event_free(sp->resend);
    if (sp->sync)
        event_free(sp->sync);
    if (sp->replay_tick)
        event_free(sp->replay_tick);
    free(sp);
}

void spool_get_stats(const struct spool *sp, struct spool_stats *st)
{
    *st = sp->stats;
    st->waiting = sp->nwaiting;
    st->in_flight = sp->nin_flight;
    st->confirmed_kept = sp->nconfirmed;
    st->bytes = 0;
    const struct write *w;
    TAILQ_FOREACH(w, &sp->waiting, link)
        st->bytes += w->len;
    TAILQ_FOREACH(w, &sp->in_flight, link)
        st->bytes += w->len;
    TAILQ_FOREACH(w, &sp->confirmed, link)
        st->bytes += w->len;
}

int spool_idle(const struct spool *sp)
{
    return sp->nwaiting == 0 && sp->nin_flight == 0 && sp->reserved == 0;
}
