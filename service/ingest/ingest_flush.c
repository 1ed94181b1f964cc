/* ingest_flush.c: writing the pending counts; see ingest.h (step 5) and
 * ingest_int.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "ingest/ingest_int.h"
#include "model/cooc_list.h"

static void flush_send_chunks(struct ingest *ing);
static void flush_keep_unsent(struct ingest *ing);

static const char *const total_field[NTOTALS] = {"loans", "repeats", "duplicates", "stale", "patrons"};

static int counts_add(struct counts *c, uint32_t record, uint32_t n)
{
    if (record >= c->cap) {
        size_t cap = c->cap ? c->cap : 1024;
        while (cap <= record)
            cap *= 2;
        uint32_t *pop = realloc(c->pop, cap * sizeof *pop);
        if (!pop)
            return -1;
        memset(pop + c->cap, 0, (cap - c->cap) * sizeof *pop);
        c->pop = pop;
        c->cap = cap;
    }
    if (!c->pop[record]) {
        if (c->ntouched == c->captouched) {
            size_t cap = c->captouched ? c->captouched * 2 : 256;
            uint32_t *t = realloc(c->touched, cap * sizeof *t);
            if (!t)
                return -1;
            c->touched = t;
            c->captouched = cap;
        }
        c->touched[c->ntouched++] = record;
    }
    c->pop[record] += n;
    return 0;
}

static int counts_add_record(struct counts *c, uint32_t record)
{
    return counts_add(c, record, 1);
}

/* A new borrower of record at branch (both interned). */
static int counts_add_branch(struct counts *c, uint32_t branch, uint32_t record)
{
    if (c->nbranch_new == c->capbranch_new) {
        size_t cap = c->capbranch_new ? c->capbranch_new * 2 : 256;
        uint64_t *k = realloc(c->branch_new, cap * sizeof *k);
        if (!k)
            return -1;
        c->branch_new = k;
        c->capbranch_new = cap;
    }
    c->branch_new[c->nbranch_new++] = (uint64_t)branch << 32 | record;
    return 0;
}

static int counts_empty(const struct counts *c)
{
    for (int i = 0; i < NTOTALS; i++)
        if (c->total[i])
            return 0;
    return c->ntouched == 0 && c->nbranch_new == 0;
}

static void counts_clear(struct counts *c)
{
    for (size_t i = 0; i < c->ntouched; i++)
        c->pop[c->touched[i]] = 0;
    c->ntouched = 0;
    c->nbranch_new = 0;
    memset(c->total, 0, sizeof c->total);
}

/* Adds src to dst (a flush that failed gives its counts back). */
static void counts_merge(struct counts *dst, const struct counts *src)
{
    for (size_t i = 0; i < src->ntouched; i++)
        if (counts_add(dst, src->touched[i], src->pop[src->touched[i]]) < 0)
            log_msg(LOG_ERROR, "ingest: out of memory: a borrower count dropped");
    for (size_t i = 0; i < src->nbranch_new; i++)
        if (counts_add_branch(dst, (uint32_t)(src->branch_new[i] >> 32),
                                 (uint32_t)src->branch_new[i]) < 0)
            log_msg(LOG_ERROR, "ingest: out of memory: a borrower count of a branch dropped");
    for (int i = 0; i < NTOTALS; i++)
        dst->total[i] += src->total[i];
}

static void counts_free(struct counts *c)
{
    free(c->pop);
    free(c->touched);
    free(c->branch_new);
    memset(c, 0, sizeof *c);
}

static void meta_incr(struct rcmd_list *cs, const char *pfx, const char *field, long long by)
{
    char num[32];
    if (!by)
        return;
    snprintf(num, sizeof num, "%lld", by);
    struct rcmd *c = rcmd_list_key(cs, "HINCRBY", pfx, "meta", "");
    rcmd_list_arg(cs, c, field);
    rcmd_list_arg(cs, c, num);
}

/* Answers every waiter of the list, which is left empty. */
static void waiters_answer(struct flush_waiters *list, enum failure error)
{
    struct flush_waiter *w;
    while ((w = STAILQ_FIRST(list))) {
        STAILQ_REMOVE_HEAD(list, link);
        w->cb(error, w->arg);
        free(w);
    }
}

