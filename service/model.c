/* model.c: see model.h.
 *
 * A read is two round trips: first the record's co-occurrence list, its
 * own count, the number of patrons and the popular records (one
 * MULTI/EXEC); then the counts of the neighbours kept (ZMSCORE), which
 * every measure but raw needs. */
#include "model.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "cooc.h"
#include "log.h"
#include "ttl_cache.h"

struct model {
    struct store *st;
    const struct config *cfg;
    struct ttl_cache *cache;    /* record -> struct neighbours (one ref) */
};

struct model_read {
    struct model *m;
    char *record;
    model_cb *cb;
    void *arg;
    struct store_op *op;
    struct neighbours *nb;      /* after the first round trip */
};

static void cache_value_free(void *v)
{
    neighbours_unref(v);
}

struct model *model_new(struct store *st, const struct config *cfg)
{
    struct model *m = calloc(1, sizeof *m);
    if (!m || !(m->cache = ttl_cache_new((size_t)cfg->model_cache_max_entries, cache_value_free))) {
        free(m);
        return NULL;
    }
    m->st = st;
    m->cfg = cfg;
    return m;
}

void model_free(struct model *m)
{
    if (!m)
        return;
    ttl_cache_free(m->cache);
    free(m);
}

struct neighbours *model_cached(struct model *m, const char *record)
{
    struct neighbours *nb = ttl_cache_get(m->cache, record, monotonic_ms());
    return nb ? neighbours_ref(nb) : NULL;
}

static void cache_put(struct model *m, const char *record, struct neighbours *nb)
{
    if (m->cfg->model_cache_ms > 0)
        ttl_cache_put(m->cache, record, neighbours_ref(nb),
                      nb->fetched_ms + (uint64_t)m->cfg->model_cache_ms, monotonic_ms());
}

/* What the two reads said of record (popular: ZREVRANGE's reply). */
static struct neighbours *model_parse(const struct config *cfg, const char *record,
                                      const char *co, size_t co_len, const char *borrowers,
                                      const char *patrons, const redisReply *popular)
{
    struct cooc_list list;
    struct neighbours *nb = calloc(1, sizeof *nb);
    if (!nb)
        return NULL;
    nb->refs = 1;
    nb->fetched_ms = monotonic_ms();
    nb->borrowers = borrowers ? (uint32_t)strtoul(borrowers, NULL, 10) : 0;
    nb->patrons = patrons ? strtoull(patrons, NULL, 10) : 0;
    if (!(nb->record = strdup(record)) || cooc_parse(&list, co ? co : "", co ? co_len : 0) < 0)
        goto fail;
    /* The k threshold first, then the top K (an uncompacted list may
     * hold more). */
    size_t kept = 0;
    for (size_t i = 0; i < list.n; i++)
        if (list.e[i].count >= (uint32_t)cfg->min_patrons)
            list.e[kept++] = list.e[i];
    list.n = kept;
    cooc_top(&list, (size_t)cfg->neighbours_max);
    if (list.n && !(nb->list = calloc(list.n, sizeof *nb->list))) {
        cooc_free(&list);
        goto fail;
    }
    for (size_t i = 0; i < list.n; i++) {
        nb->list[i] = (struct neighbour){strdup(list.e[i].record), list.e[i].count, 0};
        if (!nb->list[i].record) {
            nb->n = i;
            cooc_free(&list);
            goto fail;
        }
    }
    nb->n = list.n;
    cooc_free(&list);
    size_t npop = popular && popular->type == REDIS_REPLY_ARRAY ? popular->elements / 2 : 0;
    if (npop && !(nb->popular = calloc(npop, sizeof *nb->popular)))
        goto fail;
    for (size_t i = 0; i < npop; i++) {
        const redisReply *r = popular->element[2 * i], *s = popular->element[2 * i + 1];
        if (r->type != REDIS_REPLY_STRING || s->type != REDIS_REPLY_STRING)
            goto fail;
        uint32_t count = (uint32_t)strtod(s->str, NULL);
        if (count < (uint32_t)cfg->min_patrons)
            break;              /* sorted: the rest are rarer still */
        if (!(nb->popular[nb->npopular].record = strdup(r->str)))
            goto fail;
        nb->popular[nb->npopular++].borrowers = count;
    }
    return nb;
fail:
    neighbours_unref(nb);
    return NULL;
}

static void read_finish(struct model_read *rd, const char *error)
{
    if (rd->nb && !error)
        cache_put(rd->m, rd->record, rd->nb);
    rd->cb(error ? NULL : rd->nb, error, rd->arg);
    if (error)
        neighbours_unref(rd->nb);
    free(rd->record);
    free(rd);
}

