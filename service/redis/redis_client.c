/* redis_client.c: async Redis with deadlines and reconnects; see redis_client.h.
 *
 * An operation is freed when both its Redis reply has come back (or will
 * never come) and its caller has been answered (or has cancelled). */
#include "redis/redis_client.h"

#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include "core/log.h"

/* A script sent with REDIS_SEND_CACHED, and whether the connection of
 * the client's generation has it (SCRIPT LOAD's reply said its SHA1). */
enum script_state { SCRIPT_UNKNOWN, SCRIPT_LOADING, SCRIPT_LOADED, SCRIPT_REFUSED };
struct cached_script {
    struct redis_client *st;
    char *body;                 /* owned */
    size_t len;
    enum script_state state;
    unsigned long long generation;  /* of the connection state is about */
    char sha[41];               /* SCRIPT_LOADED: SCRIPT LOAD's reply */
};

struct redis_client {
    struct event_base *base;
    const struct config *cfg;
    char *host;                 /* owned: where Redis is, or NULL: not known yet
                                 * (redis_client_move tells) */
    int port;
    int check_role;             /* with Sentinels: ROLE must say master before use */
    redisAsyncContext *ac;      /* NULL while disconnected */
    int connected;              /* connected (and, with check_role, a primary) */
    redis_connected_cb *on_connect; /* redis_client_on_connect */
    void *on_connect_arg;
    struct event *reconnect;
    redis_trouble_cb *on_trouble;   /* redis_client_on_trouble */
    void *trouble_arg;
    unsigned long long moves;   /* redis_client_move to another address */
    unsigned connect_failures;  /* in a row: logged the first, then every 40th (10 s) */
    /* a subscriber (redis_subscriber_new) */
    char *channel;              /* owned; NULL: an ordinary store */
    redis_message_cb *message;
    redis_listening_cb *listening;
    void *sub_arg;
    int subscribed;             /* the SUBSCRIBE was confirmed on ac */
    /* redis.timeout_ms as one of libevent's common timeouts: every
     * operation has the same, so a queue does instead of the timer heap */
    const struct timeval *op_timeout;
    LIST_HEAD(, redis_op) ops;  /* every op not freed yet: redis_client_free ends them */
    unsigned long long generation;  /* of ac: one more for each connection made */
    struct cached_script scripts[REDIS_CACHED_SCRIPTS];
    size_t nscripts;
    int closing;                /* redis_client_free has begun: nothing new is sent */
    struct redis_client_stats stats;
};

struct redis_op {
    LIST_ENTRY(redis_op) link;  /* in its client's ops */
    struct cached_script *script;   /* sent as EVALSHA of it, or NULL */
    struct redis_client_stats *stats;   /* its client's */
    redis_cb *cb;
    redis_late_cb *late;        /* redis_exec_sure: the deadline only tells this */
    int sure;
    void *arg;
    int answered;               /* cb called, or cancelled */
    int awaiting_reply;         /* hiredis (or the deferred failure) still owes us */
    struct event *deadline;     /* in the same allocation, after the op */
};

/* The op and its deadline event in one allocation (the event's size is
 * libevent's to say, so it goes after the op, aligned). */
#define OP_EVENT_OFFSET \
    ((sizeof(struct redis_op) + _Alignof(max_align_t) - 1) / _Alignof(max_align_t) * \
     _Alignof(max_align_t))

/* ---- operations ---------------------------------------------------------- */

static void op_free(struct redis_op *op)
{
    event_del(op->deadline);
    LIST_REMOVE(op, link);
    free(op);               /* the event with it */
}

static void op_maybe_free(struct redis_op *op)
{
    if (op->answered && !op->awaiting_reply)
        op_free(op);
}

static void op_answer(struct redis_op *op, redisReply *reply, enum failure error)
{
    if (op->answered)
        return;
    op->answered = 1;
    event_del(op->deadline);
    if (error == FAILURE_REDIS_UNAVAILABLE)
        op->stats->unavailable++;
    else if (error == FAILURE_REDIS_TIMEOUT)
        op->stats->timeouts++;
    else if (reply && ((redisReply *)reply)->type == REDIS_REPLY_ERROR)
        op->stats->error_replies++;
    op->cb(reply, error, op->arg);
}

