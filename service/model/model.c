/* model.c: see model.h.
 *
 * A record's read is two round trips: first its co-occurrence list and
 * its own count (one MULTI/EXEC); then the counts of the neighbours kept
 * (ZMSCORE), which every measure but raw needs. While it is in flight,
 * every model_read of the same record waits for it (m->reads) instead of
 * asking Redis again. The totals (the number of patrons and the popular
 * records, the branches and theirs) are one MULTI/EXEC of their own, and
 * one more for the branches' popular titles when there are any, read at
 * most once per model.cache_ms for the whole daemon, shared the same way. */
#include "model/model.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "core/clock.h"
#include "core/dict.h"
#include "core/log.h"
#include "core/ttl_cache.h"
#include "model/cooc_list.h"

/* Waiters leave their list at any time (their request ended): LISTs,
 * which unlink without their head. */
struct model_totals_wait {
    LIST_ENTRY(model_totals_wait) link;     /* in the model's waiters */
    model_totals_cb *cb;
    void *arg;
};

struct model {
    struct redis_client *st;
    const struct config *cfg;
    struct ttl_cache *cache;    /* record -> struct neighbours (one ref) */
    struct dict *reads;         /* record -> its struct record_read in flight */
    struct model_totals *totals;            /* the last good read (one ref), or NULL */
    struct redis_op *totals_op;             /* the totals read in flight, or NULL */
    struct model_totals *totals_partial;    /* read but for its branches' titles (one ref) */
    LIST_HEAD(totals_waiters, model_totals_wait) waiters;   /* who waits for it */
    int branches_cut;           /* the last totals read found more than MODEL_MAX_BRANCHES
                                 * in pob (logged when it began) */
};

/* One caller of model_read, waiting for its record's read. */
struct model_read {
    LIST_ENTRY(model_read) link;    /* in the read's waiters */
    model_cb *cb;
    void *arg;
};

/* One record's read from Redis, however many wait for it. It lives from
 * its start to its last callback (or model_free), whether or not anyone
 * still waits: see model_read_cancel. */
struct record_read {
    struct model *m;
    char *record;
    struct redis_op *op;        /* the round trip in flight */
    struct neighbours *nb;      /* after the first round trip */
    LIST_HEAD(read_waiters, model_read) waiters;
};

static void cache_value_free(void *v)
{
    neighbours_unref(v);
}

struct model *model_new(struct redis_client *st, const struct config *cfg)
{
    struct model *m = calloc(1, sizeof *m);
    if (!m || !(m->reads = dict_new()) ||
        !(m->cache = ttl_cache_new((size_t)cfg->model_cache_max_entries, cache_value_free))) {
        if (m)
            dict_free(m->reads, NULL);
        free(m);
        return NULL;
    }
    m->st = st;
    m->cfg = cfg;
    return m;
}

static void record_read_free(struct record_read *rr)
{
    while (!LIST_EMPTY(&rr->waiters))
        model_read_cancel(LIST_FIRST(&rr->waiters));
    neighbours_unref(rr->nb);
    free(rr->record);
    free(rr);
}

/* model_free: a read in flight is dropped with its waiters, unanswered. */
static int read_drop(const char *key, void *v, void *arg)
{
    (void)key;
    (void)arg;
    struct record_read *rr = v;
    redis_op_cancel(rr->op);
    record_read_free(rr);
    return 1;
}

