/* test_compact.c: what compaction does when rounds fail, with Redis
 * replaced by a store whose replies the test gives, in any order.
 *
 * This binary is linked with -Wl,--wrap for redis_send, redis_exec,
 * redis_exec_sure and redis_op_cancel (Makefile): compact.c's calls come
 * here and wait in ops[] until answer() replies to one. */
#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"
#include "model/compact.h"
#include "unit.h"

/* ---- a store that answers when told ------------------------------------------- */

struct redis_op {
    redis_cb *cb;
    void *arg;
    char *text;                 /* the commands, "SPOP p:dirty 2; ..." */
    int answered, cancelled;
};

static struct redis_op *ops[32];
static size_t nops;

struct redis_op *__wrap_redis_send(struct redis_client *st, struct rcmd *cmds, size_t ncmds,
                                   unsigned flags, redis_cb *cb, redis_late_cb *late, void *arg);
struct redis_op *__wrap_redis_exec(struct redis_client *st, struct rcmd *cmds, size_t ncmds,
                                   redis_cb *cb, void *arg);
struct redis_op *__wrap_redis_exec_sure(struct redis_client *st, struct rcmd *cmds, size_t ncmds,
                                        redis_cb *cb, redis_late_cb *late, void *arg);
void __wrap_redis_op_cancel(struct redis_op *op);

struct redis_op *__wrap_redis_send(struct redis_client *st, struct rcmd *cmds, size_t ncmds,
                                   unsigned flags, redis_cb *cb, redis_late_cb *late, void *arg)
{
    (void)st, (void)flags, (void)late;
    struct redis_op *op = calloc(1, sizeof *op);
    struct strbuf text = {0};
    if (!op || nops == sizeof ops / sizeof *ops)
        abort();
    for (size_t i = 0; i < ncmds; i++)
        for (int j = 0; j < cmds[i].argc; j++)
            strbuf_printf(&text, "%s%s", i || j ? (j ? " " : "; ") : "", cmds[i].argv[j]);
    op->cb = cb;
    op->arg = arg;
    op->text = strdup(strbuf_cstr(&text));
    strbuf_free(&text);
    return ops[nops++] = op;
}

struct redis_op *__wrap_redis_exec(struct redis_client *st, struct rcmd *cmds, size_t ncmds,
                                   redis_cb *cb, void *arg)
{
    return __wrap_redis_send(st, cmds, ncmds, 0, cb, NULL, arg);
}

struct redis_op *__wrap_redis_exec_sure(struct redis_client *st, struct rcmd *cmds, size_t ncmds,
                                        redis_cb *cb, redis_late_cb *late, void *arg)
{
    return __wrap_redis_send(st, cmds, ncmds, REDIS_SEND_SURE, cb, late, arg);
}

void __wrap_redis_op_cancel(struct redis_op *op)
{
    op->cancelled = 1;
}

/* The op sent as text, or NULL. */
static struct redis_op *sent(const char *text)
{
    for (size_t i = 0; i < nops; i++)
        if (!strcmp(ops[i]->text, text))
            return ops[i];
    return NULL;
}

static void answer(struct redis_op *op, redisReply *reply, enum failure error)
{
    if (!op || op->answered || op->cancelled)
        abort();
    op->answered = 1;
    op->cb(reply, error, op->arg);
}

/* SPOP's reply: the records named. */
static void answer_records(struct redis_op *op, const char **records, size_t n)
{
    redisReply r[8], *el[8];
    for (size_t i = 0; i < n; i++) {
        r[i] = (redisReply){.type = REDIS_REPLY_STRING, .len = strlen(records[i]),
                            .str = (char *)records[i]};
        el[i] = &r[i];
    }
    redisReply arr = {.type = REDIS_REPLY_ARRAY, .elements = n, .element = el};
    answer(op, &arr, FAILURE_NONE);
}

