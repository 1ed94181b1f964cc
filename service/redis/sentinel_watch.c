/* sentinel_watch.c: see sentinel_watch.h.
 *
 * Two hiredis connections of its own, each to one Sentinel at a time:
 * `sub`, subscribed to +switch-master for as long as it lasts, and
 * `query`, made for one get-master-addr-by-name and closed after it. */
#include "redis/sentinel_watch.h"

#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"

#define SWITCH_CHANNEL "+switch-master"
#define RETRY_MS 250                /* a Sentinel that failed: the next one, after this */
#define TROUBLE_MIN_MS 200          /* at most one query per this for clients' trouble */

struct sentinel_watch {
    struct event_base *base;
    const struct config *cfg;
    struct redis_client **clients;  /* borrowed, moved with each switch */
    size_t nclients;
    char *host;                     /* the primary, owned; NULL: not known yet */
    int port;

    redisAsyncContext *sub;         /* subscribed (or subscribing) to +switch-master */
    size_t sub_at;                  /* which Sentinel */
    int subscribed;
    struct event *sub_retry;

    redisAsyncContext *query;       /* a get-master-addr-by-name in flight */
    size_t query_at;
    size_t query_misses;            /* Sentinels that failed in a row */
    int query_again;                /* asked for while one was in flight */
    uint64_t query_started;         /* monotonic ms */
    struct event *query_deadline, *query_retry, *recheck;

    struct sentinel_watch_stats stats;
};

static void query_start(struct sentinel_watch *sw);

static const struct redis_sentinel_address *sentinel(const struct sentinel_watch *sw, size_t i)
{
    return &sw->cfg->redis_sentinels[i % sw->cfg->nredis_sentinels];
}

static void add_ms(struct event *ev, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(ev, &tv);
}

/* Connects to Sentinel i and sends AUTH if one is configured. NULL (said
 * why) when that cannot even begin. */
static redisAsyncContext *sentinel_connect(struct sentinel_watch *sw, size_t i,
                                           redisConnectCallback *connected,
                                           redisDisconnectCallback *lost)
{
    const struct redis_sentinel_address *sa = sentinel(sw, i);
    redisAsyncContext *ac = redisAsyncConnect(sa->host, sa->port);
    if (!ac || ac->err) {
        log_msg(LOG_WARN, "sentinel %s:%d: cannot connect: %s", sa->host, sa->port,
                ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        return NULL;
    }
    ac->data = sw;
    redisLibeventAttach(ac, sw->base);
    redisAsyncSetConnectCallback(ac, connected);
    redisAsyncSetDisconnectCallback(ac, lost);
    /* a refused AUTH shows in the next reply, which is then an error */
    if (sw->cfg->redis_sentinel_password &&
        redisAsyncCommand(ac, NULL, NULL, "AUTH %s", sw->cfg->redis_sentinel_password) != REDIS_OK) {
        log_msg(LOG_WARN, "sentinel %s:%d: cannot send AUTH", sa->host, sa->port);
        ac->data = NULL;
        redisAsyncFree(ac);
        return NULL;
    }
    return ac;
}

/* ---- the primary ---------------------------------------------------------- */

static void primary_is(struct sentinel_watch *sw, const char *host, int port)
{
    if (sw->host && strcmp(sw->host, host) == 0 && sw->port == port) {
        for (size_t i = 0; i < sw->nclients; i++)
            redis_client_move(sw->clients[i], host, port);     /* reconnects at once if down */
        return;
    }
    char *copy = strdup(host);
    if (!copy) {
        log_msg(LOG_ERROR, "sentinel: out of memory: the primary %s:%d is not used", host, port);
        return;
    }
    if (sw->host) {
        sw->stats.switches++;
        log_msg(LOG_WARN, "sentinel: the primary %s is now %s:%d (was %s:%d)",
                sw->cfg->redis_master_name, host, port, sw->host, sw->port);
    } else {
        log_msg(LOG_INFO, "sentinel: the primary %s is %s:%d", sw->cfg->redis_master_name, host,
                port);
    }
    free(sw->host);
    sw->host = copy;
    sw->port = port;
    for (size_t i = 0; i < sw->nclients; i++)
        redis_client_move(sw->clients[i], host, port);
}

/* "IP" and "PORT" as Sentinel gives them. -1 when they are not. */
static int parse_port(const char *s, size_t len, int *port)
{
    if (len == 0 || len > 5)
        return -1;
    int p = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        p = p * 10 + (s[i] - '0');
    }
    if (p < 1 || p > 65535)
        return -1;
    *port = p;
    return 0;
}

/* ---- asking --------------------------------------------------------------- */

