/* test_token_bucket.c: the token bucket (token_bucket.h). */
#include "core/token_bucket.h"
#include "unit.h"

TEST(bucket_burst_then_rate)
{
    struct token_bucket b;
    uint64_t wait = 0;
    token_bucket_fill(&b, 3, 1000);
    CHECK(token_bucket_full(&b, 2, 3, 1000));
    for (int i = 0; i < 3; i++)
        CHECK(token_bucket_take(&b, 2, 3, 1000, &wait) == 0);
    CHECK(!token_bucket_full(&b, 2, 3, 1000));
    CHECK(token_bucket_take(&b, 2, 3, 1000, &wait) == -1 && wait == 500);
    CHECK(token_bucket_take(&b, 2, 3, 1499, &wait) == -1 && wait == 1);
    CHECK(token_bucket_take(&b, 2, 3, 1500, &wait) == 0);
    /* refilled for an hour: still only burst */
    for (int i = 0; i < 3; i++)
        CHECK(token_bucket_take(&b, 2, 3, 3601500, &wait) == 0);
    CHECK(token_bucket_take(&b, 2, 3, 3601500, &wait) == -1 && wait == 500);
    CHECK(token_bucket_full(&b, 2, 3, 3601500 + 1500));
    CHECK(!token_bucket_full(&b, 2, 3, 3601500 + 1499));
}

/* A request every millisecond for 10 s at 5 a second, burst 4: exactly
 * 4 + 5 x 10 get through (a milli-token is never lost to rounding), and
 * a clock that goes back gives nothing. */
TEST(bucket_sustained_rate)
{
    struct token_bucket b;
    uint64_t wait;
    int taken = 0;
    token_bucket_fill(&b, 4, 0);
    for (uint64_t t = 0; t < 10000; t++)
        taken += token_bucket_take(&b, 5, 4, t, &wait) == 0;
    CHECK(taken == 4 + 5 * 10 - 1);     /* the 50th token comes at t = 10000 */
    CHECK(token_bucket_take(&b, 5, 4, 10000, &wait) == 0);
    CHECK(token_bucket_take(&b, 5, 4, 5000, &wait) == -1 && wait == 200);
}

TEST(bucket_no_overflow)
{
    struct token_bucket b;
    uint64_t wait;
    token_bucket_fill(&b, 1, 0);
    CHECK(token_bucket_take(&b, 1000000, 1, 0, &wait) == 0);
    CHECK(token_bucket_take(&b, 1000000, 1, 0, &wait) == -1 && wait == 1);
    CHECK(token_bucket_take(&b, 1000000, 1, UINT64_MAX / 2, &wait) == 0);
    CHECK(token_bucket_full(&b, 1000000, 1, UINT64_MAX));
}

int main(void)
{
    RUN(bucket_burst_then_rate);
    RUN(bucket_sustained_rate);
    RUN(bucket_no_overflow);
    return unit_failures != 0;
}