static void answer_int(struct redis_op *op, long long n)
{
    redisReply r = {.type = REDIS_REPLY_INTEGER, .integer = n};
    answer(op, &r, FAILURE_NONE);
}

static void ops_free(void)
{
    for (size_t i = 0; i < nops; i++) {
        free(ops[i]->text);
        free(ops[i]);
    }
    nops = 0;
}

/* ---- tests ---------------------------------------------------------------------- */

struct done {
    int calls;
    enum failure error;
};

static void done_cb(enum failure error, void *arg)
{
    struct done *d = arg;
    d->calls++;
    d->error = error;
}

static struct config test_config(void)
{
    static char prefix[] = "p:";
    return (struct config){.redis_prefix = prefix, .compact_batch = 2, .neighbours_max = 10,
                           .compact_interval_ms = 1000};
}

/* A compactor asked to compact all, whose first round took a and b out
 * of dirty (a full batch of 2) and now reads their lists. */
static struct compactor *round_of_a_and_b(struct config *cfg, struct done *d)
{
    const char *records[] = {"a", "b"};
    struct compactor *c = compactor_new(NULL, NULL, cfg, 0);
    compact_all(c, done_cb, d);
    answer_records(sent("SPOP p:dirty 2"), records, 2);
    return c;
}

/* Another compact_all while round 1's SADD waits: round 2 takes c from
 * dirty and its GET fails with error. */
static void second_round_fails(struct compactor *c, struct done *d, enum failure error)
{
    static const char *round2[] = {"c"};
    size_t before = nops;
    compact_all(c, done_cb, d);
    CHECK(nops == before + 1);          /* its SPOP */
    answer_records(ops[nops - 1], round2, 1);
    answer(sent("GET p:co:c"), NULL, error);
}

/* Round 1 fails and its SADD waits; round 2 fails too before it is
 * answered: round 2's records go back to dirty by a SADD of their own,
 * and compact_all's caller hears only once both SADDs are answered. */
TEST(failed_rounds_all_readded_before_done)
{
    struct config cfg = test_config();
    struct done d = {0};
    struct compactor *c = round_of_a_and_b(&cfg, &d);
    answer(sent("GET p:co:a; GET p:co:b"), NULL, FAILURE_REDIS_TIMEOUT);
    CHECK(sent("SADD p:dirty a b") != NULL);
    CHECK(d.calls == 0);
    CHECK(nops == 3);                   /* SPOP, GETs, SADD: round 2 comes next */
    second_round_fails(c, &d, FAILURE_REDIS_TIMEOUT);
    CHECK(sent("SADD p:dirty c") != NULL);
    answer_int(sent("SADD p:dirty a b"), 2);
    CHECK(d.calls == 0);                /* c is not back yet */
    if (sent("SADD p:dirty c"))
        answer_int(sent("SADD p:dirty c"), 1);
    CHECK(d.calls == 1);
    CHECK(d.error == FAILURE_REDIS_TIMEOUT);
    compactor_free(c);
    ops_free();
}

/* compactor_free cancels every SADD still waiting (and frees what it
 * kept for them: the ASan build checks). */
TEST(free_cancels_every_readd)
{
    struct config cfg = test_config();
    struct done d = {0};
    struct compactor *c = round_of_a_and_b(&cfg, &d);
    answer(sent("GET p:co:a; GET p:co:b"), NULL, FAILURE_REDIS_UNAVAILABLE);
    second_round_fails(c, &d, FAILURE_REDIS_UNAVAILABLE);
    compactor_free(c);
    CHECK(sent("SADD p:dirty a b") && sent("SADD p:dirty a b")->cancelled);
    CHECK(sent("SADD p:dirty c") && sent("SADD p:dirty c")->cancelled);
    CHECK(d.calls == 0);
    ops_free();
}

/* A stopped compactor lets the round in flight finish (its records were
 * taken out of dirty) and is idle after it, but starts no other round,
 * not even after a full batch. */