/* The query connection is done with (answered or failed). */
static void query_end(struct sentinel_watch *sw, int ok)
{
    redisAsyncContext *ac = sw->query;
    sw->query = NULL;
    event_del(sw->query_deadline);
    if (ac) {
        ac->data = NULL;
        redisAsyncDisconnect(ac);   /* hiredis frees it (after the callback, if in one) */
    }
    if (ok) {
        sw->query_misses = 0;
        if (sw->query_again) {
            sw->query_again = 0;
            query_start(sw);
        }
        return;
    }
    sw->stats.query_failures++;
    sw->query_at++;
    /* the next Sentinel at once; after a whole round that failed, a pause */
    if (++sw->query_misses % sw->cfg->nredis_sentinels == 0)
        add_ms(sw->query_retry, RETRY_MS);
    else
        query_start(sw);
}

static void query_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct sentinel_watch *sw = privdata;
    redisReply *reply = r;
    if (!reply || ac != sw->query)
        return;                     /* the connection went: query_lost says so */
    const struct redis_sentinel_address *sa = sentinel(sw, sw->query_at);
    int port;
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
        reply->element[0]->type == REDIS_REPLY_STRING &&
        reply->element[1]->type == REDIS_REPLY_STRING &&
        parse_port(reply->element[1]->str, reply->element[1]->len, &port) == 0) {
        sw->stats.queries++;
        primary_is(sw, reply->element[0]->str, port);
        query_end(sw, 1);
        return;
    }
    if (reply->type == REDIS_REPLY_NIL)
        log_msg(LOG_WARN, "sentinel %s:%d: does not know the primary %s", sa->host, sa->port,
                sw->cfg->redis_master_name);
    else
        log_msg(LOG_WARN, "sentinel %s:%d: get-master-addr-by-name %s: %s", sa->host, sa->port,
                sw->cfg->redis_master_name,
                reply->type == REDIS_REPLY_ERROR ? reply->str : "an answer that is no address");
    query_end(sw, 0);
}

static void query_connected(const redisAsyncContext *ac, int status)
{
    struct sentinel_watch *sw = ac->data;
    if (!sw || status == REDIS_OK)
        return;
    const struct redis_sentinel_address *sa = sentinel(sw, sw->query_at);
    log_msg(LOG_WARN, "sentinel %s:%d: connect failed: %s", sa->host, sa->port, ac->errstr);
    sw->query = NULL;               /* hiredis frees it */
    query_end(sw, 0);
}

static void query_lost(const redisAsyncContext *ac, int status)
{
    (void)status;
    struct sentinel_watch *sw = ac->data;
    if (!sw || ac != sw->query)
        return;
    sw->query = NULL;
    query_end(sw, 0);
}

static void query_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct sentinel_watch *sw = arg;
    const struct redis_sentinel_address *sa = sentinel(sw, sw->query_at);
    log_msg(LOG_WARN, "sentinel %s:%d: no answer within redis.timeout_ms", sa->host, sa->port);
    redisAsyncContext *ac = sw->query;
    sw->query = NULL;
    if (ac) {
        ac->data = NULL;
        redisAsyncFree(ac);
    }
    query_end(sw, 0);
}

static void query_start(struct sentinel_watch *sw)
{
    if (sw->query) {
        sw->query_again = 1;
        return;
    }
    event_del(sw->query_retry);
    sw->query_started = monotonic_ms();
    redisAsyncContext *ac = sentinel_connect(sw, sw->query_at, query_connected, query_lost);
    if (!ac) {
        query_end(sw, 0);
        return;
    }
    if (redisAsyncCommand(ac, query_reply, sw, "SENTINEL get-master-addr-by-name %s",
                          sw->cfg->redis_master_name) != REDIS_OK) {
        ac->data = NULL;
        redisAsyncFree(ac);
        query_end(sw, 0);
        return;
    }
    sw->query = ac;
    add_ms(sw->query_deadline, sw->cfg->redis_timeout_ms);
}

static void query_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    query_start(arg);
}

/* A client's connection failed, was lost or is to a replica: the
 * Sentinels are asked (at most once per TROUBLE_MIN_MS). */
static void client_trouble(void *arg)
{
    struct sentinel_watch *sw = arg;
    if (!sw->query && !evtimer_pending(sw->query_retry, NULL) &&
        monotonic_ms() - sw->query_started >= TROUBLE_MIN_MS)
        query_start(sw);
}

static void recheck_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct sentinel_watch *sw = arg;
    for (size_t i = 0; i < sw->nclients; i++)
        if (!redis_client_connected(sw->clients[i])) {
            if (!sw->query && !evtimer_pending(sw->query_retry, NULL))
                query_start(sw);
            break;
        }
    add_ms(sw->recheck, SENTINEL_RECHECK_MS);
}