/* A flush is written in chunks of about this many bytes, FLUSH_CHUNKS at
 * a time: hiredis moves what is left of its output buffer after every
 * write to the socket, so the time goes with the square of what waits in
 * it (1 MB chunks cost 0.3 s more than these on the ratings file). */
#define FLUSH_CHUNK_BYTES (1 << 18)

#define FLUSH_CHUNKS (sizeof ((struct ingest *)0)->chunks / sizeof ((struct ingest *)0)->chunks[0])

static void flush_finish(struct ingest *ing, enum failure error)
{
    if (ing->counts_error)
        counts_merge(&ing->counts, &ing->counts_flushing);
    ing->counts_error = FAILURE_NONE;
    counts_clear(&ing->counts_flushing);
    pair_groups_free(&ing->groups[0]);
    pair_groups_free(&ing->groups[1]);
    ing->next_record = ing->units_unwritten = 0;
    ing->nfallback = ing->next_fallback = 0;
    ing->flush_error = FAILURE_NONE;
    ing->flush_running = 0;
    struct flush_waiters done = STAILQ_HEAD_INITIALIZER(done);
    STAILQ_CONCAT(&done, &ing->flush_waiters);
    waiters_answer(&done, error);
    if (!STAILQ_EMPTY(&ing->waiters) || (!error && ing->pending.n >= (size_t)ing->cfg->flush_max_pairs))
        ingest_flush_start(ing);
}

/* A flush is over when its chunks and its counts are answered. */
static void flush_check_done(struct ingest *ing)
{
    if (ing->chunks_in_flight || ing->flush_op)
        return;
    enum failure why = ing->flush_error;
    if (why) {
        flush_keep_unsent(ing);
        log_msg(LOG_WARN, "ingest: %zu pair counts not written (%s): kept for the next flush",
                ing->units_unwritten / 2, failure_name(why));
    }
    if (ing->counts_error)
        log_msg(LOG_WARN, "ingest: record counts not written (%s): kept for the next flush",
                failure_name(ing->counts_error));
    if (!why)
        why = ing->counts_error;
    if (why)
        ing->stats.flush_failures++;
    else
        ing->stats.flushes++;
    flush_finish(ing, why);
}

/* A flush write past redis.timeout_ms: counted and waited for. */
static void flush_late(void *arg)
{
    struct ingest *ing = arg;
    ing->stats.flush_waits++;
    log_msg(LOG_WARN, "ingest: a flush write is not confirmed after %d ms; still waiting",
            ing->cfg->redis_timeout_ms);
}

static void chunk_late(void *arg)
{
    flush_late(((struct flush_chunk *)arg)->ing);
}

static void counts_written(redisReply *reply, enum failure error, void *arg)
{
    struct ingest *ing = arg;
    ing->flush_op = NULL;
    if (!error && reply->type != REDIS_REPLY_ARRAY)
        error = FAILURE_REDIS_UNAVAILABLE;
    ing->counts_error = error;
    flush_check_done(ing);
}

/* The borrowers of c at each branch into cs: ZINCRBY pob:<branch> n
 * <record>, and the branch into the index pob (ZADD NX, score 0). -1
 * when out of memory. */
static int add_branch_counts(struct ingest *ing, const struct counts *c, struct rcmd_list *cs)
{
    const char *pfx = ing->cfg->redis_prefix;
    struct pair_groups g = {0};
    if (pairs_group_directed(c->branch_new, c->nbranch_new, record_ids_count(ing->names), &g) < 0)
        return -1;
    char num[32];
    for (size_t b = 0; b < g.nrecords; b++) {
        if (g.start[b] == g.start[b + 1])
            continue;
        const char *branch = record_ids_get(ing->names, (uint32_t)b);
        struct rcmd *cmd = rcmd_list_key(cs, "ZADD", pfx, "pob", "");
        rcmd_list_arg(cs, cmd, "NX");
        rcmd_list_arg(cs, cmd, "0");
        rcmd_list_arg(cs, cmd, branch);
        for (uint32_t k = g.start[b]; k < g.start[b + 1]; k++) {
            cmd = rcmd_list_key(cs, "ZINCRBY", pfx, "pob:", branch);
            snprintf(num, sizeof num, "%u", g.count[k]);
            rcmd_list_arg(cs, cmd, num);
            rcmd_list_arg(cs, cmd, record_ids_get(ing->names, g.other[k]));
        }
    }
    pair_groups_free(&g);
    return cs->failed ? -1 : 0;
}