static int error_is(const redisReply *reply, const char *code)
{
    size_t n = strlen(code);
    return reply && reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, code, n) == 0 &&
           (reply->str[n] == ' ' || !reply->str[n]);
}

static void op_reply_cb(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    struct redis_op *op = privdata;
    struct cached_script *sc = op->script;
    /* EVALSHA of a script this connection does not have (SCRIPT FLUSH) or
     * may not use (the ACL): EVAL from now on; the caller's (the spool's)
     * "not now" is to send it again */
    if (sc && sc->state == SCRIPT_LOADED && (error_is(r, "NOSCRIPT") || error_is(r, "NOPERM"))) {
        sc->state = error_is(r, "NOSCRIPT") ? SCRIPT_UNKNOWN : SCRIPT_REFUSED;
        log_msg(LOG_WARN, "redis: EVALSHA refused (%s): the script goes as EVAL%s",
                ((redisReply *)r)->str,
                sc->state == SCRIPT_REFUSED ? " (the ACL user needs +evalsha +script|load)" : "");
    }
    op->awaiting_reply = 0;
    op_answer(op, r, r ? FAILURE_NONE : FAILURE_REDIS_UNAVAILABLE);
    op_maybe_free(op);
}

static void op_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    struct redis_op *op = arg;
    if (what & EV_TIMEOUT && op->awaiting_reply == 2) {    /* deferred failure */
        op->awaiting_reply = 0;
        op_answer(op, NULL, FAILURE_REDIS_UNAVAILABLE);
    } else if (op->sure) {
        op->stats->timeouts++;
        if (op->late && !op->answered)
            op->late(op->arg);
        return;                 /* the reply (or the lost connection) will come */
    } else {
        op_answer(op, NULL, FAILURE_REDIS_TIMEOUT);
    }
    op_maybe_free(op);
}

void redis_op_cancel(struct redis_op *op)
{
    if (!op || op->answered)
        return;
    op->answered = 1;
    if (op->awaiting_reply == 2)    /* a deferred failure owes nobody anything */
        op->awaiting_reply = 0;
    event_del(op->deadline);
    op_maybe_free(op);
}

/* ---- scripts sent by their SHA1 ----------------------------------------- */

static void script_load_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct cached_script *sc = privdata;
    redisReply *reply = r;
    if (!reply || ac != sc->st->ac || sc->generation != sc->st->generation ||
        sc->state != SCRIPT_LOADING)
        return;                 /* the connection went, or it is another's */
    if (reply->type == REDIS_REPLY_STRING && reply->len == 40) {
        memcpy(sc->sha, reply->str, 41);
        sc->state = SCRIPT_LOADED;
        return;
    }
    sc->state = SCRIPT_REFUSED;
    log_msg(LOG_WARN, "redis %s:%d: SCRIPT LOAD refused (%s): scripts go as EVAL (the ACL "
            "user needs +evalsha +script|load)", sc->st->host, sc->st->port,
            reply->type == REDIS_REPLY_ERROR ? reply->str : "not a SHA1");
}

/* The cached script that cmd runs (EVAL <body> ...), loaded on this
 * connection: NULL when cmd is no EVAL, or the connection has not got it
 * yet (then SCRIPT LOAD goes first, unless refused), or the table is full. */
static struct cached_script *script_for(struct redis_client *st, const struct rcmd *cmd)
{
    if (cmd->argc < 3 || cmd->len[0] != 4 || strncasecmp(cmd->argv[0], "EVAL", 4) != 0)
        return NULL;
    struct cached_script *sc = NULL;
    for (size_t i = 0; i < st->nscripts && !sc; i++)
        if (st->scripts[i].len == cmd->len[1] &&
            memcmp(st->scripts[i].body, cmd->argv[1], cmd->len[1]) == 0)
            sc = &st->scripts[i];
    if (!sc) {
        char *body = st->nscripts < REDIS_CACHED_SCRIPTS ? malloc(cmd->len[1] + 1) : NULL;
        if (!body)
            return NULL;
        memcpy(body, cmd->argv[1], cmd->len[1]);
        body[cmd->len[1]] = '\0';
        sc = &st->scripts[st->nscripts++];
        *sc = (struct cached_script){st, body, cmd->len[1], SCRIPT_UNKNOWN, 0, ""};
    }
    if (sc->generation != st->generation || sc->state == SCRIPT_UNKNOWN) {
        sc->generation = st->generation;
        const char *argv[] = {"SCRIPT", "LOAD", sc->body};
        size_t len[] = {6, 4, sc->len};
        sc->state = redisAsyncCommandArgv(st->ac, script_load_reply, sc, 3, argv, len) == REDIS_OK
                        ? SCRIPT_LOADING : SCRIPT_UNKNOWN;
    }
    return sc->state == SCRIPT_LOADED ? sc : NULL;
}

