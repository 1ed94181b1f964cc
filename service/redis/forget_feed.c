/* forget_feed.c: see forget_feed.h. The connection, its reconnects and
 * the SUBSCRIBE are a subscriber store's (redis_client.h); this is what the
 * messages mean. */
#include "redis/forget_feed.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"
#include "core/pseudonym.h"
#include "redis/redis_client.h"

struct forget_feed {
    struct redis_client *sub;
    forget_heard_cb *heard;
    void *arg;
    int listening;
    struct forget_feed_stats stats;
};

static int is_pseudonym(const char *s, size_t len)
{
    if (len != PSEUDONYM_HEX_LEN)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static void message(const char *payload, size_t len, void *arg)
{
    struct forget_feed *ff = arg;
    char pseudonym[PSEUDONYM_HEX_LEN + 1];
    if (!is_pseudonym(payload, len)) {
        ff->stats.refused++;
        log_msg(LOG_WARN, "forget feed: a message that is not a pseudonym was ignored");
        return;
    }
    snprintf(pseudonym, sizeof pseudonym, "%.*s", (int)len, payload);
    ff->stats.heard++;
    ff->heard(pseudonym, ff->arg);
}

/* Subscribed: forgets made while the feed was down were not heard.
 * Unsubscribed: from now on one may be missed. Either way whatever was
 * kept for any patron goes. */
static void listening(int on, void *arg)
{
    struct forget_feed *ff = arg;
    ff->listening = on;
    if (on) {
        ff->stats.subscribed++;
        log_msg(LOG_INFO, "forget feed: listening");
    }
    ff->heard(NULL, ff->arg);
}

struct forget_feed *forget_feed_new(struct event_base *base, const struct config *cfg,
                                    forget_heard_cb *heard, void *arg)
{
    struct forget_feed *ff = calloc(1, sizeof *ff);
    char *channel = NULL;
    if (!ff || asprintf(&channel, "%s%s", cfg->redis_prefix, FORGET_CHANNEL) < 0) {
        free(ff);
        return NULL;
    }
    ff->heard = heard;
    ff->arg = arg;
    ff->sub = redis_subscriber_new(base, cfg, channel, message, listening, ff);
    free(channel);
    if (!ff->sub) {
        free(ff);
        return NULL;
    }
    return ff;
}

void forget_feed_free(struct forget_feed *ff)
{
    if (!ff)
        return;
    redis_client_free(ff->sub);
    free(ff);
}

struct redis_client *forget_feed_client(struct forget_feed *ff)
{
    return ff->sub;
}

int forget_feed_listening(const struct forget_feed *ff)
{
    return ff && ff->listening;
}

void forget_feed_get_stats(const struct forget_feed *ff, struct forget_feed_stats *out)
{
    *out = ff->stats;
}