/* Record counts and totals, one MULTI, sent first: Redis applies them
 * while the pair counts are grouped. */
static void flush_send_counts(struct ingest *ing)
{
    const struct counts *c = &ing->counts_flushing;
    const char *pfx = ing->cfg->redis_prefix;
    struct rcmd_list cs = {0};
    char num[32];
    for (size_t i = 0; i < c->ntouched; i++) {
        uint32_t r = c->touched[i];
        struct rcmd *cmd = rcmd_list_key(&cs, "ZINCRBY", pfx, "pop", "");
        snprintf(num, sizeof num, "%u", c->pop[r]);
        rcmd_list_arg(&cs, cmd, num);
        rcmd_list_arg(&cs, cmd, record_ids_get(ing->names, r));
    }
    if (c->nbranch_new && add_branch_counts(ing, c, &cs) < 0)
        cs.failed = 1;
    for (int i = 0; i < NTOTALS; i++)
        meta_incr(&cs, pfx, total_field[i], c->total[i]);
    if (cs.failed || cs.n == 0) {       /* out of memory, or nothing counted since the last flush */
        ing->counts_error = cs.failed ? FAILURE_OUT_OF_MEMORY : FAILURE_NONE;
        rcmd_list_free(&cs);
        return;
    }
    ing->flush_op = redis_send(ing->bulk, cs.c, cs.n, REDIS_SEND_SURE | REDIS_SEND_ARRAY, counts_written,
                               flush_late, ing);
    rcmd_list_free(&cs);
    if (!ing->flush_op)
        ing->counts_error = FAILURE_OUT_OF_MEMORY;
}

/* Where record r's entries are in g: [*from, *to), empty when g has no
 * such record (the retried counts' groups may have none at all). */
static void record_span(const struct pair_groups *g, size_t r, uint32_t *from, uint32_t *to)
{
    *from = *to = 0;
    if (r < g->nrecords) {
        *from = g->start[r];
        *to = g->start[r + 1];
    }
}

/* The directed counts of record r in this flush. */
static size_t record_units(const struct ingest *ing, size_t r)
{
    size_t n = 0;
    uint32_t from, to;
    for (int k = 0; k < 2; k++) {
        record_span(&ing->groups[k], r, &from, &to);
        for (uint32_t i = from; i < to; i++)
            n += ing->groups[k].count[i];
    }
    return n;
}

/* The chunk's k-th record. */
static size_t chunk_record(const struct ingest *ing, int fallback, size_t k)
{
    return fallback ? ing->fallback[k] : k;
}

/* Keeps the counts of the chunk's records [first, end) (of the records,
 * or of fallback[]) for the next flush, as directed keys (from << 32 | to,
 * once per count). */
static void flush_keep(struct ingest *ing, int fallback, size_t first, size_t end)
{
    size_t n = 0;
    for (size_t k = first; k < end; k++)
        n += record_units(ing, chunk_record(ing, fallback, k));
    if (!n)
        return;
    uint64_t *retry = realloc(ing->retry, (ing->nretry + n) * sizeof *retry);
    if (!retry) {
        log_msg(LOG_ERROR, "ingest: out of memory: %zu pair counts dropped", n / 2);
        return;
    }
    ing->retry = retry;
    for (size_t k = first; k < end; k++) {
        size_t r = chunk_record(ing, fallback, k);
        for (int j = 0; j < 2; j++) {
            const struct pair_groups *g = &ing->groups[j];
            uint32_t from, to;
            record_span(g, r, &from, &to);
            for (uint32_t i = from; i < to; i++)
                for (uint32_t c = 0; c < g->count[i]; c++)
                    retry[ing->nretry++] = (uint64_t)r << 32 | g->other[i];
        }
    }
}

/* Everything of this flush not sent yet goes back to the next one. */
static void flush_keep_unsent(struct ingest *ing)
{
    flush_keep(ing, 0, ing->next_record, ing->groups[0].nrecords);
    flush_keep(ing, 1, ing->next_fallback, ing->nfallback);
    ing->next_record = ing->groups[0].nrecords;
    ing->next_fallback = ing->nfallback;
}

