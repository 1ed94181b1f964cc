/* test_rollup.c: the layout of the report counters (rollup.h): cell
 * names, day strings, the BITFIELD that counts, reading a day back, and
 * the daemon's own memory of cell numbers. */
#include <stdlib.h>

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

/* A touchpoint's write: its keys, the counters it adds to, its fields. */
TEST(touchpoint_write_command)
{
    struct rcmd cmd = {0};
    enum ru_counter c[] = {RU_TOUCHPOINTS, RU_ON_LOAN};
    struct touchpoint tp = {"1795343460123-17", "f356", "demo", "on_loan", "CEN", "opac", "nl",
                            "f1,f2", "", "", "20261204", "demo\x1f" "CEN\x1f" "opac\x1f" "on_loan\x1f"};
    CHECK(touchpoint_log_add(cfg, &tp, c, 2, &cmd) == 0);
    CHECK(cmd.argc > 14);
    if (cmd.argc <= 14) {
        rcmd_free(&cmd);
        return;
    }
    CHECK_STR(cmd.argv[0], "EVAL");
    CHECK_STR(cmd.argv[2], "5");
    CHECK_STR(cmd.argv[3], "onloan:tpd:1795343460123-17");
    CHECK_STR(cmd.argv[4], "onloan:ru1:cells");
    CHECK_STR(cmd.argv[6], "onloan:ru1:20261204");
    CHECK_STR(cmd.argv[7], "onloan:tp");
    CHECK_STR(cmd.argv[9], tp.cell_name);
    CHECK_STR(cmd.argv[11], "11");          /* RU_NCOUNTERS */
    CHECK_STR(cmd.argv[12], "2");
    CHECK_STR(cmd.argv[13], "0");           /* RU_TOUCHPOINTS */
    CHECK_STR(cmd.argv[14], "1");           /* RU_ON_LOAN */
    CHECK_STR(cmd.argv[15], "touchpoint");
    CHECK_STR(cmd.argv[16], "1795343460123-17");
    rcmd_free(&cmd);
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
    RUN(touchpoint_write_command);
    RUN(reading_a_day);
    config_free((struct config *)cfg);
    strbuf_free(&err);
    return unit_failures != 0;
}