TEST(stop_finishes_the_round_in_flight_only)
{
    struct config cfg = test_config();
    struct done d = {0};
    struct compactor *c = round_of_a_and_b(&cfg, &d);     /* a full batch */
    compactor_stop(c);
    CHECK(!compactor_idle(c));
    CHECK(!sent("GET p:co:a; GET p:co:b")->cancelled);
    redisReply nil = {.type = REDIS_REPLY_NIL}, *el[2] = {&nil, &nil};
    redisReply arr = {.type = REDIS_REPLY_ARRAY, .elements = 2, .element = el};
    answer(sent("GET p:co:a; GET p:co:b"), &arr, FAILURE_NONE);    /* both lists gone: round ends */
    CHECK(compactor_idle(c));
    CHECK(nops == 2);                   /* no second SPOP */
    CHECK(d.calls == 1 && d.error == FAILURE_NONE);
    compact_all(c, done_cb, &d);
    CHECK(nops == 2);                   /* nor when asked */
    compactor_free(c);
    ops_free();
}

/* A stopped compactor with a failed round is idle only once its records
 * are back in dirty. */
TEST(stop_waits_for_the_readd)
{
    struct config cfg = test_config();
    struct done d = {0};
    struct compactor *c = round_of_a_and_b(&cfg, &d);
    compactor_stop(c);
    answer(sent("GET p:co:a; GET p:co:b"), NULL, FAILURE_REDIS_TIMEOUT);
    CHECK(!compactor_idle(c));
    answer_int(sent("SADD p:dirty a b"), 2);
    CHECK(compactor_idle(c));
    compactor_free(c);
    ops_free();
}

/* A list that cannot be read (an error element in the EXEC reply: a
 * co: key of another type) is left as it is, like a malformed one; the
 * round compacts the others and does not fail, or that record would
 * fail every round it is in. */
TEST(unreadable_list_left_others_compacted)
{
    struct config cfg = test_config();
    struct done d = {0};
    struct compactor *c = round_of_a_and_b(&cfg, &d);
    static char wrongtype[] = "WRONGTYPE Operation against a key holding the wrong kind of value";
    static char list[] = "x 2\ny 1\nx 1\n";
    redisReply err = {.type = REDIS_REPLY_ERROR, .len = sizeof wrongtype - 1, .str = wrongtype};
    redisReply ok = {.type = REDIS_REPLY_STRING, .len = sizeof list - 1, .str = list};
    redisReply *el[2] = {&err, &ok};
    redisReply arr = {.type = REDIS_REPLY_ARRAY, .elements = 2, .element = el};
    answer(sent("GET p:co:a; GET p:co:b"), &arr, FAILURE_NONE);
    CHECK(nops == 3);                   /* SPOP, GETs, the swap of b alone */
    CHECK(strstr(ops[2]->text, "p:co:b") && !strstr(ops[2]->text, "p:co:a"));
    CHECK(strstr(ops[2]->text, "x 3\ny 1\n") != NULL);   /* b summed */
    redisReply one = {.type = REDIS_REPLY_INTEGER, .integer = 1}, *sw[1] = {&one};
    redisReply swapped = {.type = REDIS_REPLY_ARRAY, .elements = 1, .element = sw};
    answer(ops[2], &swapped, FAILURE_NONE);
    CHECK(!sent("SADD p:dirty a b") && !sent("SADD p:dirty a"));
    CHECK(nops == 4);                   /* a full batch: the next round's SPOP */
    answer_records(ops[3], NULL, 0);    /* dirty is empty */
    CHECK(d.calls == 1 && d.error == FAILURE_NONE);
    compactor_free(c);
    ops_free();
}

int main(void)
{
    RUN(failed_rounds_all_readded_before_done);
    RUN(free_cancels_every_readd);
    RUN(stop_finishes_the_round_in_flight_only);
    RUN(stop_waits_for_the_readd);
    RUN(unreadable_list_left_others_compacted);
    return unit_failures != 0;
}