static int mark_listed(struct ingest *ing, size_t r)
{
    if (r >= ing->caplisted) {
        size_t cap = ing->caplisted ? ing->caplisted : 1024;
        while (cap <= r)
            cap *= 2;
        uint8_t *l = realloc(ing->listed, cap);
        if (!l)
            return -1;
        memset(l + ing->caplisted, 0, cap - ing->caplisted);
        ing->listed = l;
        ing->caplisted = cap;
    }
    ing->listed[r] = 1;
    return 0;
}

static void flush_chunk_done(redisReply *reply, enum failure error, void *arg)
{
    struct flush_chunk *ch = arg;
    struct ingest *ing = ch->ing;
    ch->op = NULL;
    ing->chunks_in_flight--;
    if (!error && reply->type != REDIS_REPLY_ARRAY)
        error = FAILURE_REDIS_UNAVAILABLE;
    if (error) {
        /* It waits for the next flush. It may have been applied after
         * all (a reply lost with the connection): then it is counted
         * again, never lost. */
        flush_keep(ing, ch->fallback, ch->first, ch->end);
        if (!ing->flush_error)
            ing->flush_error = error;
    } else {
        size_t units = ch->units;
        for (size_t t = 0; t < ch->ntries; t++) {
            const struct fresh_try *ft = &ch->tries[t];
            const redisReply *r = ft->at < reply->elements ? reply->element[ft->at] : NULL;
            if (r && r->type == REDIS_REPLY_STATUS)
                continue;
            /* Someone else wrote co:<record> first: its counts are
             * appended in full after the records (kept if no room). */
            units -= ft->units;
            if (ing->nfallback == ing->capfallback) {
                size_t cap = ing->capfallback ? 2 * ing->capfallback : 64;
                uint32_t *f = realloc(ing->fallback, cap * sizeof *f);
                if (!f) {
                    flush_keep(ing, 0, ft->record, (size_t)ft->record + 1);
                    continue;
                }
                ing->fallback = f;
                ing->capfallback = cap;
            }
            ing->fallback[ing->nfallback++] = ft->record;
        }
        for (size_t k = ch->first; k < ch->end; k++)
            if (mark_listed(ing, chunk_record(ing, ch->fallback, k)) < 0)
                break;      /* only a missed shortcut */
        ing->stats.pairs_written += units;          /* directed: halved in get_stats */
        ing->units_unwritten -= units;
    }
    free(ch->tries);
    ch->tries = NULL;
    ch->ntries = 0;
    flush_send_chunks(ing);
    flush_check_done(ing);
}

static size_t digits(uint32_t n)
{
    size_t d = 1;
    while (n >= 10) {
        n /= 10;
        d++;
    }
    return d;
}

/* Writes "<record> <count>\n" at p; returns the end. */
static char *put_line(char *p, const char *record, size_t len, uint32_t count)
{
    memcpy(p, record, len);
    p += len;
    *p++ = ' ';
    size_t d = digits(count);
    for (size_t i = d; i > 0; i--, count /= 10)
        p[i - 1] = (char)('0' + count % 10);
    p += d;
    *p++ = '\n';
    return p;
}

/* A chunk being built. */
struct chunk_build {
    struct rcmd_list cs;
    size_t bytes, units;
    size_t dirty;                   /* the SADD dirty command, SIZE_MAX: none yet */
    struct fresh_try *tries;
    size_t ntries, captries;
};

/* Record r's list has not been seen in Redis: it is written already
 * compacted, with SET NX (what compact.c would make of the whole list,
 * generation 1), so that it needs no compaction: a long list is cut to
 * what compaction would keep, saving the bytes, and a short one is not
 * read back and written again for nothing (a first load of the shared
 * file left half the lists to compact, 0.17 s after 0.33 s of ingest).
 * 1 if done, 0 if r does not qualify, -1 when out of memory. */