/* ---- listening ------------------------------------------------------------ */

static void sub_start(struct sentinel_watch *sw);

static void sub_failed(struct sentinel_watch *sw)
{
    sw->sub = NULL;
    sw->subscribed = 0;
    sw->sub_at++;                   /* the next Sentinel */
    add_ms(sw->sub_retry, RETRY_MS);
}

/* +switch-master's message: "<name> <old ip> <old port> <new ip> <new port>". */
static void switch_heard(struct sentinel_watch *sw, const char *msg, size_t len)
{
    const char *word[5];
    size_t wlen[5], n = 0, i = 0;
    while (i < len && n < 5) {
        while (i < len && msg[i] == ' ')
            i++;
        size_t at = i;
        while (i < len && msg[i] != ' ')
            i++;
        if (i > at) {
            word[n] = msg + at;
            wlen[n++] = i - at;
        }
    }
    const char *name = sw->cfg->redis_master_name;
    int port;
    if (n != 5 || wlen[0] != strlen(name) || memcmp(word[0], name, wlen[0]) != 0 ||
        parse_port(word[4], wlen[4], &port) < 0 || wlen[3] >= 64)
        return;                     /* another primary's, or not a switch */
    char host[64];
    memcpy(host, word[3], wlen[3]);
    host[wlen[3]] = '\0';
    log_msg(LOG_INFO, "sentinel: +switch-master %.*s", (int)len, msg);
    primary_is(sw, host, port);
}

static void sub_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct sentinel_watch *sw = privdata;
    redisReply *reply = r;
    if (!reply || ac != sw->sub)
        return;
    const struct redis_sentinel_address *sa = sentinel(sw, sw->sub_at);
    if (reply->type == REDIS_REPLY_ERROR) {
        log_msg(LOG_WARN, "sentinel %s:%d: SUBSCRIBE %s refused: %s", sa->host, sa->port,
                SWITCH_CHANNEL, reply->str);
        redisAsyncDisconnect(ac);
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
        reply->element[0]->type != REDIS_REPLY_STRING)
        return;
    const char *kind = reply->element[0]->str;
    const redisReply *payload = reply->element[2];
    if (strcmp(kind, "subscribe") == 0) {
        sw->subscribed = 1;
        log_msg(LOG_INFO, "sentinel %s:%d: listening for %s", sa->host, sa->port, SWITCH_CHANNEL);
        query_start(sw);            /* a switch made before this was not heard */
    } else if (strcmp(kind, "message") == 0 && payload->type == REDIS_REPLY_STRING) {
        switch_heard(sw, payload->str, payload->len);
    }
}

static void sub_connected(const redisAsyncContext *ac, int status)
{
    struct sentinel_watch *sw = ac->data;
    if (!sw || status == REDIS_OK)
        return;
    const struct redis_sentinel_address *sa = sentinel(sw, sw->sub_at);
    log_msg(LOG_WARN, "sentinel %s:%d: connect failed: %s", sa->host, sa->port, ac->errstr);
    sub_failed(sw);                 /* hiredis frees the context */
}

static void sub_lost(const redisAsyncContext *ac, int status)
{
    struct sentinel_watch *sw = ac->data;
    if (!sw || ac != sw->sub)
        return;
    const struct redis_sentinel_address *sa = sentinel(sw, sw->sub_at);
    log_msg(LOG_WARN, "sentinel %s:%d: connection lost%s%s", sa->host, sa->port,
            status != REDIS_OK ? ": " : "", status != REDIS_OK ? ac->errstr : "");
    sub_failed(sw);
}

static void sub_start(struct sentinel_watch *sw)
{
    redisAsyncContext *ac = sentinel_connect(sw, sw->sub_at, sub_connected, sub_lost);
    if (!ac) {
        sub_failed(sw);
        return;
    }
    if (redisAsyncCommand(ac, sub_reply, sw, "SUBSCRIBE %s", SWITCH_CHANNEL) != REDIS_OK) {
        ac->data = NULL;
        redisAsyncFree(ac);
        sub_failed(sw);
        return;
    }
    sw->sub = ac;
}

static void sub_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sub_start(arg);
}

/* ---- lifetime ------------------------------------------------------------- */

