/* test_redis_client.c: the async client against a real redis-server (from
 * PATH, started by the CLI's redis_child). hiredis' redisAsyncCommandArgv
 * is wrapped (the Makefile links with --wrap) so that a test can make the
 * n-th command of a transaction fail to queue, as it does when hiredis
 * runs out of memory formatting it. */
#include <event2/event.h>
#include <hiredis/async.h>
#include <stdlib.h>
#include <string.h>

#include "cli/redis_child.h"
#include "core/config.h"
#include "redis/redis_client.h"
#include "unit.h"

int __real_redisAsyncCommandArgv(redisAsyncContext *ac, redisCallbackFn *fn, void *privdata,
                                 int argc, const char **argv, const size_t *argvlen);
int __wrap_redisAsyncCommandArgv(redisAsyncContext *ac, redisCallbackFn *fn, void *privdata,
                                 int argc, const char **argv, const size_t *argvlen);

static int refuse_in;       /* the n-th command from now fails to queue (0: none) */

int __wrap_redisAsyncCommandArgv(redisAsyncContext *ac, redisCallbackFn *fn, void *privdata,
                                 int argc, const char **argv, const size_t *argvlen)
{
    if (refuse_in && --refuse_in == 0)
        return REDIS_ERR;
    return __real_redisAsyncCommandArgv(ac, fn, privdata, argc, argv, argvlen);
}

struct result {
    int done;
    enum failure error;
    int type;
    char text[64];
};

static void got(redisReply *reply, enum failure error, void *arg)
{
    struct result *r = arg;
    r->done = 1;
    r->error = error;
    r->type = reply ? reply->type : -1;
    if (reply && (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS))
        snprintf(r->text, sizeof r->text, "%s", reply->str);
}

static void run_until(struct event_base *base, const int *done)
{
    for (int i = 0; i < 2000 && !*done; i++)
        event_base_loop(base, EVLOOP_ONCE);
}

static void wait_connected(struct event_base *base, struct redis_client *rc)
{
    struct timeval tick = {0, 5000};
    for (int i = 0; i < 1000 && !redis_client_connected(rc); i++) {
        event_base_loopexit(base, &tick);
        event_base_dispatch(base);
    }
}

static struct rcmd cmd3(const char *a, const char *b, const char *c)
{
    struct rcmd cmd = {0};
    rcmd_addstr(&cmd, a);
    if (b)
        rcmd_addstr(&cmd, b);
    if (c)
        rcmd_addstr(&cmd, c);
    return cmd;
}

/* A transaction whose second command cannot be queued fails, and leaves
 * no transaction open on the connection: the next command is run, not
 * QUEUED (before DISCARD was sent, "SET" answered +QUEUED and "GET" the
 * same, and everything after was lost in a transaction nobody closed). */
static void transaction_not_left_open(struct event_base *base, struct redis_client *rc)
{
    struct rcmd cmds[2] = {cmd3("SET", "k1", "a"), cmd3("SET", "k2", "b")};
    struct result tx = {0};
    refuse_in = 2;                          /* the second SET */
    CHECK(redis_send(rc, cmds, 2, 0, got, NULL, &tx) != NULL);
    run_until(base, &tx.done);
    CHECK(tx.done && tx.error == FAILURE_REDIS_UNAVAILABLE);
    rcmd_free(&cmds[0]);
    rcmd_free(&cmds[1]);

    struct rcmd set = cmd3("SET", "k3", "c"), get = cmd3("GET", "k3", NULL);
    struct result s = {0}, g = {0};
    redis_exec(rc, &set, 1, got, &s);
    redis_exec(rc, &get, 1, got, &g);
    run_until(base, &g.done);
    CHECK(s.done && s.type == REDIS_REPLY_STATUS);
    CHECK_STR(s.text, "OK");
    CHECK(g.done && g.type == REDIS_REPLY_STRING);
    CHECK_STR(g.text, "c");
    rcmd_free(&set);
    rcmd_free(&get);

    /* and the transaction's first SET was not applied */
    struct rcmd get1 = cmd3("GET", "k1", NULL);
    struct result g1 = {0};
    redis_exec(rc, &get1, 1, got, &g1);
    run_until(base, &g1.done);
    CHECK(g1.done && g1.type == REDIS_REPLY_NIL);
    rcmd_free(&get1);
}

/* What the client counts (/metrics): after transaction_not_left_open,
 * four ops of which one failed for want of a queued command; then an
 * error reply, and a command that outlasts redis.timeout_ms (BLPOP
 * blocks a second; the reply still comes, to nobody). */
static void counted(struct event_base *base, struct redis_client *rc)
{
    struct redis_client_stats st;
    redis_client_get_stats(rc, &st);
    CHECK(st.ops == 4 && st.unavailable == 1 && st.error_replies == 0 && st.timeouts == 0);
    struct rcmd bad = cmd3("NOSUCHCOMMAND", NULL, NULL), slow = cmd3("BLPOP", "no-list", "1");
    struct result b = {0}, w = {0};
    redis_exec(rc, &bad, 1, got, &b);
    redis_exec(rc, &slow, 1, got, &w);
    run_until(base, &w.done);
    CHECK(b.done && b.type == REDIS_REPLY_ERROR && w.done && w.error == FAILURE_REDIS_TIMEOUT);
    redis_client_get_stats(rc, &st);
    CHECK(st.ops == 6 && st.unavailable == 1 && st.error_replies == 1 && st.timeouts == 1);
    CHECK(st.connection_losses == 0);
    rcmd_free(&bad);
    rcmd_free(&slow);
}

