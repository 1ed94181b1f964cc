/* calendar.c: see calendar.h. */
#include "core/calendar.h"

#include <stdio.h>

long cal_days_from_civil(long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long)doe - 719468;
}

void cal_civil_from_days(long days, long *y, unsigned *m, unsigned *d)
{
    long z = days + 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (long)yoe + era * 400 + (*m <= 2);
}

/* Writes n decimal digits of v (zero-padded) at out. */
static void digits(char *out, long v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

void cal_date_text(long days, char out[CAL_DATE_BYTES + 1])
{
    long y;
    unsigned m, d;
    cal_civil_from_days(days, &y, &m, &d);
    digits(out, y, 4);
    out[4] = '-';
    digits(out + 5, m, 2);
    out[7] = '-';
    digits(out + 8, d, 2);
    out[10] = '\0';
}

void cal_day_text(long days, char out[CAL_DAY_BYTES + 1])
{
    long y;
    unsigned m, d;
    cal_civil_from_days(days, &y, &m, &d);
    digits(out, y, 4);
    digits(out + 4, m, 2);
    digits(out + 6, d, 2);
    out[8] = '\0';
}

long cal_monday(long days)
{
    /* 1970-01-01 was a Thursday: (days + 3) mod 7 is 0 on Mondays */
    long wd = (days + 3) % 7;
    if (wd < 0)
        wd += 7;
    return days - wd;
}

void cal_iso_week(long days, long *year, unsigned *week)
{
    long thursday = cal_monday(days) + 3;
    unsigned m, d;
    cal_civil_from_days(thursday, year, &m, &d);
    *week = (unsigned)((thursday - cal_days_from_civil(*year, 1, 1)) / 7 + 1);
}

void cal_week_text(long days, char out[CAL_WEEK_BYTES + 1])
{
    long y;
    unsigned w;
    cal_iso_week(days, &y, &w);
    digits(out, y, 4);
    out[4] = '-';
    out[5] = 'W';
    digits(out + 6, w, 2);
    out[8] = '\0';
}

long cal_month(long days)
{
    long y;
    unsigned m, d;
    cal_civil_from_days(days, &y, &m, &d);
    return y * 12 + (long)m - 1;
}

void cal_month_text(long days, char out[CAL_MONTH_BYTES + 1])
{
    long y;
    unsigned m, d;
    cal_civil_from_days(days, &y, &m, &d);
    digits(out, y, 4);
    out[4] = '-';
    digits(out + 5, m, 2);
    out[7] = '\0';
}

long cal_year_before(long days)
{
    long y;
    unsigned m, d;
    cal_civil_from_days(days, &y, &m, &d);
    if (m == 2 && d == 29)
        d = 28;
    return cal_days_from_civil(y - 1, m, d);
}

long cal_today(time_t now)
{
    struct tm tm;
    localtime_r(&now, &tm);
    return cal_days_from_civil(tm.tm_year + 1900L, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday);
}
