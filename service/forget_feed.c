/* forget_feed.c: see forget_feed.h.
 *
 * One hiredis connection in subscriber mode: hiredis calls sub_reply for
 * the SUBSCRIBE confirmation and then for every message (and once with
 * NULL when the connection goes). */
#include "forget_feed.h"

#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pseudo.h"

#define RECONNECT_MS 250

struct forget_feed {
    struct event_base *base;
    const struct config *cfg;
    forget_heard_cb *heard;
    void *arg;
    redisAsyncContext *ac;      /* NULL while disconnected */
    int listening;              /* the SUBSCRIBE was confirmed on ac */
    struct event *reconnect;
    struct forget_feed_stats stats;
};

static void feed_connect(struct forget_feed *ff);

static void schedule_reconnect(struct forget_feed *ff)
{
    struct timeval tv = {0, RECONNECT_MS * 1000};
    if (!evtimer_pending(ff->reconnect, NULL))
        evtimer_add(ff->reconnect, &tv);
}

/* Stops listening: any forget from now on may be missed, so whatever was
 * kept for any patron goes. */
static void stop_listening(struct forget_feed *ff)
{
    int was = ff->listening;
    ff->listening = 0;
    if (was)
        ff->heard(NULL, ff->arg);
}

static int is_pseudonym(const char *s, size_t len)
{
    if (len != PSEUDONYM_HEX_LEN)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static void sub_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    struct forget_feed *ff = privdata;
    redisReply *reply = r;
    if (!reply)
        return;                 /* the connection went: disconnected() follows */
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
        reply->element[0]->type != REDIS_REPLY_STRING) {
        if (reply->type == REDIS_REPLY_ERROR)
            log_msg(LOG_WARN, "forget feed: SUBSCRIBE refused: %s", reply->str);
        return;
    }
    const char *kind = reply->element[0]->str;
    const redisReply *payload = reply->element[2];
    if (strcmp(kind, "subscribe") == 0) {
        /* Forgets made while the feed was down were not heard. */
        ff->listening = 1;
        ff->stats.subscribed++;
        ff->heard(NULL, ff->arg);
        log_msg(LOG_INFO, "forget feed: listening");
    } else if (strcmp(kind, "message") == 0) {
        if (payload->type == REDIS_REPLY_STRING && is_pseudonym(payload->str, payload->len)) {
            ff->stats.heard++;
            ff->heard(payload->str, ff->arg);
        } else {
            ff->stats.refused++;
            log_msg(LOG_WARN, "forget feed: a message that is not a pseudonym was ignored");
        }
    }
}

static void connected(const redisAsyncContext *ac, int status)
{
    struct forget_feed *ff = ac->data;
    if (!ff)
        return;
    if (status != REDIS_OK) {
        log_msg(LOG_WARN, "forget feed: redis %s:%d: connect failed: %s", ff->cfg->redis_host,
                ff->cfg->redis_port, ac->errstr);
        ff->ac = NULL;          /* hiredis frees the context after this */
        schedule_reconnect(ff);
    }
}

static void disconnected(const redisAsyncContext *ac, int status)
{
    struct forget_feed *ff = ac->data;
    if (!ff)
        return;                 /* forget_feed_free is disconnecting */
    if (status != REDIS_OK)
        log_msg(LOG_WARN, "forget feed: connection lost: %s", ac->errstr);
    ff->ac = NULL;
    stop_listening(ff);
    schedule_reconnect(ff);
}

static void reconnect_due(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    feed_connect(arg);
}

static void feed_connect(struct forget_feed *ff)
{
    redisAsyncContext *ac = redisAsyncConnect(ff->cfg->redis_host, ff->cfg->redis_port);
    if (!ac || ac->err) {
        log_msg(LOG_WARN, "forget feed: cannot connect: %s", ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        schedule_reconnect(ff);
        return;
    }
    ac->data = ff;
    redisLibeventAttach(ac, ff->base);
    redisAsyncSetConnectCallback(ac, connected);
    redisAsyncSetDisconnectCallback(ac, disconnected);
    /* queued until the connection is up; confirmed in sub_reply */
    if (redisAsyncCommand(ac, sub_reply, ff, "SUBSCRIBE %s%s", ff->cfg->redis_prefix,
                          FORGET_CHANNEL) != REDIS_OK) {
        log_msg(LOG_WARN, "forget feed: cannot subscribe: %s", ac->errstr);
        ac->data = NULL;
        redisAsyncFree(ac);
        schedule_reconnect(ff);
        return;
    }
    ff->ac = ac;
}

struct forget_feed *forget_feed_new(struct event_base *base, const struct config *cfg,
                                    forget_heard_cb *heard, void *arg)
{
    struct forget_feed *ff = calloc(1, sizeof *ff);
    if (!ff)
        return NULL;
    ff->base = base;
    ff->cfg = cfg;
    ff->heard = heard;
    ff->arg = arg;
    if (!(ff->reconnect = evtimer_new(base, reconnect_due, ff))) {
        free(ff);
        return NULL;
    }
    feed_connect(ff);
    return ff;
}

void forget_feed_free(struct forget_feed *ff)
{
    if (!ff)
        return;
    if (ff->ac) {
        redisAsyncContext *ac = ff->ac;
        ff->ac = NULL;
        ac->data = NULL;
        redisAsyncFree(ac);     /* sub_reply gets NULL: nothing to do */
    }
    event_free(ff->reconnect);
    free(ff);
}

int forget_feed_listening(const struct forget_feed *ff)
{
    return ff && ff->listening;
}

void forget_feed_get_stats(const struct forget_feed *ff, struct forget_feed_stats *out)
{
    *out = ff->stats;
}