void model_free(struct model *m)
{
    if (!m)
        return;
    dict_each(m->reads, read_drop, NULL);
    dict_free(m->reads, NULL);
    redis_op_cancel(m->totals_op);
    model_totals_unref(m->totals_partial);
    while (!LIST_EMPTY(&m->waiters))
        model_totals_wait_cancel(LIST_FIRST(&m->waiters));
    model_totals_unref(m->totals);
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

/* A count as Redis prints a score ("12", "1e+06"), kept within uint32_t. */
static uint32_t count_of(const char *s)
{
    double v = strtod(s, NULL);
    return v >= 4294967295.0 ? UINT32_MAX : v > 0 ? (uint32_t)v : 0;
}

/* What the first read said of record. */
static struct neighbours *model_parse(const struct config *cfg, const char *record,
                                      const char *co, size_t co_len, const char *borrowers)
{
    struct cooc_list list;
    struct neighbours *nb = calloc(1, sizeof *nb);
    if (!nb)
        return NULL;
    nb->refs = 1;
    nb->fetched_ms = monotonic_ms();
    nb->borrowers = borrowers ? count_of(borrowers) : 0;
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
    return nb;
fail:
    neighbours_unref(nb);
    return NULL;
}

/* The read is over: kept if it succeeded, then every waiter gets it (its
 * own reference) or the error. It leaves m->reads first, so that a
 * callback asking for the record again starts a read of its own. */
static void read_finish(struct record_read *rr, enum failure error)
{
    struct model *m = rr->m;
    struct neighbours *nb = error ? NULL : rr->nb;
    rr->op = NULL;
    dict_del(m->reads, rr->record);
    if (nb)
        cache_put(m, rr->record, nb);
    /* The waiters are taken out first: a callback may cancel another
     * waiter still here (its request ended). */
    struct read_waiters pending = LIST_HEAD_INITIALIZER(pending);
    struct model_read *w;
    while ((w = LIST_FIRST(&rr->waiters))) {
        LIST_REMOVE(w, link);
        LIST_INSERT_HEAD(&pending, w, link);
    }
    while ((w = LIST_FIRST(&pending))) {
        model_cb *cb = w->cb;
        void *cb_arg = w->arg;
        model_read_cancel(w);
        cb(nb ? neighbours_ref(nb) : NULL, nb ? FAILURE_NONE : error, cb_arg);
    }
    record_read_free(rr);
}

/* ZMSCORE reply: the neighbours' own counts, in list order. */
static void counts_done(redisReply *reply, enum failure error, void *arg)
{
    struct record_read *rd = arg;
    struct neighbours *nb = rd->nb;
    if (reply && (reply->type != REDIS_REPLY_ARRAY || reply->elements != nb->n)) {
        log_msg(LOG_WARN, "neighbour counts of %s not read: %s", rd->record,
                reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
        error = FAILURE_REDIS_UNAVAILABLE;
    }
    for (size_t i = 0; !error && i < nb->n; i++) {
        const redisReply *s = reply->element[i];
        nb->list[i].borrowers = s->type == REDIS_REPLY_STRING ? count_of(s->str) : 0;
    }
    read_finish(rd, error);
}

static const char *reply_str(const redisReply *r)
{
    return r->type == REDIS_REPLY_STRING ? r->str : NULL;
}

/* An error among EXEC's replies (WRONGTYPE: a model of an older layout,
 * say), or NULL. */
static const redisReply *refused_reply(const redisReply *reply)
{
    for (size_t i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++)
        if (reply->element[i]->type == REDIS_REPLY_ERROR)
            return reply->element[i];
    return NULL;
}

static void log_refused(const char *what, const redisReply *refused)
{
    log_msg(LOG_ERROR, "model of %s unreadable (%s): a model of another layout? "
            "delete the prefix's keys and run onloan load again", what, refused->str);
}

/* EXEC reply: [co list, the record's borrowers, its holds waiting]. */
static void list_done(redisReply *reply, enum failure error, void *arg)
{
    struct record_read *rd = arg;
    const struct config *cfg = rd->m->cfg;
    if (reply) {
        const redisReply *refused = refused_reply(reply);
        if (refused) {
            log_refused(rd->record, refused);
        } else if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 3) {
            const redisReply *co = reply->element[0];
            const char *queue = reply_str(reply->element[2]);
            rd->nb = model_parse(cfg, rd->record, reply_str(co), co->len,
                                 reply_str(reply->element[1]));
            if (rd->nb)
                rd->nb->queue = queue ? count_of(queue) : 0;
        }
        if (!rd->nb) {
            log_msg(LOG_WARN, "co-occurrence of %s not read: %s", rd->record,
                    reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
            error = FAILURE_REDIS_UNAVAILABLE;
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
        read_finish(rd, FAILURE_OUT_OF_MEMORY);
        return;
    }
    rd->op = redis_exec(rd->m->st, &cmd, 1, counts_done, rd);
    rcmd_free(&cmd);
    if (!rd->op)
        read_finish(rd, FAILURE_OUT_OF_MEMORY);
}

/* Starts the read of record, in m->reads. NULL when out of memory. */
static struct record_read *record_read_start(struct model *m, const char *record)
{
    const char *pfx = m->cfg->redis_prefix;
    struct record_read *rr = calloc(1, sizeof *rr);
    if (!rr || !(rr->record = strdup(record)) || dict_set(m->reads, record, rr, NULL) < 0) {
        if (rr)
            free(rr->record);
        free(rr);
        return NULL;
    }
    rr->m = m;
    struct rcmd cmds[3] = {{0}};
    int rc = 0;
    rc |= rcmd_addstr(&cmds[0], "GET") | rcmd_addf(&cmds[0], "%sco:%s", pfx, record);
    rc |= rcmd_addstr(&cmds[1], "ZSCORE") | rcmd_addf(&cmds[1], "%spop", pfx) |
          rcmd_addstr(&cmds[1], record);
    rc |= rcmd_addstr(&cmds[2], "GET") | rcmd_addf(&cmds[2], "%sq:%s", pfx, record);
    if (!rc)
        rr->op = redis_exec(m->st, cmds, 3, list_done, rr);
    for (int i = 0; i < 3; i++)
        rcmd_free(&cmds[i]);
    if (!rr->op) {
        dict_del(m->reads, record);
        record_read_free(rr);
        return NULL;
    }
    return rr;
}

struct model_read *model_read(struct model *m, const char *record, model_cb *cb, void *arg)
{
    struct model_read *w = calloc(1, sizeof *w);
    struct record_read *rr = w ? dict_get(m->reads, record) : NULL;
    if (!w || (!rr && !(rr = record_read_start(m, record)))) {
        free(w);
        return NULL;
    }
    w->cb = cb;
    w->arg = arg;
    LIST_INSERT_HEAD(&rr->waiters, w, link);
    return w;
}

/* The read goes on without this waiter, even when it was the last one,
 * and its result still goes into the cache: Redis has been asked
 * already, a request for the record that comes meanwhile joins it
 * instead of asking again, and it ends by itself within redis.timeout_ms
 * a round trip. */
void model_read_cancel(struct model_read *rd)
{
    if (!rd)
        return;
    LIST_REMOVE(rd, link);
    free(rd);
}

size_t model_reads_in_flight(const struct model *m)
{
    return dict_size(m->reads);
}

void model_cache_stats(const struct model *m, struct ttl_cache_stats *st)
{
    ttl_cache_get_stats(m->cache, st);
}

/* ---- the totals --------------------------------------------------------------- */

struct model_totals *model_totals_ref(struct model_totals *t)
{
    t->refs++;
    return t;
}

void model_totals_unref(struct model_totals *t)
{
    if (!t || --t->refs > 0)
        return;
    neighbour_list_free(t->popular, t->npopular);
    for (size_t i = 0; i < t->nbranches; i++) {
        free(t->branches[i].branch);
        neighbour_list_free(t->branches[i].popular, t->branches[i].npopular);
    }
    free(t->branches);
    free(t);
}

const struct neighbour *model_totals_at_branch(const struct model_totals *t, const char *branch,
                                               size_t *n)
{
    *n = 0;
    for (size_t i = 0; branch && i < t->nbranches; i++) {
        if (strcmp(t->branches[i].branch, branch) == 0) {
            *n = t->branches[i].npopular;
            return t->branches[i].popular;
        }
    }
    return NULL;
}

static int any_key(const char *key, void *arg)
{
    (void)key;
    (void)arg;
    return 1;
}

void model_cache_drop(struct model *m)
{
    ttl_cache_drop_if(m->cache, any_key, NULL);
    model_totals_unref(m->totals);
    m->totals = NULL;
}

struct model_totals *model_totals_cached(struct model *m)
{
    if (m->totals && m->totals->fetched_ms + (uint64_t)m->cfg->model_cache_ms > monotonic_ms())
        return model_totals_ref(m->totals);
    model_totals_unref(m->totals);      /* stale: nobody gets it again */
    m->totals = NULL;
    return NULL;
}


int model_popular_parse(const redisReply *reply, uint32_t min_patrons, struct neighbour **out,
                        size_t *n)
{
    *out = NULL;
    *n = 0;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements % 2)
        return -1;
    struct neighbour *pop = calloc(reply->elements / 2 + 1, sizeof *pop);
    size_t np = 0;
    if (!pop)
        return -1;
    for (size_t i = 0; i < reply->elements; i += 2) {
        const redisReply *r = reply->element[i], *s = reply->element[i + 1];
        if (r->type != REDIS_REPLY_STRING || s->type != REDIS_REPLY_STRING)
            goto fail;
        uint32_t count = count_of(s->str);
        if (count < min_patrons)
            break;              /* most borrowed first: the rest are rarer still */
        if (!(pop[np].record = strdup(r->str)))
            goto fail;
        pop[np++].borrowers = count;
    }
    *out = pop;
    *n = np;
    return 0;
fail:
    neighbour_list_free(pop, np);
    return -1;
}

struct redis_op *model_borrowers_read(struct model *m, const char *const *records, size_t n,
                                      redis_cb *cb, void *arg)
{
    struct rcmd cmd = {0};
    int rc = rcmd_addstr(&cmd, "ZMSCORE") | rcmd_addf(&cmd, "%spop", m->cfg->redis_prefix);
    for (size_t i = 0; i < n; i++)
        rc |= rcmd_addstr(&cmd, records[i]);
    struct redis_op *op = rc ? NULL : redis_exec(m->st, &cmd, 1, cb, arg);
    rcmd_free(&cmd);
    return op;
}

int model_borrowers_parse(const redisReply *reply, size_t n, uint32_t min_patrons,
                          uint32_t *out)
{
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const redisReply *s = reply->element[i];
        if (s->type != REDIS_REPLY_STRING && s->type != REDIS_REPLY_NIL)
            return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const redisReply *s = reply->element[i];
        uint32_t count = s->type == REDIS_REPLY_STRING ? count_of(s->str) : 0;
        out[i] = count >= min_patrons ? count : 0;
    }
    return 0;
}

/* pob names more branches than the totals take (MODEL_MAX_BRANCHES + 1
 * are asked for: the one more says so). Logged when it begins, not at
 * every read: the branches from that one down (by code) answer without
 * their most borrowed titles until pob is cleared of unused ones. */
static void note_branches_cut(struct model *m, const redisReply *branches)
{
    int cut = branches->elements > MODEL_MAX_BRANCHES;
    if (cut && !m->branches_cut) {
        const char *first = reply_str(branches->element[MODEL_MAX_BRANCHES]);
        log_msg(LOG_WARN, "%spob names more than %d branches: the last %d by code are read; "
                "%s and the branches before it are offered no titles most borrowed there",
                m->cfg->redis_prefix, MODEL_MAX_BRANCHES, MODEL_MAX_BRANCHES,
                first ? first : "(not a string)");
    }
    m->branches_cut = cut;
}

/* EXEC reply: [patrons, popular, branches]. NULL when it is not that;
 * the branches' names only (their titles come in a second read), at most
 * MODEL_MAX_BRANCHES of them (more are noted in m). */
static struct model_totals *totals_parse(struct model *m, const redisReply *reply)
{
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
        reply->element[2]->type != REDIS_REPLY_ARRAY)
        return NULL;
    const char *patrons = reply_str(reply->element[0]);
    const redisReply *branches = reply->element[2];
    size_t nbranches = branches->elements;
    note_branches_cut(m, branches);
    if (nbranches > MODEL_MAX_BRANCHES)
        nbranches = MODEL_MAX_BRANCHES;
    struct model_totals *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->refs = 1;
    t->fetched_ms = monotonic_ms();
    t->patrons = patrons ? strtoull(patrons, NULL, 10) : 0;
    if (model_popular_parse(reply->element[1], (uint32_t)m->cfg->min_patrons, &t->popular,
                            &t->npopular) < 0 ||
        !(t->branches = calloc(nbranches + 1, sizeof *t->branches))) {
        model_totals_unref(t);
        return NULL;
    }
    for (size_t i = 0; i < nbranches; i++) {
        const char *b = reply_str(branches->element[i]);
        if (b && !(t->branches[t->nbranches++].branch = strdup(b))) {
            model_totals_unref(t);
            return NULL;
        }
    }
    return t;
}

