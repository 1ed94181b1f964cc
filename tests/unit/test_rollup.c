/* test_rollup.c: the layout of the report counters (rollup.h): cell
 * names, day strings, the BITFIELD that counts, reading a day back, and
 * the daemon's own memory of cell numbers. */
#include <stdlib.h>
#include <string.h>

#include "redis/rollup.h"
#include "redis/touchpoint_log.h"
#include "unit.h"

static const struct config *cfg;

TEST(cell_names)
{
    struct ru_cell c = {"demo", "CEN", "opac", "on_loan", "reserve_only"};
    struct strbuf name = {0};
    CHECK(rollup_cell_name(&c, &name) == 0);
    CHECK_STR(strbuf_cstr(&name), "demo|CEN|opac|on_loan|reserve_only");
    struct ru_cell back;
    CHECK(rollup_cell_split(name.buf, &back) == 0);
    CHECK_STR(back.catalogue, "demo");
    CHECK_STR(back.branch, "CEN");
    CHECK_STR(back.arm, "reserve_only");
    strbuf_free(&name);
    struct ru_cell none = {"demo", NULL, "kiosk", "unknown", NULL};
    CHECK(rollup_cell_name(&none, &name) == 0);
    CHECK_STR(strbuf_cstr(&name), "demo||kiosk|unknown|");
    CHECK(rollup_cell_split(name.buf, &back) == 0);
    CHECK_STR(back.branch, "");
    CHECK_STR(back.arm, "");
    strbuf_free(&name);
    char four[] = "a|b|c|d", six[] = "a|b|c|d|e|f";
    CHECK(rollup_cell_split(four, &back) == -1);
    CHECK(rollup_cell_split(six, &back) == -1);
}

TEST(days_are_local)
{
    char day[RU_DAY_BYTES + 1];
    setenv("TZ", "Europe/Amsterdam", 1);
    tzset();
    rollup_day(1798671600, day);        /* 2026-12-30 23:00 UTC: the 31st in Amsterdam */
    CHECK_STR(day, "20261231");
    setenv("TZ", "UTC", 1);
    tzset();
    rollup_day(1798671600, day);
    CHECK_STR(day, "20261230");
}

/* Touchpoints written together: the batch's keys (its tpd:, named by
 * the first touchpoint's time and draw), then each one's ru1: key,
 * counters, tpd: value and tp entry's values; each id names the batch
 * and its place. */
