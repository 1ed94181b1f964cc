/* calendar.h: dates as days since 1970-01-01 (proleptic Gregorian), and
 * the names reports give them: days YYYY-MM-DD, ISO 8601 weeks YYYY-Www,
 * months YYYY-MM. Pure arithmetic, no time zones: a "day" here is a
 * calendar day, whichever zone it was counted in. */
#ifndef ONLOAN_CORE_CALENDAR_H
#define ONLOAN_CORE_CALENDAR_H

#include <time.h>

#define CAL_DATE_BYTES 10       /* YYYY-MM-DD */
#define CAL_DAY_BYTES 8         /* YYYYMMDD (rollup days) */
#define CAL_WEEK_BYTES 8        /* YYYY-Www */
#define CAL_MONTH_BYTES 7       /* YYYY-MM */

/* Days since 1970-01-01 of y-m-d (H. Hinnant's days_from_civil; any
 * m 1..12, d 1..31 is taken as it is). */
long cal_days_from_civil(long y, unsigned m, unsigned d);
/* The date of day number days. */
void cal_civil_from_days(long days, long *y, unsigned *m, unsigned *d);

/* The text of a day: YYYY-MM-DD, or YYYYMMDD as rollup keys have it
 * (years 0..9999; each with its NUL). */
void cal_date_text(long days, char out[CAL_DATE_BYTES + 1]);
void cal_day_text(long days, char out[CAL_DAY_BYTES + 1]);

/* ISO 8601 weeks start on Monday; a week belongs to the year of its
 * Thursday, so 2026-12-31 is in 2026-W53 and 2027-01-03 too. */
long cal_monday(long days);                 /* the Monday of day's week */
void cal_iso_week(long days, long *year, unsigned *week);
void cal_week_text(long days, char out[CAL_WEEK_BYTES + 1]);
/* Months: y * 12 + (m - 1), and their text YYYY-MM. */
long cal_month(long days);
void cal_month_text(long days, char out[CAL_MONTH_BYTES + 1]);

/* The same date a year earlier (29 February gives 28 February). */
long cal_year_before(long days);

/* Today, local time (TZ), as a day number. */
long cal_today(time_t now);

#endif