static int chunk_add_fresh(struct ingest *ing, struct chunk_build *b, uint32_t r)
{
    const struct pair_groups *g = &ing->groups[0];
    size_t keep = (size_t)ing->cfg->neighbours_max + (size_t)ing->cfg->neighbours_reserve;
    size_t n = g->start[r + 1] - g->start[r];
    int listed = r < ing->caplisted && ing->listed[r];
    uint32_t rfrom, rto;
    record_span(&ing->groups[1], r, &rfrom, &rto);
    int retried = rto > rfrom;
    if (listed || retried || n == 0)
        return 0;
    size_t room = n < keep ? n : keep;
    if (room > ing->capscratch) {
        uint32_t *o = realloc(ing->scratch, room * sizeof *o);
        if (!o)
            return -1;
        ing->scratch = o;
        ing->capscratch = room;
    }
    const uint32_t *other = g->other + g->start[r], *count = g->count + g->start[r];
    size_t units = 0;
    for (size_t i = 0; i < n; i++)
        units += count[i];
    long kept = cooc_top_counts(count, n, keep, ing->scratch);
    if (kept < 0)
        return -1;
    /* cooc_encode's text (generation 1), written like the APPENDs' */
    static const char header[] = "#1\n";
    size_t len = sizeof header - 1;
    for (long i = 0; i < kept; i++) {
        uint32_t j = ing->scratch[i];
        len += record_ids_len(ing->names, other[j]) + digits(count[j]) + 2;
    }
    char *text = malloc(len), *p = text;
    if (!text)
        return -1;
    memcpy(p, header, sizeof header - 1);
    p += sizeof header - 1;
    for (long i = 0; i < kept; i++) {
        uint32_t j = ing->scratch[i];
        p = put_line(p, record_ids_get(ing->names, other[j]), record_ids_len(ing->names, other[j]), count[j]);
    }
    if (b->ntries == b->captries) {
        size_t cap = b->captries ? 2 * b->captries : 16;
        struct fresh_try *t = realloc(b->tries, cap * sizeof *t);
        if (!t) {
            free(text);
            return -1;
        }
        b->tries = t;
        b->captries = cap;
    }
    struct rcmd *c = rcmd_list_key(&b->cs, "SET", ing->cfg->redis_prefix, "co:", record_ids_get(ing->names, r));
    if (!c) {
        free(text);
        return -1;
    }
    b->cs.failed |= rcmd_take(c, text, len);
    rcmd_list_arg(&b->cs, c, "NX");
    /* EXEC's reply has one element per command, in order: this one's is
     * OK, or nil when the key exists. */
    b->tries[b->ntries++] = (struct fresh_try){b->cs.n - 1, r, units};
    b->bytes += len;
    b->units += units;
    return b->cs.failed ? -1 : 1;
}

/* One APPEND of record r's counts (the line text sized exactly first),
 * and r added to SADD dirty. */
static int chunk_add_append(struct ingest *ing, struct chunk_build *b, size_t r)
{
    const char *pfx = ing->cfg->redis_prefix;
    const struct pair_groups *g = ing->groups;
    size_t len = 0;
    uint32_t from[2], to[2];
    for (int k = 0; k < 2; k++) {
        record_span(&g[k], r, &from[k], &to[k]);
        for (uint32_t i = from[k]; i < to[k]; i++)
            len += record_ids_len(ing->names, g[k].other[i]) + digits(g[k].count[i]) + 2;
    }
    if (len == 0)
        return 0;
    char *text = malloc(len), *p = text;
    if (!text)
        return -1;
    for (int k = 0; k < 2; k++) {
        for (uint32_t i = from[k]; i < to[k]; i++) {
            uint32_t other = g[k].other[i];
            p = put_line(p, record_ids_get(ing->names, other), record_ids_len(ing->names, other), g[k].count[i]);
            b->units += g[k].count[i];
        }
    }
    const char *name = record_ids_get(ing->names, (uint32_t)r);
    struct rcmd *c = rcmd_list_key(&b->cs, "APPEND", pfx, "co:", name);
    if (!c) {
        free(text);
        return -1;
    }
    b->cs.failed |= rcmd_take(c, text, len);
    b->bytes += len;
    if (b->dirty == SIZE_MAX || b->cs.c[b->dirty].argc >= 1002) {
        if (!rcmd_list_key(&b->cs, "SADD", pfx, "dirty", ""))
            return -1;
        b->dirty = b->cs.n - 1;
    }
    rcmd_list_arg(&b->cs, &b->cs.c[b->dirty], name);
    return b->cs.failed ? -1 : 0;
}

/* Builds a chunk of about FLUSH_CHUNK_BYTES from the records still to
 * send (then from fallback[]); ch says which ones it took. */
