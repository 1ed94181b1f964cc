/* test_attribution.c: what a loan or hold says about the touchpoint that
 * showed its title (attribution.h): the window, to the second and at both
 * ends, and which event and role give which outcome; and the at: values
 * that remember the touchpoint (touchpoint_log.h): written by
 * touchpoint_log_remember, read back by touchpoint_mark_parse. */
#include <stdlib.h>

#include "ingest/attribution.h"
#include "redis/touchpoint_log.h"
#include "unit.h"

#define DAY 86400LL
#define WINDOW (14 * DAY)
#define TP_MS 1795343460123LL       /* 2026-11-22T10:31:00.123Z */
#define TP_S (TP_MS / 1000)

static const struct config *cfg;

static struct touchpoint_mark mark(char role)
{
    struct touchpoint_mark m = {.role = role, .cell = 7, .ms = TP_MS};
    snprintf(m.touchpoint, sizeof m.touchpoint, "%lld-0", TP_MS);
    memcpy(m.day, "20261122", RU_DAY_BYTES + 1);
    return m;
}

static const char *outcome(enum loan_event_type t, char role, long long when)
{
    struct touchpoint_mark m = mark(role);
    return attribution_outcome(t, when, &m, WINDOW);
}

TEST(who_gets_what)
{
    CHECK_STR(outcome(LOAN_EVENT_LOAN, 'a', TP_S + 60), "attributed_borrow");
    CHECK_STR(outcome(LOAN_EVENT_HOLD, 'w', TP_S + 60), "attributed_reserve");
    CHECK_STR(outcome(LOAN_EVENT_LOAN, 'w', TP_S + 60), "attributed_borrow_wanted");
    /* a hold of an alternative, a hold filled or cancelled: nothing */
    CHECK(outcome(LOAN_EVENT_HOLD, 'a', TP_S + 60) == NULL);
    CHECK(outcome(LOAN_EVENT_HOLD_FILLED, 'w', TP_S + 60) == NULL);
    CHECK(outcome(LOAN_EVENT_HOLD_FILLED, 'a', TP_S + 60) == NULL);
    CHECK(outcome(LOAN_EVENT_HOLD_CANCELLED, 'w', TP_S + 60) == NULL);
    CHECK(outcome(LOAN_EVENT_HOLD_CANCELLED, 'a', TP_S + 60) == NULL);
    CHECK(attribution_possible(LOAN_EVENT_LOAN) && attribution_possible(LOAN_EVENT_HOLD));
    CHECK(!attribution_possible(LOAN_EVENT_HOLD_FILLED) &&
          !attribution_possible(LOAN_EVENT_HOLD_CANCELLED));
}

TEST(the_window)
{
    /* the touchpoint's second (its milliseconds dropped) up to window
     * seconds after it, both ends included */
    CHECK(outcome(LOAN_EVENT_LOAN, 'a', TP_S - 1) == NULL);
    CHECK_STR(outcome(LOAN_EVENT_LOAN, 'a', TP_S), "attributed_borrow");
    CHECK_STR(outcome(LOAN_EVENT_LOAN, 'a', TP_S + WINDOW), "attributed_borrow");
    CHECK(outcome(LOAN_EVENT_LOAN, 'a', TP_S + WINDOW + 1) == NULL);
    CHECK(outcome(LOAN_EVENT_HOLD, 'w', TP_S - 1) == NULL);
    CHECK(outcome(LOAN_EVENT_HOLD, 'w', TP_S + WINDOW + 1) == NULL);
    CHECK(outcome(LOAN_EVENT_LOAN, 'w', TP_S - DAY) == NULL);
    CHECK(outcome(LOAN_EVENT_LOAN, 'w', 0) == NULL);
    /* a window of one day */
    struct touchpoint_mark m = mark('a');
    CHECK(attribution_outcome(LOAN_EVENT_LOAN, TP_S + DAY, &m, DAY) != NULL);
    CHECK(attribution_outcome(LOAN_EVENT_LOAN, TP_S + DAY + 1, &m, DAY) == NULL);
}

static int parses(const char *s, struct touchpoint_mark *m)
{
    return touchpoint_mark_parse(s, strlen(s), m) == 0;
}