TEST(touchpoints_written_together)
{
    struct touchpoint_writes w = {0};
    struct rcmd cmd = {0};
    enum ru_counter c[] = {RU_TOUCHPOINTS, RU_ON_LOAN};
    struct touchpoint a = {NULL, "f356", "demo", "on_loan", "CEN", "opac", "nl",
                           "f1,f2", "", "", "20261122", "demo\x1f" "CEN\x1f" "opac\x1f" "on_loan\x1f"};
    struct touchpoint b = {NULL, "f9", "demo", "available", "", "kiosk", "en",
                           "", "demo-ab", "reserve_only", "20261206", "demo||kiosk|available|"};
    char id_a[TOUCHPOINT_ID_MAX_BYTES + 1], id_b[TOUCHPOINT_ID_MAX_BYTES + 1];
    /* draw 2 * 1000: the batch's number is 1000 with its low 6 bits cleared, 960 */
    CHECK(touchpoint_writes_add(cfg, &w, &a, 1795343460123, 2000, c, 2, id_a) == 0);
    CHECK(touchpoint_writes_add(cfg, &w, &b, 1795343460125, 7777, c, 1, id_b) == 0);
    CHECK(w.n == 2);
    CHECK_STR(id_a, "1795343460123-960");
    CHECK_STR(id_b, "1795343460123-961");  /* the batch's time and number, the next place */
    CHECK(touchpoint_writes_command(cfg, &w, &cmd) == 0);
    /* EVAL body 6 (4 + 1 each) keys, 5 batch arguments and the 13 field
     * names, then (cell, 2, 2 counters, value, 12 values) and (cell, 1,
     * 1 counter, value, 12 values) */
    int want = 3 + 6 + 5 + 13 + (4 + 1 + 12) + (3 + 1 + 12);
    CHECK(cmd.argc == want);
    if (cmd.argc != want) {
        rcmd_free(&cmd);
        touchpoint_writes_clear(&w);
        return;
    }
    CHECK_STR(cmd.argv[0], "EVAL");
    CHECK_STR(cmd.argv[2], "6");
    CHECK_STR(cmd.argv[3], "onloan:ru1:cells");
    CHECK_STR(cmd.argv[4], "onloan:ru1:ncells");
    CHECK_STR(cmd.argv[5], "onloan:tp");
    CHECK_STR(cmd.argv[6], "onloan:tpd:1795343460123-960");
    CHECK_STR(cmd.argv[7], "onloan:ru1:20261122");
    CHECK_STR(cmd.argv[8], "onloan:ru1:20261206");
    CHECK_STR(cmd.argv[11], "11");          /* RU_NCOUNTERS */
    CHECK_STR(cmd.argv[12], "2");           /* touchpoints */
    CHECK_STR(cmd.argv[13], "13");          /* fields of a tp entry */
    CHECK_STR(cmd.argv[14], "touchpoint");
    CHECK_STR(cmd.argv[16], "record");
    CHECK_STR(cmd.argv[22], "alternatives");
    CHECK_STR(cmd.argv[26], "cell");
    char **t = cmd.argv + 27;               /* the first one's */
    CHECK_STR(t[0], a.cell_name);
    CHECK_STR(t[1], "2");
    CHECK_STR(t[2], "0");                   /* RU_TOUCHPOINTS */
    CHECK_STR(t[3], "1");                   /* RU_ON_LOAN */
    CHECK_STR(t[4], "f356 f1,f2 demo 20261122 ");
    CHECK_STR(t[5], "1795343460123-960");
    CHECK_STR(t[7], "f356");
    CHECK_STR(t[13], "f1,f2");
    CHECK_STR(t[16], "20261122");           /* the day; the cell's number is the script's */
    t += 17;                                /* the second one's */
    CHECK_STR(t[0], b.cell_name);
    CHECK_STR(t[1], "1");
    CHECK_STR(t[3], "f9  demo 20261206 ");  /* no alternatives */
    CHECK_STR(t[4], "1795343460123-961");
    CHECK_STR(t[13], "demo-ab");
    CHECK_STR(t[14], "reserve_only");
    CHECK_STR(t[15], "20261206");
    rcmd_free(&cmd);
    touchpoint_writes_clear(&w);
    CHECK(w.n == 0 && w.keys.argc == 0 && w.args.argc == 0);
    /* a batch holds TOUCHPOINT_BATCH_PLACES at most */
    for (int i = 0; i < TOUCHPOINT_BATCH_PLACES; i++)
        CHECK(touchpoint_writes_add(cfg, &w, &a, 1795343460123, 127, c, 2, id_a) == 0);
    CHECK_STR(id_a, "1795343460123-63");
    CHECK(touchpoint_writes_add(cfg, &w, &a, 1795343460123, 127, c, 2, id_a) == -1);
    CHECK(w.n == TOUCHPOINT_BATCH_PLACES);
    touchpoint_writes_clear(&w);
}

/* Reading a touchpoint back: its day's tpd: value, or an older tpd:<id>
 * hash, or nothing. */
static redisReply *str(const char *s)
{
    redisReply *r = calloc(1, sizeof *r);
    r->type = REDIS_REPLY_STRING;
    r->str = strdup(s);
    r->len = strlen(s);
    return r;
}

static redisReply *arr(size_t n, redisReply **e)
{
    redisReply *r = calloc(1, sizeof *r);
    r->type = REDIS_REPLY_ARRAY;
    r->elements = n;
    r->element = calloc(n ? n : 1, sizeof *e);
    if (n)
        memcpy(r->element, e, n * sizeof *e);
    return r;
}

static redisReply *nil(void)
{
    redisReply *r = calloc(1, sizeof *r);
    r->type = REDIS_REPLY_NIL;
    return r;
}

static void reply_free(redisReply *r)
{
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        reply_free(r->element[i]);
    free(r->element);
    free(r->str);
    free(r);
}