static int flush_build_chunk(struct ingest *ing, struct chunk_build *b, struct flush_chunk *ch)
{
    size_t n = ing->groups[0].nrecords;
    ch->fallback = ing->next_record == n;
    ch->first = ch->fallback ? ing->next_fallback : ing->next_record;
    size_t k = ch->first, end = ch->fallback ? ing->nfallback : n;
    while (!b->cs.failed && k < end && b->bytes < FLUSH_CHUNK_BYTES) {
        size_t r = chunk_record(ing, ch->fallback, k);
        int rc = ch->fallback ? 0 : chunk_add_fresh(ing, b, (uint32_t)r);
        if (rc == 0)
            rc = chunk_add_append(ing, b, r);
        if (rc < 0)
            return -1;
        k++;
    }
    ch->end = k;
    if (ch->fallback)
        ing->next_fallback = k;
    else
        ing->next_record = k;
    return b->cs.failed ? -1 : 0;
}

/* Keeps up to FLUSH_CHUNKS chunks on the way: Redis applies one while the
 * next is built and sent. */
static void flush_send_chunks(struct ingest *ing)
{
    while (!ing->flush_error && ing->chunks_in_flight < FLUSH_CHUNKS &&
           (ing->next_record < ing->groups[0].nrecords || ing->next_fallback < ing->nfallback)) {
        struct flush_chunk *ch = NULL;
        for (size_t k = 0; k < FLUSH_CHUNKS && !ch; k++)
            if (!ing->chunks[k].op)
                ch = &ing->chunks[k];
        struct chunk_build b = {.dirty = SIZE_MAX};
        struct flush_chunk built = {.ing = ing};
        if (!ch || flush_build_chunk(ing, &b, &built) < 0) {
            /* what this chunk took goes back with the unsent rest */
            if (ch) {
                if (built.fallback)
                    ing->next_fallback = built.first;
                else
                    ing->next_record = built.first;
            }
            rcmd_list_free(&b.cs);
            free(b.tries);
            ing->flush_error = FAILURE_OUT_OF_MEMORY;
            break;
        }
        if (b.cs.n == 0) {      /* the records it took have no counts */
            rcmd_list_free(&b.cs);
            free(b.tries);
            continue;
        }
        *ch = built;
        ch->units = b.units;
        ch->tries = b.tries;
        ch->ntries = b.ntries;
        ing->chunks_in_flight++;
        ch->op = redis_send(ing->bulk, b.cs.c, b.cs.n, REDIS_SEND_SURE | REDIS_SEND_ARRAY, flush_chunk_done,
                            chunk_late, ch);
        rcmd_list_free(&b.cs);
        if (!ch->op) {          /* not sent: its counts wait for the next flush */
            ing->chunks_in_flight--;
            flush_keep(ing, ch->fallback, ch->first, ch->end);
            free(ch->tries);
            ch->tries = NULL;
            ch->ntries = 0;
            ing->flush_error = FAILURE_OUT_OF_MEMORY;
        }
    }
}

void ingest_flush_start(struct ingest *ing)
{
    if (ing->flush_running)
        return;
    if (ing->pending.n == 0 && ing->nretry == 0 && counts_empty(&ing->counts)) {
        struct flush_waiters done = STAILQ_HEAD_INITIALIZER(done);
        STAILQ_CONCAT(&done, &ing->waiters);
        waiters_answer(&done, FAILURE_NONE);
        return;
    }
    ing->flush_running = 1;
    STAILQ_CONCAT(&ing->flush_waiters, &ing->waiters);
    ing->flush_error = FAILURE_NONE;
    struct counts c = ing->counts_flushing;     /* empty */
    ing->counts_flushing = ing->counts;
    ing->counts = c;
    flush_send_counts(ing);
    /* Every record's neighbours and counts, summed, both directions. */
    size_t nrecords = record_ids_count(ing->names), pending = ing->pending.n;
    if (pairs_group_log_take(&ing->pending, nrecords, &ing->groups[0]) < 0) {
        log_msg(LOG_ERROR, "ingest: out of memory: %zu pair counts dropped", pending);
        ing->flush_error = FAILURE_OUT_OF_MEMORY;
        flush_check_done(ing);
        return;
    }
    ing->units_unwritten = 2 * pending + ing->nretry;
    if (ing->nretry) {
        if (pairs_group_directed(ing->retry, ing->nretry, nrecords, &ing->groups[1]) == 0) {
            free(ing->retry);
            ing->retry = NULL;
            ing->nretry = 0;
        } else {
            ing->units_unwritten -= ing->nretry;    /* they stay in retry */
        }
    }
    ing->next_record = 0;
    flush_send_chunks(ing);
    flush_check_done(ing);
}

