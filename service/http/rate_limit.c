/* rate_limit.c: see rate_limit.h. The clients are in a dict (by name)
 * and on a list, most recently seen first: sweeping and evicting take
 * from its tail, so each is O(1) a request, amortised. */
#include "http/rate_limit.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "core/dict.h"
#include "core/token_bucket.h"

struct client {
    TAILQ_ENTRY(client) link;
    struct token_bucket bucket;
    char name[];
};

struct rate_limit {
    unsigned rps, burst;
    size_t max;
    struct dict *clients;           /* name -> struct client */
    TAILQ_HEAD(clients, client) lru;    /* most recently seen first */
    struct rate_limit_stats stats;
};

struct rate_limit *rate_limit_new(unsigned rps, unsigned burst, size_t max_clients)
{
    struct rate_limit *rl = calloc(1, sizeof *rl);
    if (!rl || !(rl->clients = dict_new())) {
        free(rl);
        return NULL;
    }
    rl->rps = rps ? rps : 1;
    rl->burst = burst ? burst : 1;
    rl->max = max_clients ? max_clients : 1;
    TAILQ_INIT(&rl->lru);
    return rl;
}

static void client_drop(struct rate_limit *rl, struct client *c)
{
    TAILQ_REMOVE(&rl->lru, c, link);
    dict_del(rl->clients, c->name);
    free(c);
}

void rate_limit_free(struct rate_limit *rl)
{
    if (!rl)
        return;
    struct client *c;
    while ((c = TAILQ_FIRST(&rl->lru)))
        client_drop(rl, c);
    dict_free(rl->clients, NULL);
    free(rl);
}

/* Room for one more: the idle go, then (if need be) the least recent. */
static void make_room(struct rate_limit *rl, uint64_t now_ms)
{
    struct client *c;
    while ((c = TAILQ_LAST(&rl->lru, clients)) &&
           token_bucket_full(&c->bucket, rl->rps, rl->burst, now_ms))
        client_drop(rl, c);
    if (dict_size(rl->clients) >= rl->max && (c = TAILQ_LAST(&rl->lru, clients))) {
        client_drop(rl, c);
        rl->stats.evicted++;
    }
}

enum rate_verdict rate_limit_take(struct rate_limit *rl, const char *client, uint64_t now_ms,
                                  unsigned *retry_after_s)
{
    struct client *c = dict_get(rl->clients, client);
    if (c) {
        TAILQ_REMOVE(&rl->lru, c, link);
    } else {
        make_room(rl, now_ms);
        size_t len = strlen(client);
        if (!(c = malloc(sizeof *c + len + 1)))
            return RATE_NO_MEMORY;
        memcpy(c->name, client, len + 1);
        if (dict_set(rl->clients, c->name, c, NULL) < 0) {
            free(c);
            return RATE_NO_MEMORY;
        }
        token_bucket_fill(&c->bucket, rl->burst, now_ms);
    }
    TAILQ_INSERT_HEAD(&rl->lru, c, link);
    uint64_t wait_ms;
    if (token_bucket_take(&c->bucket, rl->rps, rl->burst, now_ms, &wait_ms) == 0)
        return RATE_OK;
    rl->stats.limited++;
    *retry_after_s = (unsigned)((wait_ms + 999) / 1000);
    if (*retry_after_s == 0)
        *retry_after_s = 1;
    return RATE_LIMITED;
}

void rate_limit_get_stats(const struct rate_limit *rl, struct rate_limit_stats *st)
{
    *st = rl->stats;
    st->clients = dict_size(rl->clients);
}