/* cmd (EVAL <body> ...) as EVALSHA <sha> ... */
static int send_evalsha(struct redis_client *st, struct redis_op *op, const struct rcmd *cmd)
{
    const char *stack_argv[64];
    size_t stack_len[64];
    const char **argv = stack_argv;
    size_t *len = stack_len;
    size_t n = (size_t)cmd->argc;
    if (n > 64 && (!(argv = malloc(n * sizeof *argv)) || !(len = malloc(n * sizeof *len)))) {
        if (argv != stack_argv)
            free(argv);
        return REDIS_ERR;
    }
    argv[0] = "EVALSHA";
    len[0] = 7;
    argv[1] = op->script->sha;
    len[1] = 40;
    for (size_t i = 2; i < n; i++) {
        argv[i] = cmd->argv[i];
        len[i] = cmd->len[i];
    }
    int rc = redisAsyncCommandArgv(st->ac, op_reply_cb, op, (int)n, argv, len);
    if (argv != stack_argv) {
        free(argv);
        free(len);
    }
    return rc;
}

struct redis_op *redis_exec_sure(struct redis_client *st, struct rcmd *cmds, size_t ncmds,
                                 redis_cb *cb, redis_late_cb *late, void *arg)
{
    return redis_send(st, cmds, ncmds, REDIS_SEND_SURE, cb, late, arg);
}

struct redis_op *redis_exec(struct redis_client *st, struct rcmd *cmds, size_t ncmds,
                            redis_cb *cb, void *arg)
{
    return redis_send(st, cmds, ncmds, 0, cb, NULL, arg);
}

struct redis_op *redis_send(struct redis_client *st, struct rcmd *cmds, size_t ncmds, unsigned flags,
                            redis_cb *cb, redis_late_cb *late, void *arg)
{
    if (st->closing)
        return NULL;
    struct redis_op *op = calloc(1, OP_EVENT_OFFSET + event_get_struct_event_size());
    if (!op)
        return NULL;
    op->stats = &st->stats;
    st->stats.ops++;
    op->cb = cb;
    op->late = late;
    op->sure = (flags & REDIS_SEND_SURE) != 0;
    op->arg = arg;
    op->deadline = (struct event *)((char *)op + OP_EVENT_OFFSET);
    if (evtimer_assign(op->deadline, st->base, op_deadline_cb, op) < 0) {
        free(op);
        return NULL;
    }
    LIST_INSERT_HEAD(&st->ops, op, link);

    int multi = ncmds > 1 || (flags & REDIS_SEND_ARRAY);
    int sent = 0;
    if (st->ac && st->connected) {
        sent = 1;
        if (multi && redisAsyncCommand(st->ac, NULL, NULL, "MULTI") != REDIS_OK)
            sent = 0;
        int in_multi = multi && sent;
        if (!multi && (flags & REDIS_SEND_CACHED))
            op->script = script_for(st, &cmds[0]);
        for (size_t i = 0; sent && i < ncmds; i++) {
            int last = !multi;
            if ((op->script ? send_evalsha(st, op, &cmds[i])
                            : redisAsyncCommandArgv(st->ac, last ? op_reply_cb : NULL,
                                                    last ? op : NULL, cmds[i].argc,
                                                    (const char **)cmds[i].argv,
                                                    cmds[i].len)) != REDIS_OK)
                sent = 0;
        }
        if (sent && multi && redisAsyncCommand(st->ac, op_reply_cb, op, "EXEC") != REDIS_OK)
            sent = 0;
        /* A transaction begun must not be left open on the shared
         * connection: every later command would only be queued in it. If
         * not even DISCARD can be sent, the connection goes. */
        if (in_multi && !sent && redisAsyncCommand(st->ac, NULL, NULL, "DISCARD") != REDIS_OK) {
            log_msg(LOG_WARN, "redis: a transaction could not be closed: disconnecting");
            redisAsyncDisconnect(st->ac);
        }
    }
    struct timeval now = {0, 0};
    if (sent)
        op->awaiting_reply = 1;
    else
        op->awaiting_reply = 2;     /* fail from the loop, right away */
    evtimer_add(op->deadline, sent ? st->op_timeout : &now);
    return op;
}

