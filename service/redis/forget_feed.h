/* forget_feed.h: every onloand hears every forget, over Redis pub/sub.
 *
 * A forget (DELETE /v1/patrons/<id> on any onloand, or `onloan forget`)
 * publishes the patron's pseudonym on the channel <prefix>forget in the
 * transaction that deletes their keys (ingest.c). Each daemon subscribes
 * on a connection of its own and drops the answers it keeps for that
 * pseudonym as soon as it hears it.
 *
 * A daemon that is not subscribed may miss one: when the subscription
 * starts (and again after every lost connection) it is told "all", and
 * while it is not listening it keeps no patron's answers
 * (forget_feed_listening). So no answer kept for a patron outlives a
 * forget that Redis confirmed. */
#ifndef ONLOAN_REDIS_FORGET_FEED_H
#define ONLOAN_REDIS_FORGET_FEED_H

#include <event2/event.h>

#include "core/config.h"
#include "redis/redis_client.h"

/* The channel's name after redis.prefix. */
#define FORGET_CHANNEL "forget"

struct forget_feed;

/* pseudonym: the forgotten patron's, or NULL for "any patron's": the
 * feed was down, so forgets may have been missed. */
typedef void forget_heard_cb(const char *pseudonym, void *arg);

/* Connects and subscribes in the background, and again after a lost
 * connection. NULL when out of memory. */
struct forget_feed *forget_feed_new(struct event_base *base, const struct config *cfg,
                                    forget_heard_cb *heard, void *arg);
void forget_feed_free(struct forget_feed *ff);

/* Its connection (borrowed), for redis/sentinel_watch.h to move. */
struct redis_client *forget_feed_client(struct forget_feed *ff);

/* Subscribed now: every forget from here on will be heard. */
int forget_feed_listening(const struct forget_feed *ff);

struct forget_feed_stats {
    unsigned long long heard;       /* pseudonyms heard */
    unsigned long long subscribed;  /* subscriptions made (1 + reconnects) */
    unsigned long long refused;     /* messages that were not a pseudonym */
};
void forget_feed_get_stats(const struct forget_feed *ff, struct forget_feed_stats *out);

#endif
