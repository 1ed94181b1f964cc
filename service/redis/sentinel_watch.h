/* sentinel_watch.h: where the Redis primary is, as Redis Sentinel says
 * (redis.sentinels, redis.master_name), and every Redis client moved
 * there when it changes.
 *
 * Nothing blocks: hiredis async on the daemon's loop. The watch keeps one
 * connection to a Sentinel subscribed to +switch-master (a Sentinel that
 * goes is replaced by the next in the list), and asks a Sentinel
 * `SENTINEL get-master-addr-by-name` (one after another until one
 * answers, each within redis.timeout_ms): at start, whenever the
 * subscription is made (a switch may have been missed), when a client
 * has trouble (its connection failed or was lost, or the node is not the
 * primary: redis_client checks ROLE) and every SENTINEL_RECHECK_MS while
 * a client is not connected. A new address moves every client added
 * (redis_client_move): their operations in flight fail as with a lost
 * connection, and the spool sends its writes again on the new primary. */
#ifndef ONLOAN_REDIS_SENTINEL_WATCH_H
#define ONLOAN_REDIS_SENTINEL_WATCH_H

#include <event2/event.h>

#include "core/config.h"
#include "core/strbuf.h"
#include "redis/redis_client.h"

/* While a client is not connected, the Sentinels are asked this often. */
#define SENTINEL_RECHECK_MS 1000

struct sentinel_watch;

/* Starts asking (cfg has redis.sentinels). NULL when out of memory. */
struct sentinel_watch *sentinel_watch_new(struct event_base *base, const struct config *cfg);
/* Before the clients it moves. */
void sentinel_watch_free(struct sentinel_watch *sw);
/* rc (borrowed; it outlives the watch or is freed after it) goes where
 * the primary is, now if it is known, and with every switch. -1 when out
 * of memory. */
int sentinel_watch_add(struct sentinel_watch *sw, struct redis_client *rc);

struct sentinel_watch_stats {
    const char *primary_host;       /* borrowed; NULL: not known yet */
    int primary_port;
    const char *sentinel_host;      /* the one subscribed to, NULL: none */
    int sentinel_port;
    int subscribed;                 /* +switch-master will be heard */
    unsigned long long switches;    /* primary changes seen (not the first answer) */
    unsigned long long queries;     /* get-master-addr-by-name answered */
    unsigned long long query_failures;  /* a Sentinel not reached or not answering */
};
void sentinel_watch_get_stats(const struct sentinel_watch *sw, struct sentinel_watch_stats *out);

/* For the onloan tool only (it may block; onloand never calls this):
 * asks the Sentinels in turn, each within redis.timeout_ms, and sets
 * cfg->redis_host and redis_port to the primary. -1 with the reason in
 * err when none answers. */
int sentinel_resolve_blocking(struct config *cfg, struct strbuf *err);

#endif