/* ---- connection ---------------------------------------------------------- */

static void store_connect(struct redis_client *st);

static void store_schedule_reconnect(struct redis_client *st)
{
    struct timeval tv = {0, 250 * 1000};
    if (!evtimer_pending(st->reconnect, NULL))
        evtimer_add(st->reconnect, &tv);
}

static void store_trouble(struct redis_client *st)
{
    if (st->on_trouble)
        st->on_trouble(st->trouble_arg);
}

/* Ready for commands (with check_role: the primary): told to whoever
 * waits for that (the spool, redis_client_on_connect). */
static void store_ready(struct redis_client *st)
{
    st->connected = 1;
    st->connect_failures = 0;
    log_msg(LOG_INFO, "redis %s:%d: connected%s", st->host, st->port,
            st->check_role ? " (the primary)" : "");
    if (st->on_connect)
        st->on_connect(st->on_connect_arg);
}

/* A connection that was ready is no more. */
static void store_lost(struct redis_client *st)
{
    st->connected = 0;
    if (st->subscribed) {
        st->subscribed = 0;
        st->listening(0, st->sub_arg);
    }
}

static void store_connect_cb(const redisAsyncContext *ac, int status)
{
    struct redis_client *st = ac->data;
    if (!st)
        return;
    if (status != REDIS_OK) {
        if (st->connect_failures++ % 40 == 0)
            log_msg(LOG_WARN, "redis %s:%d: connect failed: %s (tried again every 250 ms)",
                    st->host, st->port, ac->errstr);
        st->ac = NULL;          /* hiredis frees the context after this */
        st->connected = 0;
        st->stats.connection_losses++;
        store_schedule_reconnect(st);
        store_trouble(st);
        return;
    }
    if (!st->check_role)
        store_ready(st);        /* else once ROLE says so (store_role_reply) */
}

static void store_disconnect_cb(const redisAsyncContext *ac, int status)
{
    struct redis_client *st = ac->data;
    if (!st)
        return;                 /* redis_client_free or a move is disconnecting */
    if (status != REDIS_OK)
        log_msg(LOG_WARN, "redis %s:%d: connection lost: %s", st->host, st->port, ac->errstr);
    st->stats.connection_losses++;
    st->ac = NULL;
    store_lost(st);
    store_schedule_reconnect(st);
    store_trouble(st);
}

/* Ends the connection now (a move, or a free): its commands in flight are
 * answered NULL (their ops: FAILURE_REDIS_UNAVAILABLE). No reconnect is
 * scheduled. */
static void store_drop(struct redis_client *st)
{
    redisAsyncContext *ac = st->ac;
    if (!ac)
        return;
    st->ac = NULL;
    ac->data = NULL;
    store_lost(st);
    redisAsyncFree(ac);     /* pending callbacks get NULL replies */
}

/* A subscriber's replies: the SUBSCRIBE's confirmation, then one a
 * message (NULL when the connection goes: store_disconnect_cb follows). */
