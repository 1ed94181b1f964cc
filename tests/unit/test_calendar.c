/* test_calendar.c: day numbers, dates, ISO 8601 weeks and months as
 * reports name them (core/calendar.h). */
#include <stdlib.h>

#include "core/calendar.h"
#include "core/config.h"
#include "unit.h"

static const char *date(long days)
{
    static char out[CAL_DATE_BYTES + 1];
    cal_date_text(days, out);
    return out;
}

static const char *week(const char *d)
{
    static char out[CAL_WEEK_BYTES + 1];
    cal_week_text(config_date_days(d), out);
    return out;
}

TEST(days_and_dates_round_trip)
{
    CHECK(cal_days_from_civil(1970, 1, 1) == 0);
    CHECK(cal_days_from_civil(2026, 12, 4) == config_date_days("2026-12-04"));
    CHECK_STR(date(0), "1970-01-01");
    CHECK_STR(date(config_date_days("2028-02-29")), "2028-02-29");
    /* every day of four centuries and back, leap years included */
    long first = config_date_days("2000-01-01"), bad = 0;
    for (long d = first; d < first + 146097; d++) {
        char text[CAL_DATE_BYTES + 1];
        cal_date_text(d, text);
        bad += config_date_days(text) != d;
    }
    CHECK(bad == 0);
    char day[CAL_DAY_BYTES + 1];
    cal_day_text(config_date_days("2026-01-09"), day);
    CHECK_STR(day, "20260109");
}

TEST(iso_weeks)
{
    CHECK_STR(week("2026-12-04"), "2026-W49");
    CHECK_STR(week("2026-11-30"), "2026-W49");  /* a Monday */
    CHECK_STR(week("2026-11-29"), "2026-W48");  /* a Sunday */
    /* a week belongs to the year of its Thursday */
    CHECK_STR(week("2026-12-31"), "2026-W53");
    CHECK_STR(week("2027-01-03"), "2026-W53");
    CHECK_STR(week("2027-01-04"), "2027-W01");
    CHECK_STR(week("2024-12-30"), "2025-W01");
    CHECK_STR(week("2021-01-03"), "2020-W53");
    CHECK_STR(week("2008-12-29"), "2009-W01");
    CHECK_STR(week("1970-01-01"), "1970-W01");
    CHECK(cal_monday(config_date_days("2026-12-06")) == config_date_days("2026-11-30"));
    CHECK(cal_monday(config_date_days("2026-11-30")) == config_date_days("2026-11-30"));
    long y;
    unsigned w;
    cal_iso_week(config_date_days("2027-01-01"), &y, &w);
    CHECK(y == 2026 && w == 53);
}

TEST(months_and_years)
{
    char m[CAL_MONTH_BYTES + 1];
    cal_month_text(config_date_days("2026-12-31"), m);
    CHECK_STR(m, "2026-12");
    CHECK(cal_month(config_date_days("2027-01-01")) == cal_month(config_date_days("2026-12-31")) + 1);
    CHECK_STR(date(cal_year_before(config_date_days("2027-06-30"))), "2026-06-30");
    CHECK_STR(date(cal_year_before(config_date_days("2028-02-29"))), "2027-02-28");
    CHECK_STR(date(cal_year_before(config_date_days("2029-03-01"))), "2028-03-01");
}

TEST(today_is_local)
{
    setenv("TZ", "Europe/Amsterdam", 1);
    tzset();
    CHECK_STR(date(cal_today(1798671600)), "2026-12-31");  /* 23:00 UTC on the 30th */
    setenv("TZ", "UTC", 1);
    tzset();
    CHECK_STR(date(cal_today(1798671600)), "2026-12-30");
}

int main(void)
{
    RUN(days_and_dates_round_trip);
    RUN(iso_weeks);
    RUN(months_and_years);
    RUN(today_is_local);
    return unit_failures != 0;
}