TEST(marks_read_back)
{
    struct touchpoint_mark m;
    CHECK(parses("1795343460123-0 w 20261122 7", &m));
    CHECK_STR(m.touchpoint, "1795343460123-0");
    CHECK(m.role == 'w' && m.ms == TP_MS && m.cell == 7);
    CHECK_STR(m.day, "20261122");
    CHECK(parses("1-18446744073709551615 a 19700101 4294967295", &m));
    CHECK(m.ms == 1 && m.role == 'a' && m.cell == 4294967295u);
    CHECK_STR(m.touchpoint, "1-18446744073709551615");
    CHECK(parses("9223372036854775807-0 a 20261122 0", &m) && m.ms == 9223372036854775807LL);
    /* the length is what counts, not a NUL */
    const char longer[] = "5-1 a 20261122 3 and more";
    CHECK(touchpoint_mark_parse(longer, 16, &m) == 0 && m.cell == 3);
    CHECK(touchpoint_mark_parse(longer, 15, &m) == -1);     /* "20261122 " without its cell */

    static const char *const bad[] = {
        "", "5-1", "5-1 w", "5-1 w 20261122", "5-1 w 20261122 ", "5-1 x 20261122 3",
        "5-1 W 20261122 3", "5 w 20261122 3", "-1 w 20261122 3", "5- w 20261122 3",
        "5-1  w 20261122 3", "5-1 w 2026112 3", "5-1 w 202611223 3", "5-1 w 2026112a 3",
        "5-1 w 20261122 3 ", "5-1 w 20261122 -3", "5-1 w 20261122 4294967296",
        "9223372036854775808-0 w 20261122 3",       /* ms past a long long */
        "5-18446744073709551616 w 20261122 3",      /* seq past 64 bits */
        "5-000000000000000000001 w 20261122 3",     /* 21 digits */
        "a5-1 w 20261122 3", "5-1 w 20261122 3x", " 5-1 w 20261122 3",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parses(bad[i], &m))
            printf("  \"%s\" read as a mark\n", bad[i]);
        CHECK(!parses(bad[i], &m));
    }
}

/* What touchpoint_log_remember writes is what touchpoint_mark_parse
 * reads: every record shown, with its role. */
TEST(remembered_marks_round_trip)
{
    struct touchpoint tp = {.record = "f356", .alternatives = "f539,f1,x.y_z:1-2",
                            .day = "20261122", .cell = 4242};
    struct rcmd_list cs = {0};
    CHECK(touchpoint_log_remember(cfg, "0123456789abcdef0123456789abcdef", "1795343460123-17",
                                  &tp, &cs) == 0);
    CHECK(cs.n == 2);
    if (cs.n != 2) {
        rcmd_list_free(&cs);
        return;
    }
    struct rcmd *set = &cs.c[0];
    CHECK(set->argc == 2 + 2 * 4);
    CHECK(strcmp(set->argv[0], "HSET") == 0);
    CHECK_STR(set->argv[1], "onloan:at:0123456789abcdef0123456789abcdef");
    static const char *const records[] = {"f356", "f539", "f1", "x.y_z:1-2"};
    for (int i = 0; i < 4 && 2 + 2 * i + 1 < set->argc; i++) {
        struct touchpoint_mark m;
        CHECK(set->len[2 + 2 * i] == strlen(records[i]) &&
              memcmp(set->argv[2 + 2 * i], records[i], set->len[2 + 2 * i]) == 0);
        CHECK(touchpoint_mark_parse(set->argv[3 + 2 * i], set->len[3 + 2 * i], &m) == 0);
        CHECK_STR(m.touchpoint, "1795343460123-17");
        CHECK(m.role == (i == 0 ? 'w' : 'a') && m.cell == 4242 && m.ms == 1795343460123LL);
        CHECK_STR(m.day, "20261122");
    }
    CHECK_STR(cs.c[1].argv[0], "EXPIRE");
    CHECK_STR(cs.c[1].argv[2], "1209600");      /* attribution_days (14) */
    rcmd_list_free(&cs);
}

int main(void)
{
    struct strbuf err = {0};
    struct config *c = config_parse(UNIT_LOAN_CONFIG, "attribution.json", &err);
    if (!c) {
        printf("FAIL config: %s\n", strbuf_cstr(&err));
        strbuf_free(&err);
        return 1;
    }
    strbuf_free(&err);
    cfg = c;
    RUN(who_gets_what);
    RUN(the_window);
    RUN(marks_read_back);
    RUN(remembered_marks_round_trip);
    config_free(c);
    printf("%d failed\n", unit_failures);
    return unit_failures != 0;
}