/* The second read's EXEC reply: each branch's popular titles, in the
 * order of t->branches. Branches with none borrowed by min_patrons are
 * left out. -1 when it is not that. */
static int totals_branches_parse(const struct config *cfg, struct model_totals *t,
                                 const redisReply *reply)
{
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != t->nbranches)
        return -1;
    size_t kept = 0;
    int rc = 0;
    for (size_t i = 0; i < t->nbranches; i++) {
        struct branch_popular b = t->branches[i];
        if (rc == 0 && model_popular_parse(reply->element[i], (uint32_t)cfg->min_patrons,
                                           &b.popular, &b.npopular) < 0)
            rc = -1;
        if (rc == 0 && b.npopular) {
            t->branches[kept++] = b;        /* kept <= i: an entry already taken */
            continue;
        }
        free(b.branch);
        neighbour_list_free(b.popular, b.npopular);
    }
    t->nbranches = kept;
    return rc;
}

static void totals_done(redisReply *reply, enum failure error, void *arg);

/* The second read: the popular titles of each branch of t. 0, or -1
 * when out of memory. */
static int totals_read_branches(struct model *m, struct model_totals *t)
{
    const char *pfx = m->cfg->redis_prefix;
    struct rcmd *cmds = calloc(t->nbranches, sizeof *cmds);
    int rc = cmds ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < t->nbranches; i++)
        rc = rcmd_addstr(&cmds[i], "ZREVRANGE") |
             rcmd_addjoin(&cmds[i], pfx, "pob:", t->branches[i].branch) | rcmd_addstr(&cmds[i], "0") |
             rcmd_addf(&cmds[i], "%d", m->cfg->max_candidates - 1) | rcmd_addstr(&cmds[i], "WITHSCORES");
    if (rc == 0 && !(m->totals_op = redis_send(m->st, cmds, t->nbranches, REDIS_SEND_ARRAY,
                                               totals_done, NULL, m)))
        rc = -1;
    for (size_t i = 0; cmds && i < t->nbranches; i++)
        rcmd_free(&cmds[i]);
    free(cmds);
    if (rc == 0)
        m->totals_partial = t;
    return rc;
}

