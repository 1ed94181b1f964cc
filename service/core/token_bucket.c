/* token_bucket.c: see token_bucket.h. A token a second is a milli-token
 * a millisecond: rate tokens a second are rate milli-tokens a ms. */
#include "core/token_bucket.h"

static uint64_t level(const struct token_bucket *b, unsigned rate, unsigned burst,
                      uint64_t now_ms)
{
    uint64_t full = (uint64_t)burst * 1000;
    uint64_t elapsed = now_ms > b->at_ms ? now_ms - b->at_ms : 0;
    if (b->milli >= full || elapsed >= (full - b->milli) / rate + 1)
        return full;            /* (and no product that could overflow) */
    uint64_t m = b->milli + elapsed * rate;
    return m < full ? m : full;
}

void token_bucket_fill(struct token_bucket *b, unsigned burst, uint64_t now_ms)
{
    b->milli = (uint64_t)burst * 1000;
    b->at_ms = now_ms;
}

int token_bucket_take(struct token_bucket *b, unsigned rate, unsigned burst, uint64_t now_ms,
                      uint64_t *wait_ms)
{
    b->milli = level(b, rate, burst, now_ms);
    if (now_ms > b->at_ms)
        b->at_ms = now_ms;
    if (b->milli >= 1000) {
        b->milli -= 1000;
        return 0;
    }
    *wait_ms = (1000 - b->milli + rate - 1) / rate;
    return -1;
}

int token_bucket_full(const struct token_bucket *b, unsigned rate, unsigned burst,
                      uint64_t now_ms)
{
    return level(b, rate, burst, now_ms) == (uint64_t)burst * 1000;
}
