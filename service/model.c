/* model.c: see model.h. */
#include "model.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ttl_cache.h"
#include "log.h"

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
};

struct neighbours *neighbours_ref(struct neighbours *nb)
{
    nb->refs++;
    return nb;
}

void neighbours_unref(struct neighbours *nb)
{
    if (!nb || --nb->refs > 0)
        return;
    candidates_free(nb->cands, nb->n);
    free(nb);
}

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

/* EXEC reply: [co-occurring (member, count)..., the record's borrowers,
 *              popular (member, count)..., number of patrons]. */
static struct neighbours *parse(const struct model *m, const char *record, const redisReply *reply)
{
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 4)
        return NULL;
    const redisReply *co = reply->element[0], *wanted = reply->element[1];
    const redisReply *pop = reply->element[2], *patrons = reply->element[3];
    double borrowers = wanted->type == REDIS_REPLY_STRING ? atof(wanted->str) : 0;
    double npatrons = patrons->type == REDIS_REPLY_STRING ? atof(patrons->str) : 0;
    size_t max = (size_t)m->cfg->max_candidates;
    struct neighbours *nb = calloc(1, sizeof *nb);
    if (!nb)
        return NULL;
    nb->refs = 1;
    nb->fetched_ms = monotonic_ms();
    int oom = 0;
    for (size_t i = 0; co->type == REDIS_REPLY_ARRAY && i + 1 < co->elements && nb->n < max; i += 2) {
        double score = borrowers > 0 ? atof(co->element[i + 1]->str) / borrowers : 0;
        oom |= candidates_add(&nb->cands, &nb->n, record, co->element[i]->str,
                              score > 1 ? 1 : score, REASON_ALSO_BORROWED);
    }
    for (size_t i = 0; pop->type == REDIS_REPLY_ARRAY && i + 1 < pop->elements && nb->n < max; i += 2) {
        double score = npatrons > 0 ? atof(pop->element[i + 1]->str) / npatrons : 0;
        oom |= candidates_add(&nb->cands, &nb->n, record, pop->element[i]->str,
                              score > 1 ? 1 : score, REASON_POPULAR);
    }
    if (oom) {
        neighbours_unref(nb);
        return NULL;
    }
    return nb;
}

static void read_done(redisReply *reply, const char *error, void *arg)
{
    struct model_read *rd = arg;
    struct neighbours *nb = reply ? parse(rd->m, rd->record, reply) : NULL;
    if (reply && !nb) {
        error = "redis_unavailable";
        log_msg(LOG_WARN, "co-occurrence of %s not read: %s", rd->record,
                reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
    }
    if (nb)
        cache_put(rd->m, rd->record, nb);
    rd->cb(nb, nb ? NULL : error, rd->arg);
    free(rd->record);
    free(rd);
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
    rc |= rcmd_addstr(&cmds[0], "ZREVRANGEBYSCORE") | rcmd_addf(&cmds[0], "%sco:%s", pfx, record) |
          rcmd_addstr(&cmds[0], "+inf") | rcmd_addf(&cmds[0], "%d", cfg->min_patrons) |
          rcmd_addstr(&cmds[0], "WITHSCORES") | rcmd_addstr(&cmds[0], "LIMIT") |
          rcmd_addstr(&cmds[0], "0") | rcmd_addf(&cmds[0], "%d", cfg->max_candidates);
    rc |= rcmd_addstr(&cmds[1], "ZSCORE") | rcmd_addf(&cmds[1], "%spop", pfx) |
          rcmd_addstr(&cmds[1], record);
    rc |= rcmd_addstr(&cmds[2], "ZREVRANGE") | rcmd_addf(&cmds[2], "%spop", pfx) |
          rcmd_addstr(&cmds[2], "0") | rcmd_addf(&cmds[2], "%d", cfg->max_candidates - 1) |
          rcmd_addstr(&cmds[2], "WITHSCORES");
    rc |= rcmd_addstr(&cmds[3], "HGET") | rcmd_addf(&cmds[3], "%smeta", pfx) |
          rcmd_addstr(&cmds[3], "patrons");
    if (!rc)
        rd->op = store_exec(m->st, cmds, 4, read_done, rd);
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
    free(rd->record);
    free(rd);
}
