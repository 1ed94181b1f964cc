/* test_touchpoint_batch.c: the touchpoints of a pass written together
 * (touchpoint_batch.h): the batch's limit, the spool place it holds, and
 * its script on a real redis-server (from PATH, started by the CLI's
 * redis_child): every touchpoint's tp entry, tpd: and counters, and a
 * batch sent again counted once. */
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/redis_child.h"
#include "core/config.h"
#include "redis/redis_client.h"
#include "redis/rollup.h"
#include "redis/spool.h"
#include "redis/touchpoint_batch.h"
#include "unit.h"

static struct config *config_at(int port, int max_spooled)
{
    char json[768];
    struct strbuf err = {0};
    snprintf(json, sizeof json,
             "{\"redis\": {\"address\": \"127.0.0.1:%d\", \"timeout_ms\": 1000}, "
             "\"limits\": {\"max_spooled_writes\": %d}, \"privacy\": {\"patron_key\": "
             "\"0000000000000000000000000000000000000000000000000000000000000000\"}, "
             UNIT_TOUCHPOINTS ", \"catalogues\": [{\"name\": \"demo\", \"target\": "
             "\"127.0.0.1:2100/demo\", \"link\": {\"plugin\": \"koha\", \"base_url\": "
             "\"https://x\"}}]}", port, max_spooled);
    struct config *cfg = config_parse(json, "test", &err);
    if (!cfg)
        printf("  config: %s\n", strbuf_cstr(&err));
    strbuf_free(&err);
    return cfg;
}

/* Touchpoint i: cells "demo|B<i % 2>|opac|on_loan|", days 20261204 and
 * (every third) 20261205; batches start at 1795343460000 ms. */
struct tp_text {
    char record[16], cell[64];
    struct touchpoint tp;
};

static void tp_make(int i, struct tp_text *t)
{
    snprintf(t->record, sizeof t->record, "r%d", i);
    snprintf(t->cell, sizeof t->cell, "demo|B%d|opac|on_loan|", i % 2);
    t->tp = (struct touchpoint){NULL, t->record, "demo", "on_loan", i % 2 ? "B1" : "B0", "opac",
                                "nl", "a1,a2", "", "", i % 3 == 2 ? "20261205" : "20261204",
                                t->cell};
}

static const enum ru_counter counted[] = {RU_TOUCHPOINTS, RU_ON_LOAN};
static char last_id[TOUCHPOINT_ID_MAX_BYTES + 1];

/* The batches' draws: 128 for the first, 256 for the next, ... */
static uint64_t draws;

static int add(struct touchpoint_batch *tb, int i)
{
    struct tp_text t;
    tp_make(i, &t);
    return touchpoint_batch_add(tb, &t.tp, 1795343460000 + (uint64_t)i, draws += 128, counted, 2,
                                last_id);
}

/* Without Redis every write waits in the spool (memory only): what the
 * batch hands over can be counted there. */