TEST(touchpoint_read_back)
{
    struct rcmd cmds[TOUCHPOINT_READ_CMDS] = {{0}};
    CHECK(touchpoint_log_read(cfg, "1795343460123-961", cmds) == 0);
    CHECK(cmds[0].argc == 3 && cmds[1].argc == 2);
    CHECK_STR(cmds[0].argv[1], "onloan:tpd:1795343460123-960");
    CHECK_STR(cmds[0].argv[2], "1");
    CHECK_STR(cmds[1].argv[1], "onloan:tpd:1795343460123-961");
    rcmd_free(&cmds[0]);
    rcmd_free(&cmds[1]);
    const char *not_ids[] = {"not-an-id", "", "-5", "12-", "12-x", "12-3x", "x12-3",
                             "12-9223372036854775808", "99999999999999999999999-1"};
    for (size_t i = 0; i < sizeof not_ids / sizeof not_ids[0]; i++) {
        char batch[TOUCHPOINT_ID_MAX_BYTES + 1];
        unsigned place;
        if (touchpoint_id_batch(not_ids[i], batch, &place) != -1)
            printf("FAIL touchpoint_read_back: \"%s\" read as an id\n", not_ids[i]),
                unit_current_failed = 1;
    }
    CHECK(touchpoint_log_read(cfg, "not-an-id", cmds) == 0);
    CHECK_STR(cmds[0].argv[1], "onloan:tpd:-");
    rcmd_free(&cmds[0]);
    rcmd_free(&cmds[1]);

    struct touchpoint_entry e;
    redisReply *r = arr(2, (redisReply *[]){str("f356 f1,f2 demo 20261122 7"), arr(0, NULL)});
    CHECK(touchpoint_entry_parse(r, &e) == 1);
    CHECK_STR(e.record, "f356");
    CHECK_STR(e.alternatives, "f1,f2");
    CHECK_STR(e.catalogue, "demo");
    CHECK_STR(e.day, "20261122");
    CHECK(e.has_cell && e.cell == 7);
    CHECK(touchpoint_entry_shows(&e, "f2") && !touchpoint_entry_shows(&e, "f3"));
    reply_free(r);
    r = arr(2, (redisReply *[]){str("f9  demo 20261122 0"), arr(0, NULL)});
    CHECK(touchpoint_entry_parse(r, &e) == 1);
    CHECK_STR(e.alternatives, "");
    reply_free(r);
    r = arr(2, (redisReply *[]){nil(), arr(4, (redisReply *[]){str("record"), str("f1"),
                                                                  str("alternatives"), str("f2")})});
    CHECK(touchpoint_entry_parse(r, &e) == 1);
    CHECK_STR(e.record, "f1");
    CHECK(!e.has_cell);
    reply_free(r);
    r = arr(2, (redisReply *[]){nil(), arr(0, NULL)});
    CHECK(touchpoint_entry_parse(r, &e) == 0);
    reply_free(r);
    /* values that are not one */
    const char *bad[] = {"f1 f2 demo 20261122", "f1 f2 demo 20261122 7 8", " f2 demo 20261122 7",
                         "f1 f2 demo 2026112 7", "f1 f2 demo 20261122 x", "f1 f2 demo 20261122 ",
                         "f1 f2 demo 20261122 99999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = arr(2, (redisReply *[]){str(bad[i]), arr(0, NULL)});
        if (touchpoint_entry_parse(r, &e) != -1)
            printf("FAIL touchpoint_read_back: \"%s\" read\n", bad[i]), unit_current_failed = 1;
        reply_free(r);
    }
    r = arr(1, (redisReply *[]){nil()});
    CHECK(touchpoint_entry_parse(r, &e) == -1);
    reply_free(r);
}

TEST(reading_a_day)
{
    /* cell 1's RU_CLICK is 0x01020304; everything else 0; past the end 0 */
    size_t len = (1 * RU_NCOUNTERS + RU_CLICK + 1) * 4;
    unsigned char *day = calloc(1, len);
    size_t at = (1 * RU_NCOUNTERS + RU_CLICK) * 4;
    day[at] = 1, day[at + 1] = 2, day[at + 2] = 3, day[at + 3] = 4;
    CHECK(rollup_count(day, len, 1, RU_CLICK) == 0x01020304u);
    CHECK(rollup_count(day, len, 1, RU_SHOWN) == 0);
    CHECK(rollup_count(day, len, 1, RU_RESERVE) == 0);   /* past the end */
    CHECK(rollup_count(day, len, 7, RU_TOUCHPOINTS) == 0);
    CHECK(rollup_count(day, 0, 0, RU_TOUCHPOINTS) == 0);
    free(day);
    CHECK(RU_NCOUNTERS == 11);          /* the stored layout (ru1:) */
    CHECK_STR(ru_counter_names[RU_ATTRIBUTED_BORROW_WANTED], "attributed_borrow_wanted");
}

int main(void)
{
    struct strbuf err = {0};
    cfg = config_parse(UNIT_LOAN_CONFIG, "rollup.json", &err);
    if (!cfg) {
        printf("FAIL config: %s", strbuf_cstr(&err));
        return 1;
    }
    RUN(cell_names);
    RUN(days_are_local);
    RUN(touchpoints_written_together);
    RUN(touchpoint_read_back);
    RUN(reading_a_day);
    config_free((struct config *)cfg);
    strbuf_free(&err);
    return unit_failures != 0;
}