static void store_sub_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct redis_client *st = privdata;
    redisReply *reply = r;
    if (!reply || ac != st->ac)
        return;
    if (reply->type == REDIS_REPLY_ERROR) {
        log_msg(LOG_WARN, "redis: SUBSCRIBE %s refused: %s", st->channel, reply->str);
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
        reply->element[0]->type != REDIS_REPLY_STRING)
        return;
    const char *kind = reply->element[0]->str;
    const redisReply *payload = reply->element[2];
    if (strcmp(kind, "subscribe") == 0) {
        st->subscribed = 1;
        st->listening(1, st->sub_arg);
    } else if (strcmp(kind, "message") == 0 && payload->type == REDIS_REPLY_STRING) {
        st->message(payload->str, payload->len, st->sub_arg);
    }
}

/* AUTH's reply: refused credentials are an operator's error, said once
 * per connection; the connection goes (and is tried again). */
static void store_auth_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct redis_client *st = privdata;
    redisReply *reply = r;
    if (!reply || reply->type != REDIS_REPLY_ERROR || ac != st->ac)
        return;
    log_msg(LOG_ERROR, "redis %s:%d: AUTH%s%s refused: %s", st->host, st->port,
            st->cfg->redis_username ? " as " : "",
            st->cfg->redis_username ? st->cfg->redis_username : "", reply->str);
    redisAsyncDisconnect(ac);
}

/* ROLE's reply, with Sentinels: only a primary is used. A replica (the
 * old primary back as one, or a Sentinel not told of a switch yet) is
 * left, and the Sentinels are asked again (store_trouble). */
static void store_role_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct redis_client *st = privdata;
    redisReply *reply = r;
    if (!reply || ac != st->ac)
        return;
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
        reply->element[0]->type == REDIS_REPLY_STRING && strcmp(reply->element[0]->str, "master") == 0) {
        store_ready(st);
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR)
        log_msg(LOG_ERROR, "redis %s:%d: ROLE refused (the ACL user needs +role): %s", st->host,
                st->port, reply->str);
    else
        log_msg(LOG_WARN, "redis %s:%d: not the primary (%s): asking the Sentinels again",
                st->host, st->port, reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
                reply->element[0]->type == REDIS_REPLY_STRING ? reply->element[0]->str : "?");
    redisAsyncDisconnect(ac);
}

/* AUTH, first on a new connection (hiredis sends it once connected,
 * before whatever is queued after it). */
static int store_auth(struct redis_client *st, redisAsyncContext *ac)
{
    const struct config *cfg = st->cfg;
    if (!cfg->redis_password)
        return REDIS_OK;
    if (cfg->redis_username)
        return redisAsyncCommand(ac, store_auth_reply, st, "AUTH %s %s", cfg->redis_username,
                                 cfg->redis_password);
    return redisAsyncCommand(ac, store_auth_reply, st, "AUTH %s", cfg->redis_password);
}

static void store_reconnect_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    store_connect(arg);
}