TEST(failed_transaction_is_discarded)
{
    struct redis_child child;
    struct strbuf err = {0};
    if (redis_child_start(&child, "redis-server", 10000, &err) < 0) {
        printf("FAIL failed_transaction_is_discarded: no redis-server: %s", strbuf_cstr(&err));
        unit_current_failed = 1;
        strbuf_free(&err);
        return;
    }
    char json[512];
    snprintf(json, sizeof json,
             "{\"redis\": {\"address\": \"127.0.0.1:%d\", \"timeout_ms\": 100}, \"privacy\": {\"patron_key\": "
             "\"0000000000000000000000000000000000000000000000000000000000000000\"}, "
             UNIT_TOUCHPOINTS ", \"catalogues\": [{\"name\": \"demo\", \"target\": \"127.0.0.1:2100/demo\","
             " \"link\": {\"plugin\": \"koha\", \"base_url\": \"https://x\"}}]}", child.port);
    struct config *cfg = config_parse(json, "test", &err);
    struct event_base *base = event_base_new();
    struct redis_client *rc = cfg && base ? redis_client_new(base, cfg) : NULL;
    CHECK(rc != NULL);
    if (rc) {
        wait_connected(base, rc);
        CHECK(redis_client_connected(rc));
        if (redis_client_connected(rc)) {
            transaction_not_left_open(base, rc);
            counted(base, rc);
        }
    }
    redis_client_free(rc);
    if (base)
        event_base_free(base);
    config_free(cfg);
    strbuf_free(&err);
    redis_child_stop(&child);
}

struct watch_log {
    int troubles, ups;
};

static void on_trouble(void *arg)
{
    ((struct watch_log *)arg)->troubles++;
}

static void on_connect(void *arg)
{
    ((struct watch_log *)arg)->ups++;
}

static void run_ms(struct event_base *base, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

/* With redis.sentinels a client waits to be told where the primary is,
 * uses a node only once ROLE says it is the primary (a replica is
 * trouble: the Sentinels are asked again), and moves when told. */
TEST(client_with_sentinels_checks_role_and_moves)
{
    struct redis_child primary = {0}, replica = {0};
    struct strbuf err = {0};
    if (redis_child_start(&primary, "redis-server", 10000, &err) < 0 ||
        redis_child_start(&replica, "redis-server", 10000, &err) < 0) {
        printf("FAIL client_with_sentinels_checks_role_and_moves: no redis-server: %s",
               strbuf_cstr(&err));
        unit_current_failed = 1;
        redis_child_stop(&primary);
        strbuf_free(&err);
        return;
    }
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", replica.port, tv);
    redisReply *r = c && !c->err ? redisCommand(c, "REPLICAOF 127.0.0.1 %d", primary.port) : NULL;
    CHECK(r && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);
    redisFree(c);
    const char *json =
        "{\"redis\": {\"sentinels\": [\"127.0.0.1:1\"], \"master_name\": \"m\"}, "
        "\"privacy\": {\"patron_key\": "
        "\"0000000000000000000000000000000000000000000000000000000000000000\"}, "
        UNIT_TOUCHPOINTS ", \"catalogues\": [{\"name\": \"demo\", \"target\": \"127.0.0.1:2100/demo\","
        " \"link\": {\"plugin\": \"koha\", \"base_url\": \"https://x\"}}]}";
    struct config *cfg = config_parse(json, "test", &err);
    struct event_base *base = event_base_new();
    struct redis_client *rc = cfg && base ? redis_client_new(base, cfg) : NULL;
    CHECK(rc != NULL);
    if (rc) {
        struct watch_log w = {0};
        int port = -1;
        redis_client_on_trouble(rc, on_trouble, &w);
        redis_client_on_connect(rc, on_connect, &w);
        run_ms(base, 100);
        CHECK(!redis_client_connected(rc) && redis_client_address(rc, &port) == NULL);

        /* a replica: connected to, found not to be the primary, left */
        redis_client_move(rc, "127.0.0.1", replica.port);
        run_ms(base, 200);
        CHECK(!redis_client_connected(rc));
        CHECK(w.troubles >= 1 && w.ups == 0);

        /* the primary: used */
        redis_client_move(rc, "127.0.0.1", primary.port);
        wait_connected(base, rc);
        CHECK(redis_client_connected(rc));
        CHECK(w.ups == 1);
        CHECK(redis_client_moves(rc) == 1);
        const char *host = redis_client_address(rc, &port);
        CHECK(host && strcmp(host, "127.0.0.1") == 0 && port == primary.port);
        struct rcmd set = cmd3("SET", "moved", "yes");
        struct result s = {0};
        redis_exec(rc, &set, 1, got, &s);
        run_until(base, &s.done);
        CHECK(s.done && s.type == REDIS_REPLY_STATUS);
        rcmd_free(&set);

        /* moved away again: the ready connection goes at once, and the
         * same address again changes nothing */
        redis_client_move(rc, "127.0.0.1", replica.port);
        CHECK(!redis_client_connected(rc));
        redis_client_move(rc, "127.0.0.1", replica.port);
        CHECK(redis_client_moves(rc) == 2);
    }
    redis_client_free(rc);
    if (base)
        event_base_free(base);
    config_free(cfg);
    strbuf_free(&err);
    redis_child_stop(&replica);
    redis_child_stop(&primary);
}

int main(void)
{
    RUN(failed_transaction_is_discarded);
    RUN(client_with_sentinels_checks_role_and_moves);
    return unit_failures != 0;
}