static void totals_done(redisReply *reply, enum failure error, void *arg)
{
    struct model *m = arg;
    struct model_totals *t = NULL, *partial = m->totals_partial;
    m->totals_op = NULL;
    m->totals_partial = NULL;
    if (reply) {
        const redisReply *refused = refused_reply(reply);
        if (refused)
            log_refused("the totals (patrons, popular)", refused);
        else if (partial && totals_branches_parse(m->cfg, partial, reply) == 0)
            t = model_totals_ref(partial);
        else if (!partial && (t = totals_parse(m, reply)) && t->nbranches) {
            if (totals_read_branches(m, t) == 0)
                return;         /* the second read calls again */
            model_totals_unref(t);
            t = NULL;
            error = FAILURE_OUT_OF_MEMORY;
        }
        if (!t && !refused && error != FAILURE_OUT_OF_MEMORY)
            log_msg(LOG_WARN, "patron count and popular records not read: %s",
                    reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
        if (!t && !error)
            error = FAILURE_REDIS_UNAVAILABLE;
    }
    model_totals_unref(partial);
    if (t && m->cfg->model_cache_ms > 0) {
        model_totals_unref(m->totals);
        m->totals = model_totals_ref(t);
    }
    /* The waiters are taken out first: a callback that asks again starts
     * a read of its own, and may cancel another waiter still here. */
    struct totals_waiters pending = LIST_HEAD_INITIALIZER(pending);
    struct model_totals_wait *w;
    while ((w = LIST_FIRST(&m->waiters))) {
        LIST_REMOVE(w, link);
        LIST_INSERT_HEAD(&pending, w, link);
    }
    while ((w = LIST_FIRST(&pending))) {
        model_totals_cb *cb = w->cb;
        void *cb_arg = w->arg;
        model_totals_wait_cancel(w);
        cb(t ? model_totals_ref(t) : NULL, t ? FAILURE_NONE : error, cb_arg);
    }
    model_totals_unref(t);
}

struct model_totals_wait *model_totals_read(struct model *m, model_totals_cb *cb, void *arg)
{
    struct model_totals_wait *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->cb = cb;
    w->arg = arg;
    if (!m->totals_op) {
        const char *pfx = m->cfg->redis_prefix;
        struct rcmd cmds[3] = {{0}};
        int rc = rcmd_addstr(&cmds[0], "HGET") | rcmd_addf(&cmds[0], "%smeta", pfx) |
                 rcmd_addstr(&cmds[0], "patrons");
        rc |= rcmd_addstr(&cmds[1], "ZREVRANGE") | rcmd_addf(&cmds[1], "%spop", pfx) |
              rcmd_addstr(&cmds[1], "0") | rcmd_addf(&cmds[1], "%d", m->cfg->max_candidates - 1) |
              rcmd_addstr(&cmds[1], "WITHSCORES");
        /* one branch more than are taken: it tells that some are left out */
        rc |= rcmd_addstr(&cmds[2], "ZREVRANGE") | rcmd_addf(&cmds[2], "%spob", pfx) |
              rcmd_addstr(&cmds[2], "0") | rcmd_addf(&cmds[2], "%d", MODEL_MAX_BRANCHES);
        if (!rc)
            m->totals_op = redis_exec(m->st, cmds, 3, totals_done, m);
        for (int i = 0; i < 3; i++)
            rcmd_free(&cmds[i]);
        if (!m->totals_op) {
            free(w);
            return NULL;
        }
    }
    LIST_INSERT_HEAD(&m->waiters, w, link);
    return w;
}

void model_totals_wait_cancel(struct model_totals_wait *w)
{
    if (!w)
        return;
    LIST_REMOVE(w, link);
    free(w);
}
