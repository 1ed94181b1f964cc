/* token_bucket.h: a token bucket, counted in milli-tokens so that no
 * rounding lets a client through faster than its rate.
 *
 * A bucket holds up to burst tokens and gains rate a second; a request
 * takes one. Time is the caller's (monotonic milliseconds), so the
 * arithmetic is pure and testable. */
#ifndef ONLOAN_CORE_TOKEN_BUCKET_H
#define ONLOAN_CORE_TOKEN_BUCKET_H

#include <stdint.h>

struct token_bucket {
    uint64_t milli;             /* tokens x 1000 as of at_ms */
    uint64_t at_ms;
};

/* A full bucket at now_ms. */
void token_bucket_fill(struct token_bucket *b, unsigned burst, uint64_t now_ms);
/* Takes a token (rate >= 1 a second, burst >= 1): 0, or -1 when there
 * is none, with *wait_ms set to how long until there is. */
int token_bucket_take(struct token_bucket *b, unsigned rate, unsigned burst, uint64_t now_ms,
                      uint64_t *wait_ms);
/* Full again by now_ms: a bucket that may as well be forgotten. */
int token_bucket_full(const struct token_bucket *b, unsigned rate, unsigned burst,
                      uint64_t now_ms);

#endif