TEST(batch_limit_and_spool_places)
{
    struct config *cfg = config_at(1, 3);      /* nothing listens on port 1 */
    struct event_base *base = event_base_new();
    struct strbuf err = {0};
    struct redis_client *rc = cfg && base ? redis_client_new(base, cfg) : NULL;
    struct spool *sp = rc ? spool_new(base, rc, cfg, &err) : NULL;
    struct touchpoint_batch *tb = sp ? touchpoint_batch_new(base, sp, cfg) : NULL;
    CHECK(tb != NULL);
    if (!tb)
        goto done;
    struct spool_stats ss;
    struct touchpoint_batch_stats bs;
    /* TOUCHPOINT_BATCH_PLACES in one write, the next one in a batch of its own */
    for (int i = 0; i < TOUCHPOINT_BATCH_PLACES; i++)
        CHECK(add(tb, i) == 0);
    spool_get_stats(sp, &ss);
    touchpoint_batch_get_stats(tb, &bs);
    CHECK(ss.waiting == 1 && bs.batches == 1 && bs.touchpoints == TOUCHPOINT_BATCH_PLACES);
    CHECK(add(tb, TOUCHPOINT_BATCH_PLACES) == 0);
    spool_get_stats(sp, &ss);
    CHECK(ss.waiting == 1 && !spool_idle(sp));     /* gathering, its place held */
    event_base_loop(base, EVLOOP_NONBLOCK);         /* the end of the pass */
    spool_get_stats(sp, &ss);
    touchpoint_batch_get_stats(tb, &bs);
    CHECK(ss.waiting == 2 && bs.batches == 2 && bs.touchpoints == TOUCHPOINT_BATCH_PLACES + 1);

    /* max_spooled_writes 3: two wait, a batch holds the third place, so
     * another write is refused while the batch takes more */
    CHECK(add(tb, 100) == 0);
    struct rcmd other = {0};
    CHECK(rcmd_addstr(&other, "PING") == 0);
    CHECK(spool_write(sp, &other) == -1);
    CHECK(add(tb, 101) == 0);
    touchpoint_batch_flush(tb);
    spool_get_stats(sp, &ss);
    CHECK(ss.waiting == 3 && ss.refused == 1);
    CHECK(add(tb, 102) == -1);                      /* full: not taken */
    touchpoint_batch_get_stats(tb, &bs);
    CHECK(bs.batches == 3 && bs.touchpoints == TOUCHPOINT_BATCH_PLACES + 3 && bs.lost == 0);
    spool_get_stats(sp, &ss);
    CHECK(ss.refused == 2);
    touchpoint_batch_flush(tb);                     /* nothing to hand over */
    spool_get_stats(sp, &ss);
    CHECK(ss.waiting == 3);
    rcmd_free(&other);
done:
    touchpoint_batch_free(tb);
    spool_free(sp);
    redis_client_free(rc);
    if (base)
        event_base_free(base);
    config_free(cfg);
    strbuf_free(&err);
}

/* ---- on a real Redis ------------------------------------------------------ */

struct reply {
    int done;
    long long integer;
    size_t elements;
    long long ints[4];          /* an array's first integers */
    char text[512];             /* a string, or an array's strings joined by ' ' */
};

static void got(redisReply *r, enum failure error, void *arg)
{
    struct reply *out = arg;
    (void)error;
    out->done = 1;
    if (!r)
        return;
    if (r->type == REDIS_REPLY_INTEGER)
        out->integer = r->integer;
    if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_ERROR)
        snprintf(out->text, sizeof out->text, "%s", r->str);
    if (r->type == REDIS_REPLY_ARRAY) {
        out->elements = r->elements;
        size_t at = 0;
        for (size_t i = 0; i < r->elements; i++) {
            const redisReply *e = r->element[i];
            if (i < 4 && e->type == REDIS_REPLY_INTEGER)
                out->ints[i] = e->integer;
            if (e->type == REDIS_REPLY_STRING && at < sizeof out->text)
                at += (size_t)snprintf(out->text + at, sizeof out->text - at, "%s%s",
                                       at ? " " : "", e->str);
        }
    }
}

/* A touchpoint read back (touchpoint_entry_parse): its record,
 * alternatives and catalogue in text. */
static void got_entry(redisReply *r, enum failure error, void *arg)
{
    struct reply *out = arg;
    struct touchpoint_entry e;
    (void)error;
    out->done = 1;
    if (r && touchpoint_entry_parse(r, &e) == 1)
        snprintf(out->text, sizeof out->text, "%s %s %s", e.record, e.alternatives,
                 e.catalogue ? e.catalogue : "-");
}

/* The first entry of an XRANGE as "field=value ..." (its time as
 * "(a time)" when it is one: YYYY-MM-DDTHH:MM:SSZ), ints[0] set when it is. */
static void got_stream_entry(redisReply *r, enum failure error, void *arg)
{
    struct reply *out = arg;
    (void)error;
    out->done = 1;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        r->element[0]->type != REDIS_REPLY_ARRAY || r->element[0]->elements != 2)
        return;
    const redisReply *kv = r->element[0]->element[1];
    size_t at = 0;
    for (size_t i = 0; i + 1 < kv->elements && at < sizeof out->text; i += 2) {
        const char *k = kv->element[i]->str, *v = kv->element[i + 1]->str;
        int is_time = strcmp(k, "time") == 0 && strlen(v) == 20 && v[10] == 'T' && v[19] == 'Z';
        if (is_time)
            out->ints[0] = 1;
        at += (size_t)snprintf(out->text + at, sizeof out->text - at, "%s%s=%s", at ? " " : "", k,
                               is_time ? "(a time)" : v);
    }
}