void ingest_flush_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ingest *ing = arg;
    if (ing->pending.n || ing->nretry || !counts_empty(&ing->counts))
        ingest_flush_start(ing);
}

void ingest_flush_take(struct ingest *ing, struct ingest_job *job)
{
    size_t npairs = job->pairs.n;
    if (pair_log_take(&ing->pending, &job->pairs) < 0)
        log_msg(LOG_ERROR, "ingest: out of memory: %zu pair counts dropped", npairs);
    for (size_t i = 0; i < job->nfresh; i++) {
        if (counts_add_record(&ing->counts, job->fresh[i]) < 0)
            log_msg(LOG_ERROR, "ingest: out of memory: a borrower count of %s dropped",
                    record_ids_get(ing->names, job->fresh[i]));
        if (job->fresh_branch[i] != RECORD_IDS_NONE &&
            counts_add_branch(&ing->counts, job->fresh_branch[i], job->fresh[i]) < 0)
            log_msg(LOG_ERROR, "ingest: out of memory: a borrower count of %s at a branch dropped",
                    record_ids_get(ing->names, job->fresh[i]));
    }
    ing->counts.total[TOTAL_LOANS] += (long long)job->res.new_loans;
    ing->counts.total[TOTAL_REPEATS] += (long long)job->res.repeats;
    ing->counts.total[TOTAL_DUPLICATES] += (long long)job->res.duplicates;
    ing->counts.total[TOTAL_STALE] += (long long)job->res.stale;
    ing->counts.total[TOTAL_PATRONS] += (long long)job->res.new_patrons;
    ing->stats.pairs_added += npairs;
}

int ingest_flush_counts_pending(const struct ingest *ing)
{
    return !counts_empty(&ing->counts) || !counts_empty(&ing->counts_flushing);
}

void ingest_flush_free(struct ingest *ing)
{
    if (ing->flush_running)
        redis_op_cancel(ing->flush_op);
    for (size_t k = 0; k < FLUSH_CHUNKS; k++)
        if (ing->chunks[k].op)
            redis_op_cancel(ing->chunks[k].op);
    waiters_answer(&ing->waiters, FAILURE_SHUTTING_DOWN);
    waiters_answer(&ing->flush_waiters, FAILURE_SHUTTING_DOWN);
    if (ing->flush_timer)
        event_free(ing->flush_timer);
    pair_log_free(&ing->pending);
    pair_groups_free(&ing->groups[0]);
    pair_groups_free(&ing->groups[1]);
    free(ing->retry);
    free(ing->fallback);
    free(ing->listed);
    free(ing->scratch);
    for (size_t k = 0; k < FLUSH_CHUNKS; k++)
        free(ing->chunks[k].tries);
    counts_free(&ing->counts);
    counts_free(&ing->counts_flushing);
}

static void waiters_drop(struct flush_waiters *list, void *arg)
{
    struct flush_waiter *w = STAILQ_FIRST(list), *next;
    for (; w; w = next) {
        next = STAILQ_NEXT(w, link);
        if (w->arg == arg) {
            STAILQ_REMOVE(list, w, flush_waiter, link);
            free(w);
        }
    }
}

void ingest_flush_unwait(struct ingest *ing, void *arg)
{
    waiters_drop(&ing->waiters, arg);
    waiters_drop(&ing->flush_waiters, arg);
}

/* Queues cb on list; out of memory, answers it at once. 0 if queued. */
static int waiter_add(struct flush_waiters *list, ingest_done_cb *cb, void *arg)
{
    struct flush_waiter *w = malloc(sizeof *w);
    if (!w) {
        cb(FAILURE_OUT_OF_MEMORY, arg);
        return -1;
    }
    w->cb = cb;
    w->arg = arg;
    STAILQ_INSERT_TAIL(list, w, link);
    return 0;
}

void ingest_flush_wait(struct ingest *ing, ingest_done_cb *cb, void *arg)
{
    if (!ing->flush_running)
        ingest_flush(ing, cb, arg);
    else
        waiter_add(&ing->flush_waiters, cb, arg);
}

void ingest_flush(struct ingest *ing, ingest_done_cb *cb, void *arg)
{
    if (waiter_add(&ing->waiters, cb, arg) == 0)
        ingest_flush_start(ing);
}