static void store_connect(struct redis_client *st)
{
    if (!st->host || st->ac)
        return;                 /* not known yet: redis_client_move will tell */
    redisAsyncContext *ac = redisAsyncConnect(st->host, st->port);
    if (!ac || ac->err) {
        log_msg(LOG_WARN, "redis: cannot connect: %s", ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        store_schedule_reconnect(st);
        return;
    }
    ac->data = st;
    st->ac = ac;
    st->generation++;           /* it has no script loaded */
    redisLibeventAttach(ac, st->base);
    redisAsyncSetConnectCallback(ac, store_connect_cb);
    redisAsyncSetDisconnectCallback(ac, store_disconnect_cb);
    const char *failed = NULL;
    if (store_auth(st, ac) != REDIS_OK)
        failed = "AUTH";
    else if (st->check_role && redisAsyncCommand(ac, store_role_reply, st, "ROLE") != REDIS_OK)
        failed = "ROLE";
    /* a subscriber's SUBSCRIBE waits in hiredis until the connection is up */
    else if (st->channel &&
             redisAsyncCommand(ac, store_sub_reply, st, "SUBSCRIBE %s", st->channel) != REDIS_OK)
        failed = "SUBSCRIBE";
    if (failed) {
        log_msg(LOG_WARN, "redis: cannot send %s: %s", failed, ac->errstr);
        st->ac = NULL;
        ac->data = NULL;
        redisAsyncFree(ac);
        store_schedule_reconnect(st);
    }
}

void redis_client_move(struct redis_client *st, const char *host, int port)
{
    if (st->closing)
        return;
    if (st->host && strcmp(st->host, host) == 0 && st->port == port) {
        if (!st->ac)
            store_connect(st);  /* at once, not at the next retry */
        return;
    }
    char *copy = strdup(host);
    if (!copy) {
        log_msg(LOG_ERROR, "redis: out of memory: cannot move to %s:%d", host, port);
        return;
    }
    if (st->host) {
        st->moves++;
        log_msg(LOG_INFO, "redis: moving from %s:%d to %s:%d", st->host, st->port, host, port);
    }
    store_drop(st);
    event_del(st->reconnect);
    free(st->host);
    st->host = copy;
    st->port = port;
    st->connect_failures = 0;
    store_connect(st);
}

void redis_client_on_trouble(struct redis_client *st, redis_trouble_cb *cb, void *arg)
{
    st->on_trouble = cb;
    st->trouble_arg = arg;
}

const char *redis_client_address(const struct redis_client *st, int *port)
{
    *port = st->port;
    return st->host;
}

unsigned long long redis_client_moves(const struct redis_client *st)
{
    return st->moves;
}

static struct redis_client *store_alloc(struct event_base *base, const struct config *cfg)
{
    struct redis_client *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->base = base;
    st->cfg = cfg;
    st->reconnect = evtimer_new(base, store_reconnect_cb, st);
    struct timeval tv = {cfg->redis_timeout_ms / 1000, (cfg->redis_timeout_ms % 1000) * 1000};
    st->op_timeout = event_base_init_common_timeout(base, &tv);
    /* With Sentinels the address comes from them (redis_client_move);
     * else it is redis.address */
    st->check_role = cfg->nredis_sentinels > 0;
    if (!st->check_role) {
        st->host = strdup(cfg->redis_host);
        st->port = cfg->redis_port;
    }
    if (!st->reconnect || !st->op_timeout || (!st->check_role && !st->host)) {
        if (st->reconnect)
            event_free(st->reconnect);
        free(st->host);
        free(st);
        return NULL;
    }
    return st;
}

struct redis_client *redis_client_new(struct event_base *base, const struct config *cfg)
{
    struct redis_client *st = store_alloc(base, cfg);
    if (st)
        store_connect(st);
    return st;
}

struct redis_client *redis_subscriber_new(struct event_base *base, const struct config *cfg,
                                   const char *channel, redis_message_cb *message,
                                   redis_listening_cb *listening, void *arg)
{
    struct redis_client *st = store_alloc(base, cfg);
    if (!st)
        return NULL;
    if (!(st->channel = strdup(channel))) {
        redis_client_free(st);
        return NULL;
    }
    st->message = message;
    st->listening = listening;
    st->sub_arg = arg;
    store_connect(st);
    return st;
}

void redis_client_on_connect(struct redis_client *st, redis_connected_cb *cb, void *arg)
{
    st->on_connect = cb;
    st->on_connect_arg = arg;
}

int redis_client_connected(const struct redis_client *st)
{
    return st->ac && st->connected;
}

void redis_client_get_stats(const struct redis_client *st, struct redis_client_stats *out)
{
    *out = st->stats;
}

void redis_client_free(struct redis_client *st)
{
    if (!st)
        return;
    st->closing = 1;
    st->on_connect = NULL;      /* whoever listened may be gone already */
    st->on_trouble = NULL;
    if (st->ac) {
        redisAsyncContext *ac = st->ac;
        st->ac = NULL;
        ac->data = NULL;
        redisAsyncFree(ac);     /* pending callbacks get NULL replies */
    }
    /* What is left was to fail from the loop, which runs no more: it
     * fails now. Callbacks may send nothing new (closing). */
    struct redis_op *op;
    while ((op = LIST_FIRST(&st->ops))) {
        op->awaiting_reply = 0;
        if (!op->answered)
            op_answer(op, NULL, FAILURE_REDIS_UNAVAILABLE);
        op_free(op);
    }
    event_free(st->reconnect);
    for (size_t i = 0; i < st->nscripts; i++)
        free(st->scripts[i].body);
    free(st->channel);
    free(st->host);
    free(st);
}