static struct reply ask(struct event_base *base, struct redis_client *rc, const char *const *argv)
{
    struct rcmd cmd = {0};
    struct reply r = {0};
    for (; *argv; argv++)
        rcmd_addstr(&cmd, *argv);
    if (redis_exec(rc, &cmd, 1, got, &r))
        for (int i = 0; i < 2000 && !r.done; i++)
            event_base_loop(base, EVLOOP_ONCE);
    rcmd_free(&cmd);
    return r;
}

static void run_until_idle(struct event_base *base, struct spool *sp)
{
    for (int i = 0; i < 2000 && !spool_idle(sp); i++)
        event_base_loop(base, EVLOOP_ONCE);
}

/* A cell's counter of a day, by the cell's name. */
static long long counter(struct event_base *base, struct redis_client *rc, const char *day,
                         const char *cell_name, enum ru_counter c)
{
    struct reply cell = ask(base, rc, (const char *[]){"HGET", "onloan:ru1:cells", cell_name, NULL});
    char key[64], at[32];
    snprintf(key, sizeof key, "onloan:ru1:%s", day);
    snprintf(at, sizeof at, "#%ld", atol(cell.text) * RU_NCOUNTERS + (long)c);
    struct reply v = ask(base, rc, (const char *[]){"BITFIELD", key, "GET", "u32", at, NULL});
    return v.elements == 1 ? v.ints[0] : -1;
}

