/* rate_limit.h: requests a second per client (limits.per_client_rps),
 * a token bucket each (core/token_bucket.h), in a table of bounded size.
 *
 * A client is what the caller names it: the peer's address. At most
 * max_clients are kept: whenever one is added, those whose buckets are
 * full again (idle long enough that forgetting them changes nothing) go
 * first, from the least recently seen; if the table is still full, the
 * least recently seen goes anyway (counted: it starts again with a full
 * bucket, which only lets it through sooner). Keys are hashed keyed
 * (dict.h), so crafted addresses cannot collide. */
#ifndef ONLOAN_HTTP_RATE_LIMIT_H
#define ONLOAN_HTTP_RATE_LIMIT_H

#include <stddef.h>
#include <stdint.h>

struct rate_limit;

/* rps >= 1 requests a second, burst >= 1 at once, max_clients >= 1.
 * NULL when out of memory. */
struct rate_limit *rate_limit_new(unsigned rps, unsigned burst, size_t max_clients);
void rate_limit_free(struct rate_limit *rl);

enum rate_verdict { RATE_OK, RATE_LIMITED, RATE_NO_MEMORY };
/* One request of client at now_ms (monotonic): RATE_LIMITED with
 * *retry_after_s, whole seconds rounded up (>= 1), until it may ask
 * again. */
enum rate_verdict rate_limit_take(struct rate_limit *rl, const char *client, uint64_t now_ms,
                                  unsigned *retry_after_s);

struct rate_limit_stats {
    size_t clients;                 /* kept now */
    unsigned long long limited;     /* requests refused */
    unsigned long long evicted;     /* clients forgotten before their buckets were full */
};
void rate_limit_get_stats(const struct rate_limit *rl, struct rate_limit_stats *st);

#endif