/* ZMSCORE reply: the neighbours' own counts, in list order. */
static void counts_done(redisReply *reply, const char *error, void *arg)
{
    struct model_read *rd = arg;
    struct neighbours *nb = rd->nb;
    if (reply && (reply->type != REDIS_REPLY_ARRAY || reply->elements != nb->n)) {
        log_msg(LOG_WARN, "neighbour counts of %s not read: %s", rd->record,
                reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
        error = "redis_unavailable";
    }
    for (size_t i = 0; !error && i < nb->n; i++) {
        const redisReply *s = reply->element[i];
        nb->list[i].borrowers = s->type == REDIS_REPLY_STRING ? (uint32_t)strtod(s->str, NULL) : 0;
    }
    read_finish(rd, error);
}

static const char *reply_str(const redisReply *r)
{
    return r->type == REDIS_REPLY_STRING ? r->str : NULL;
}

/* EXEC reply: [co list, the record's borrowers, patrons, popular]. */
static void list_done(redisReply *reply, const char *error, void *arg)
{
    struct model_read *rd = arg;
    const struct config *cfg = rd->m->cfg;
    if (reply) {
        const redisReply *refused = NULL;       /* WRONGTYPE: an older layout, say */
        for (size_t i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements && !refused; i++)
            if (reply->element[i]->type == REDIS_REPLY_ERROR)
                refused = reply->element[i];
        if (refused) {
            log_msg(LOG_ERROR, "model of %s unreadable (%s): a model of another layout? "
                    "delete the prefix's keys and run onloan load again", rd->record, refused->str);
        } else if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 4) {
            const redisReply *co = reply->element[0];
            rd->nb = model_parse(cfg, rd->record, reply_str(co), co->len,
                                 reply_str(reply->element[1]), reply_str(reply->element[2]),
                                 reply->element[3]);
        }
        if (!rd->nb) {
            log_msg(LOG_WARN, "co-occurrence of %s not read: %s", rd->record,
                    reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
            error = "redis_unavailable";
        }
    }
    if (error || rd->nb->n == 0) {
        read_finish(rd, error);
        return;
    }
    struct rcmd cmd = {0};
    int rc = rcmd_addstr(&cmd, "ZMSCORE") | rcmd_addf(&cmd, "%spop", cfg->redis_prefix);
    for (size_t i = 0; i < rd->nb->n; i++)
        rc |= rcmd_addstr(&cmd, rd->nb->list[i].record);
    if (rc) {
        rcmd_free(&cmd);
        read_finish(rd, "out_of_memory");
        return;
    }
    rd->op = store_exec(rd->m->st, &cmd, 1, counts_done, rd);
    rcmd_free(&cmd);
}

struct model_read *model_read(struct model *m, const char *record, model_cb *cb, void *arg)
{
    const struct config *cfg = m->cfg;
    const char *pfx = cfg->redis_prefix;
    struct model_read *rd = calloc(1, sizeof *rd);
    if (!rd || !(rd->record = strdup(record))) {
        free(rd);
        return NULL;
    }
    rd->m = m;
    rd->cb = cb;
    rd->arg = arg;
    struct rcmd cmds[4] = {{0}};
    int rc = 0;
    rc |= rcmd_addstr(&cmds[0], "GET") | rcmd_addf(&cmds[0], "%sco:%s", pfx, record);
    rc |= rcmd_addstr(&cmds[1], "ZSCORE") | rcmd_addf(&cmds[1], "%spop", pfx) |
          rcmd_addstr(&cmds[1], record);
    rc |= rcmd_addstr(&cmds[2], "HGET") | rcmd_addf(&cmds[2], "%smeta", pfx) |
          rcmd_addstr(&cmds[2], "patrons");
    rc |= rcmd_addstr(&cmds[3], "ZREVRANGE") | rcmd_addf(&cmds[3], "%spop", pfx) |
          rcmd_addstr(&cmds[3], "0") | rcmd_addf(&cmds[3], "%d", cfg->max_candidates - 1) |
          rcmd_addstr(&cmds[3], "WITHSCORES");
    if (!rc)
        rd->op = store_exec(m->st, cmds, 4, list_done, rd);
    for (int i = 0; i < 4; i++)
        rcmd_free(&cmds[i]);
    if (rc) {
        free(rd->record);
        free(rd);
        return NULL;
    }
    return rd;
}

void model_read_cancel(struct model_read *rd)
{
    if (!rd)
        return;
    store_op_cancel(rd->op);
    neighbours_unref(rd->nb);
    free(rd->record);
    free(rd);
}
