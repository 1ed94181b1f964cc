/* test_rates.c: Wilson's interval and Newcombe's interval of a
 * difference (report/rates.h) against the published examples
 * (Newcombe 1998, Statistics in Medicine 17: 857-872 and 873-890). */
#include <math.h>

#include "report/rates.h"
#include "unit.h"

static int near(double got, double want)
{
    return fabs(got - want) < 0.00005;     /* the papers give 4 decimals */
}

#define CHECK_INTERVAL(e, lo, hi) do { \
    CHECK((e).known); \
    if (!near((e).low, lo) || !near((e).high, hi)) \
        printf("  got [%.5f, %.5f], want [%.4f, %.4f]\n", (e).low, (e).high, lo, hi); \
    CHECK(near((e).low, lo) && near((e).high, hi)); \
} while (0)

TEST(wilson_published)
{
    struct estimate e;
    rate_wilson(81, 263, &e);
    CHECK(near(e.value, 81.0 / 263));
    CHECK_INTERVAL(e, 0.2553, 0.3662);
    rate_wilson(15, 148, &e);
    CHECK_INTERVAL(e, 0.0624, 0.1605);
    rate_wilson(0, 20, &e);
    CHECK_INTERVAL(e, 0.0, 0.1611);
    CHECK(e.low == 0 && e.value == 0);
    rate_wilson(1, 29, &e);
    CHECK_INTERVAL(e, 0.0061, 0.1718);
    rate_wilson(29, 29, &e);
    CHECK_INTERVAL(e, 0.8830, 1.0);
    CHECK(e.high == 1 && e.value == 1);
}

TEST(wilson_edges)
{
    struct estimate e;
    rate_wilson(0, 0, &e);
    CHECK(!e.known);
    rate_wilson(5, 0, &e);
    CHECK(!e.known);
    /* more outcomes than touchpoints: a share of them, at most 1 */
    rate_wilson(7, 5, &e);
    CHECK(e.known && e.value == 1 && e.high == 1);
    struct estimate five;
    rate_wilson(5, 5, &five);
    CHECK(e.low == five.low);
    /* a large n: a narrow interval around the value */
    rate_wilson(50000, 1000000, &e);
    CHECK(e.low < 0.05 && e.high > 0.05 && e.high - e.low < 0.001);
}

TEST(newcombe_published)
{
    struct estimate d;
    rate_difference(56, 70, 48, 80, &d);
    CHECK(near(d.value, 0.2));
    CHECK_INTERVAL(d, 0.0524, 0.3339);
    rate_difference(9, 10, 3, 10, &d);
    CHECK_INTERVAL(d, 0.1705, 0.8090);
    rate_difference(6, 7, 2, 7, &d);
    CHECK_INTERVAL(d, 0.0582, 0.8062);
    rate_difference(5, 56, 0, 29, &d);
    CHECK_INTERVAL(d, -0.0381, 0.1926);
    rate_difference(0, 10, 0, 20, &d);
    CHECK_INTERVAL(d, -0.1611, 0.2775);
    rate_difference(0, 10, 0, 10, &d);
    CHECK_INTERVAL(d, -0.2775, 0.2775);
    rate_difference(10, 10, 0, 20, &d);
    CHECK_INTERVAL(d, 0.6791, 1.0);
    rate_difference(10, 10, 0, 10, &d);
    CHECK_INTERVAL(d, 0.6075, 1.0);
    /* the other way round: the interval mirrored */
    rate_difference(48, 80, 56, 70, &d);
    CHECK_INTERVAL(d, -0.3339, -0.0524);
    rate_difference(1, 10, 0, 0, &d);
    CHECK(!d.known);
    rate_difference(0, 0, 1, 10, &d);
    CHECK(!d.known);
}

int main(void)
{
    RUN(wilson_published);
    RUN(wilson_edges);
    RUN(newcombe_published);
    return unit_failures != 0;
}