struct sentinel_watch *sentinel_watch_new(struct event_base *base, const struct config *cfg)
{
    struct sentinel_watch *sw = calloc(1, sizeof *sw);
    if (!sw)
        return NULL;
    sw->base = base;
    sw->cfg = cfg;
    sw->sub_retry = evtimer_new(base, sub_retry_cb, sw);
    sw->query_deadline = evtimer_new(base, query_timeout, sw);
    sw->query_retry = evtimer_new(base, query_retry_cb, sw);
    sw->recheck = evtimer_new(base, recheck_cb, sw);
    if (!sw->sub_retry || !sw->query_deadline || !sw->query_retry || !sw->recheck) {
        sentinel_watch_free(sw);
        return NULL;
    }
    sub_start(sw);                  /* once subscribed it asks too */
    query_start(sw);                /* but not only then */
    add_ms(sw->recheck, SENTINEL_RECHECK_MS);
    return sw;
}

int sentinel_watch_add(struct sentinel_watch *sw, struct redis_client *rc)
{
    struct redis_client **grown = realloc(sw->clients, (sw->nclients + 1) * sizeof *grown);
    if (!grown)
        return -1;
    sw->clients = grown;
    sw->clients[sw->nclients++] = rc;
    redis_client_on_trouble(rc, client_trouble, sw);
    if (sw->host)
        redis_client_move(rc, sw->host, sw->port);
    return 0;
}

static void drop(redisAsyncContext *ac)
{
    if (!ac)
        return;
    ac->data = NULL;
    redisAsyncFree(ac);
}

void sentinel_watch_free(struct sentinel_watch *sw)
{
    if (!sw)
        return;
    for (size_t i = 0; i < sw->nclients; i++)
        redis_client_on_trouble(sw->clients[i], NULL, NULL);
    redisAsyncContext *sub = sw->sub, *query = sw->query;
    sw->sub = sw->query = NULL;     /* late replies find nothing of theirs */
    drop(sub);
    drop(query);
    struct event *ev[] = {sw->sub_retry, sw->query_deadline, sw->query_retry, sw->recheck};
    for (size_t i = 0; i < sizeof ev / sizeof ev[0]; i++)
        if (ev[i])
            event_free(ev[i]);
    free(sw->clients);
    free(sw->host);
    free(sw);
}

void sentinel_watch_get_stats(const struct sentinel_watch *sw, struct sentinel_watch_stats *out)
{
    *out = sw->stats;
    out->primary_host = sw->host;
    out->primary_port = sw->port;
    out->subscribed = sw->subscribed;
    out->sentinel_host = NULL;
    out->sentinel_port = 0;
    if (sw->sub) {
        const struct redis_sentinel_address *sa = sentinel(sw, sw->sub_at);
        out->sentinel_host = sa->host;
        out->sentinel_port = sa->port;
    }
}

/* ---- the onloan tool -------------------------------------------------------- */

int sentinel_resolve_blocking(struct config *cfg, struct strbuf *err)
{
    struct timeval tv = {cfg->redis_timeout_ms / 1000, (cfg->redis_timeout_ms % 1000) * 1000};
    for (size_t i = 0; i < cfg->nredis_sentinels; i++) {
        const struct redis_sentinel_address *sa = &cfg->redis_sentinels[i];
        redisContext *c = redisConnectWithTimeout(sa->host, sa->port, tv);
        redisReply *reply = NULL;
        int port;
        if (c && !c->err && redisSetTimeout(c, tv) == REDIS_OK) {
            if (cfg->redis_sentinel_password) {
                reply = redisCommand(c, "AUTH %s", cfg->redis_sentinel_password);
                freeReplyObject(reply);
            }
            reply = redisCommand(c, "SENTINEL get-master-addr-by-name %s", cfg->redis_master_name);
        }
        if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
            reply->element[0]->type == REDIS_REPLY_STRING &&
            reply->element[1]->type == REDIS_REPLY_STRING &&
            parse_port(reply->element[1]->str, reply->element[1]->len, &port) == 0) {
            char *host = strdup(reply->element[0]->str);
            freeReplyObject(reply);
            redisFree(c);
            if (!host) {
                strbuf_puts(err, "out of memory");
                return -1;
            }
            free(cfg->redis_host);
            cfg->redis_host = host;
            cfg->redis_port = port;
            /* from here on the tool uses that primary as redis.address */
            for (size_t j = 0; j < cfg->nredis_sentinels; j++)
                free(cfg->redis_sentinels[j].host);
            free(cfg->redis_sentinels);
            cfg->redis_sentinels = NULL;
            cfg->nredis_sentinels = 0;
            return 0;
        }
        strbuf_printf(err, "%ssentinel %s:%d: %s", err->len ? "; " : "", sa->host, sa->port,
                      !c ? "out of memory" : c->err ? c->errstr
                      : reply && reply->type == REDIS_REPLY_ERROR ? reply->str
                      : reply ? "does not know the primary" : "no answer");
        freeReplyObject(reply);
        redisFree(c);
    }
    return -1;
}
