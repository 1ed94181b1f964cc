/* test_rate_limit.c: requests a second per client, in a bounded table
 * (rate_limit.h). */
#include <stdio.h>

#include "http/rate_limit.h"
#include "unit.h"

TEST(rate_limit_per_client)
{
    struct rate_limit *rl = rate_limit_new(2, 2, 100);
    unsigned after = 0;
    CHECK(rate_limit_take(rl, "10.0.0.1", 0, &after) == RATE_OK);
    CHECK(rate_limit_take(rl, "10.0.0.1", 0, &after) == RATE_OK);
    CHECK(rate_limit_take(rl, "10.0.0.1", 0, &after) == RATE_LIMITED && after == 1);
    CHECK(rate_limit_take(rl, "10.0.0.2", 0, &after) == RATE_OK);   /* its own bucket */
    CHECK(rate_limit_take(rl, "10.0.0.1", 499, &after) == RATE_LIMITED && after == 1);
    CHECK(rate_limit_take(rl, "10.0.0.1", 500, &after) == RATE_OK);
    struct rate_limit_stats st;
    rate_limit_get_stats(rl, &st);
    CHECK(st.clients == 2 && st.limited == 2 && st.evicted == 0);
    rate_limit_free(rl);
}

/* Many clients, each asking once: the idle ones (buckets full again) are
 * swept as new ones come, so the table stays small; busy ones beyond
 * max_clients push the least recently seen out (counted), never more
 * than max_clients kept. */
TEST(rate_limit_bounded)
{
    struct rate_limit *rl = rate_limit_new(10, 1, 50);
    struct rate_limit_stats st;
    char name[32];
    unsigned after;
    for (int i = 0; i < 10000; i++) {
        snprintf(name, sizeof name, "192.0.2.%d", i);
        CHECK(rate_limit_take(rl, name, (uint64_t)i * 200, &after) == RATE_OK);
    }
    rate_limit_get_stats(rl, &st);
    CHECK(st.clients <= 2 && st.evicted == 0);
    for (int i = 0; i < 1000; i++) {        /* all at once: none idle */
        snprintf(name, sizeof name, "198.51.100.%d", i);
        CHECK(rate_limit_take(rl, name, 5000000, &after) == RATE_OK);
        rate_limit_get_stats(rl, &st);
        CHECK(st.clients <= 50);
    }
    rate_limit_get_stats(rl, &st);
    CHECK(st.clients == 50 && st.evicted == 1000 - 50);
    /* the most recent are kept, with their buckets empty */
    CHECK(rate_limit_take(rl, "198.51.100.999", 5000000, &after) == RATE_LIMITED);
    rate_limit_free(rl);
}

int main(void)
{
    RUN(rate_limit_per_client);
    RUN(rate_limit_bounded);
    return unit_failures != 0;
}
