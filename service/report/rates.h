/* rates.h: a rate of a report with its 95 % interval, and the difference
 * of two rates with its interval.
 *
 * A rate is k of n: outcomes of on-loan touchpoints (each counted once per
 * touchpoint, type and record) per on-loan touchpoint. Its interval is
 * Wilson's score interval, which stays inside 0..1 and behaves at k = 0
 * and for small n (Newcombe 1998, "Two-sided confidence intervals for the
 * single proportion", method 3). k above n (a touchpoint whose patron
 * clicked two of its alternatives counts two clicks) is taken as n: a
 * rate is a share of touchpoints, at most 1.
 *
 * A difference p1 - p2 (an arm against its experiment's reference arm)
 * has Newcombe's hybrid score interval, built from the two Wilson
 * intervals (Newcombe 1998, "Interval estimation for the difference
 * between independent proportions", method 10). */
#ifndef ONLOAN_REPORT_RATES_H
#define ONLOAN_REPORT_RATES_H

#include <stdint.h>

#define RATE_Z 1.959964         /* the normal quantile of a 95 % two-sided interval */

struct estimate {
    int known;                  /* 0: n was 0, there is nothing to estimate */
    double value, low, high;
};

/* k of n, with its Wilson interval. */
void rate_wilson(uint64_t k, uint64_t n, struct estimate *e);
/* k1 of n1 minus k2 of n2, with Newcombe's hybrid score interval;
 * unknown when either n is 0. */
void rate_difference(uint64_t k1, uint64_t n1, uint64_t k2, uint64_t n2, struct estimate *e);

#endif