static void written_on_redis(struct event_base *base, struct redis_client *rc,
                             const struct config *cfg)
{
    struct strbuf err = {0};
    struct spool *sp = spool_new(base, rc, cfg, &err);
    struct touchpoint_batch *tb = sp ? touchpoint_batch_new(base, sp, cfg) : NULL;
    CHECK(tb != NULL);
    if (!tb) {
        spool_free(sp);
        strbuf_free(&err);
        return;
    }
    int n = TOUCHPOINT_BATCH_PLACES + 6;
    draws = 0;
    for (int i = 0; i < n; i++) {
        CHECK(add(tb, i) == 0);
        if (i == 0)
            CHECK_STR(last_id, "1795343460000-64");    /* draw 128: number 64, place 0 */
    }
    /* the second batch began with touchpoint 64: 64 ms later, draw 65 * 128 */
    CHECK_STR(last_id, "1795343460064-4165");
    event_base_loop(base, EVLOOP_NONBLOCK);
    run_until_idle(base, sp);
    struct spool_stats ss;
    spool_get_stats(sp, &ss);
    CHECK(ss.written == 2 && ss.failed == 0);

    CHECK(ask(base, rc, (const char *[]){"XLEN", "onloan:tp", NULL}).integer == n);
    /* 70 touchpoints: i % 2 gives the cell, i % 3 == 2 the second day */
    long long want[2][2] = {{0}};
    for (int i = 0; i < n; i++)
        want[i % 3 == 2][i % 2]++;
    const char *days[] = {"20261204", "20261205"}, *cells[] = {"demo|B0|opac|on_loan|",
                                                                "demo|B1|opac|on_loan|"};
    for (int d = 0; d < 2; d++)
        for (int c = 0; c < 2; c++) {
            CHECK(counter(base, rc, days[d], cells[c], RU_TOUCHPOINTS) == want[d][c]);
            CHECK(counter(base, rc, days[d], cells[c], RU_ON_LOAN) == want[d][c]);
            CHECK(counter(base, rc, days[d], cells[c], RU_CLICK) == 0);
        }
    /* tpd: of each batch, a field a touchpoint by its place, with its
     * cell's number */
    CHECK(ask(base, rc, (const char *[]){"HLEN", "onloan:tpd:1795343460000-64", NULL}).integer ==
          TOUCHPOINT_BATCH_PLACES);
    CHECK(ask(base, rc, (const char *[]){"HLEN", "onloan:tpd:1795343460064-4160", NULL}).integer ==
          6);
    struct reply tpd = ask(base, rc, (const char *[]){"HGET", "onloan:tpd:1795343460064-4160",
                                                       "5", NULL});
    struct reply cell1 = ask(base, rc, (const char *[]){"HGET", "onloan:ru1:cells", cells[1], NULL});
    char want_tpd[768];
    snprintf(want_tpd, sizeof want_tpd, "r69 a1,a2 demo 20261204 %s", cell1.text);
    CHECK_STR(tpd.text, want_tpd);
    CHECK(ask(base, rc, (const char *[]){"TTL", "onloan:tpd:1795343460064-4160", NULL}).integer >
          (long long)cfg->token_ttl_s);
    /* read back as outcomes read it */
    struct rcmd read[TOUCHPOINT_READ_CMDS] = {{0}};
    struct reply back = {0};
    CHECK(touchpoint_log_read(cfg, last_id, read) == 0);
    if (redis_exec(rc, read, TOUCHPOINT_READ_CMDS, got_entry, &back))
        for (int i = 0; i < 2000 && !back.done; i++)
            event_base_loop(base, EVLOOP_ONCE);
    CHECK_STR(back.text, "r69 a1,a2 demo");
    rcmd_free(&read[0]);
    rcmd_free(&read[1]);
    /* the tp entry of the last one: its fields in order, the cell's
     * number put in last */
    struct rcmd last = {0};
    struct reply entry = {0};
    rcmd_addstr(&last, "XREVRANGE");
    rcmd_addstr(&last, "onloan:tp");
    rcmd_addstr(&last, "+");
    rcmd_addstr(&last, "-");
    rcmd_addstr(&last, "COUNT");
    rcmd_addstr(&last, "1");
    if (redis_exec(rc, &last, 1, got_stream_entry, &entry))
        for (int i = 0; i < 2000 && !entry.done; i++)
            event_base_loop(base, EVLOOP_ONCE);
    rcmd_free(&last);
    char want_entry[768];
    snprintf(want_entry, sizeof want_entry,
             "touchpoint=%s time=%s record=r69 catalogue=demo status=on_loan branch=B1 "
             "channel=opac lang=nl alternatives=a1,a2 experiment= arm= day=20261204 cell=%s",
             last_id, entry.ints[0] ? "(a time)" : "(no time)", cell1.text);
    CHECK_STR(entry.text, want_entry);

    /* the second batch sent again: nothing changes */
    struct touchpoint_writes w = {0};
    struct rcmd again = {0};
    char id[TOUCHPOINT_ID_MAX_BYTES + 1];
    for (int i = TOUCHPOINT_BATCH_PLACES; i < n; i++) {
        struct tp_text t;
        tp_make(i, &t);
        CHECK(touchpoint_writes_add(cfg, &w, &t.tp, 1795343460064, 65 * 128, counted, 2, id) == 0);
    }
    CHECK_STR(id, last_id);
    CHECK(touchpoint_writes_command(cfg, &w, &again) == 0);
    CHECK(spool_write(sp, &again) == 0);
    run_until_idle(base, sp);
    CHECK(ask(base, rc, (const char *[]){"XLEN", "onloan:tp", NULL}).integer == n);
    CHECK(counter(base, rc, days[0], cells[1], RU_TOUCHPOINTS) == want[0][1]);
    rcmd_free(&again);
    touchpoint_writes_clear(&w);
    touchpoint_batch_free(tb);
    spool_free(sp);
    strbuf_free(&err);
}

TEST(batches_written_on_redis)
{
    struct redis_child child;
    struct strbuf err = {0};
    if (redis_child_start(&child, "redis-server", 10000, &err) < 0) {
        printf("FAIL batches_written_on_redis: no redis-server: %s", strbuf_cstr(&err));
        unit_current_failed = 1;
        strbuf_free(&err);
        return;
    }
    struct config *cfg = config_at(child.port, 1000);
    struct event_base *base = event_base_new();
    struct redis_client *rc = cfg && base ? redis_client_new(base, cfg) : NULL;
    for (int i = 0; rc && i < 2000 && !redis_client_connected(rc); i++)
        event_base_loop(base, EVLOOP_ONCE);
    CHECK(rc && redis_client_connected(rc));
    if (rc && redis_client_connected(rc))
        written_on_redis(base, rc, cfg);
    redis_client_free(rc);
    if (base)
        event_base_free(base);
    config_free(cfg);
    strbuf_free(&err);
    redis_child_stop(&child);
}

int main(void)
{
    RUN(batch_limit_and_spool_places);
    RUN(batches_written_on_redis);
    return unit_failures != 0;
}
