/* pairs.c: see pairs.h. */
#include "ingest/pairs.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int pairs_reserve(struct pair_table *t, size_t more)
{
    if (t->nwords + more <= t->cap)
        return 0;
    size_t cap = t->cap ? t->cap : 256;
    while (cap < t->nwords + more)
        cap *= 2;
    uint32_t *words = realloc(t->words, cap * sizeof *words);
    if (!words)
        return -1;
    t->words = words;
    t->cap = cap;
    return 0;
}

/* Room for n more of a's pairs at the end of t, counted already: in the
 * last run when it is a's and can grow by n, else in a new run. NULL when
 * out of memory. */
static uint32_t *run_extend(struct pair_table *t, uint32_t a, uint32_t n)
{
    int same = t->nwords > 0 && t->words[t->run] == a && t->words[t->run + 1] <= UINT32_MAX - n;
    if (pairs_reserve(t, (size_t)n + (same ? 0 : 2)) < 0)
        return NULL;
    if (!same) {
        t->run = t->nwords;
        t->words[t->nwords++] = a;
        t->words[t->nwords++] = 0;
    }
    uint32_t *room = t->words + t->nwords;
    t->nwords += n;
    t->words[t->run + 1] += n;
    t->n += n;
    t->added += n;
    return room;
}

int pairs_add(struct pair_table *t, uint32_t a, uint32_t b, uint32_t count)
{
    uint32_t *room = count ? run_extend(t, a, count) : NULL;
    if (count && !room)
        return -1;
    for (uint32_t i = 0; i < count; i++)
        room[i] = b;
    return 0;
}

int pairs_add_run(struct pair_table *t, uint32_t a, const uint32_t *others, size_t n)
{
    if (n == 0)
        return 0;
    uint32_t *room = n <= UINT32_MAX ? run_extend(t, a, (uint32_t)n) : NULL;
    if (!room)
        return -1;
    memcpy(room, others, n * sizeof *others);
    return 0;
}

void pair_groups_free(struct pair_groups *g)
{
    free(g->start);
    free(g->other);
    free(g->count);
    memset(g, 0, sizeof *g);
}

/* Groups the runs' counts by record and sums them, in two passes and no
 * sort: they are scattered into one bucket per record (a run of a: its
 * records copied into a's bucket and, when both, a into each of theirs),
 * then each bucket is summed in place with a per-record stamp, keeping
 * each neighbour where it was first counted. The stamp and slot arrays
 * (nrecords each) stay in cache; the runs (in one or more parts) are
 * read twice, in order. */
static int bucket_group(const struct pair_table *parts, size_t nparts, int both, size_t nrecords,
                        struct pair_groups *g)
{
    size_t n = 0;
    for (size_t p = 0; p < nparts; p++)
        n += parts[p].n;
    size_t entries = both ? 2 * n : n;
    memset(g, 0, sizeof *g);
    if (entries >= UINT32_MAX || nrecords >= UINT32_MAX)
        return -1;
    g->nrecords = nrecords;
    g->start = calloc(nrecords + 1, sizeof *g->start);
    g->other = malloc((entries ? entries : 1) * sizeof *g->other);
    g->count = malloc((entries ? entries : 1) * sizeof *g->count);
    uint32_t *at = malloc((nrecords ? nrecords : 1) * sizeof *at);
    uint32_t *stamp = calloc(nrecords ? nrecords : 1, sizeof *stamp);
    if (!g->start || !g->other || !g->count || !at || !stamp)
        goto fail;
    for (size_t p = 0; p < nparts; p++) {
        const uint32_t *words = parts[p].words;
        for (size_t w = 0; w < parts[p].nwords; w += 2 + words[w + 1]) {
            uint32_t a = words[w], len = words[w + 1];
            const uint32_t *others = words + w + 2;
            if (a >= nrecords)
                goto fail;
            g->start[a + 1] += len;
            for (uint32_t j = 0; j < len; j++) {
                if (others[j] >= nrecords)
                    goto fail;
                if (both)
                    g->start[others[j] + 1]++;
            }
        }
    }
    for (size_t r = 0; r < nrecords; r++)
        g->start[r + 1] += g->start[r];
    memcpy(at, g->start, nrecords * sizeof *at);
    for (size_t p = 0; p < nparts; p++) {
        const uint32_t *words = parts[p].words;
        for (size_t w = 0; w < parts[p].nwords; w += 2 + words[w + 1]) {
            uint32_t a = words[w], len = words[w + 1];
            const uint32_t *others = words + w + 2;
            memcpy(g->other + at[a], others, len * sizeof *others);
            at[a] += len;
            for (uint32_t j = 0; both && j < len; j++)
                g->other[at[others[j]]++] = a;
        }
    }
    /* Sum each bucket into its front; at[] now says where a neighbour's
     * count is, valid while stamp[neighbour] is the record's. */
    uint32_t w = 0, from = 0;
    for (size_t r = 0; r < nrecords; r++) {
        uint32_t to = g->start[r + 1], mark = (uint32_t)r + 1;
        g->start[r] = w;
        for (uint32_t i = from; i < to; i++) {
            uint32_t o = g->other[i];
            if (stamp[o] != mark) {
                stamp[o] = mark;
                at[o] = w;
                g->other[w] = o;
                g->count[w++] = 1;
            } else if (g->count[at[o]] < UINT32_MAX) {
                g->count[at[o]]++;
            }
        }
        from = to;
    }
    g->start[nrecords] = w;
    free(at);
    free(stamp);
    if (w < entries && w > 0) {             /* give back what summing saved */
        uint32_t *o = realloc(g->other, w * sizeof *o), *c = realloc(g->count, w * sizeof *c);
        if (o)
            g->other = o;
        if (c)
            g->count = c;
    }
    return 0;
fail:
    free(at);
    free(stamp);
    pair_groups_free(g);
    return -1;
}

int pairs_group_directed(const uint64_t *keys, size_t n, size_t nrecords, struct pair_groups *g)
{
    struct pair_table t = {0};
    for (size_t i = 0; i < n; i++) {
        if (pairs_add(&t, (uint32_t)(keys[i] >> 32), (uint32_t)keys[i], 1) < 0) {
            pairs_free(&t);
            memset(g, 0, sizeof *g);
            return -1;
        }
    }
    int rc = bucket_group(&t, 1, 0, nrecords, g);
    pairs_free(&t);
    return rc;
}

int pair_log_take(struct pair_log *log, struct pair_table *t)
{
    if (t->n == 0)
        return 0;
    if (log->nparts == log->cap) {
        size_t cap = log->cap ? 2 * log->cap : 8;
        struct pair_table *p = realloc(log->part, cap * sizeof *p);
        if (!p)
            return -1;
        log->part = p;
        log->cap = cap;
    }
    log->part[log->nparts++] = *t;
    log->n += t->n;
    memset(t, 0, sizeof *t);
    return 0;
}

int pairs_group_log_take(struct pair_log *log, size_t nrecords, struct pair_groups *g)
{
    int rc = bucket_group(log->part, log->nparts, 1, nrecords, g);
    pair_log_free(log);
    return rc;
}

void pair_log_free(struct pair_log *log)
{
    for (size_t p = 0; p < log->nparts; p++)
        pairs_free(&log->part[p]);
    free(log->part);
    memset(log, 0, sizeof *log);
}

void pairs_clear(struct pair_table *t)
{
    t->nwords = 0;
    t->n = 0;
    t->added = 0;
}

void pairs_free(struct pair_table *t)
{
    free(t->words);
    memset(t, 0, sizeof *t);
}
