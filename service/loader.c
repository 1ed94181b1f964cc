/* loader.c: see loader.h. */
#include "loader.h"

#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csv.h"
#include "dict.h"
#include "params.h"
#include "pseudo.h"

#define MAX_REPORTED_ERRORS 20
#define MAX_PATRON_BYTES 128

struct loan {
    uint32_t patron, record, seq;
    long long when;
};

struct loan_set {
    struct loan *loans;
    size_t nloans, cap;
    char **records;             /* index -> record id */
    size_t nrecords;
    char **patrons;             /* index -> pseudonym (never the raw id) */
    size_t npatrons;
};

/* ---- reading ------------------------------------------------------------- */

int loan_date_parse(const char *s, long long *out)
{
    struct tm tm = {0};
    size_t n = strlen(s);
    if (n > 0 && strspn(s, "0123456789") == n && n <= 12) {
        *out = atoll(s);
        return 0;
    }
    const char *end = NULL;
    if (n == 10)
        end = strptime(s, "%Y-%m-%d", &tm);
    else if (n == 20 && s[19] == 'Z')
        end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || *end)
        return -1;
    *out = (long long)timegm(&tm);
    return 0;
}

static uint32_t intern(struct dict *d, char ***names, size_t *n, const char *name)
{
    uintptr_t idx = (uintptr_t)dict_get(d, name);
    if (idx)
        return (uint32_t)(idx - 1);
    char **grown = realloc(*names, (*n + 1) * sizeof *grown);
    if (!grown)
        return UINT32_MAX;
    *names = grown;
    if (!(grown[*n] = strdup(name)) || dict_set(d, name, (void *)(uintptr_t)(*n + 1), NULL) < 0)
        return UINT32_MAX;
    return (uint32_t)(*n)++;
}

static int header_columns(char *line, int col[3])
{
    char *f[64];
    int n = csv_split(line, f, 64);
    col[0] = col[1] = col[2] = -1;
    for (int i = 0; i < n; i++) {
        if (strcmp(f[i], "patron") == 0) col[0] = i;
        else if (strcmp(f[i], "record") == 0) col[1] = i;
        else if (strcmp(f[i], "date") == 0) col[2] = i;
    }
    return n > 0 && col[0] >= 0 && col[1] >= 0 && col[2] >= 0 ? n : -1;
}

struct loan_set *loans_read(FILE *in, const char *name, const struct config *cfg,
                            struct strbuf *err)
{
    struct loan_set *ls = calloc(1, sizeof *ls);
    struct dict *records = dict_new(), *patrons = dict_new();
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    int errors = 0, col[3], ncols = -1;
    if (!ls || !records || !patrons) {
        strbuf_puts(err, "out of memory\n");
        goto fail;
    }
    if (getline(&line, &cap, in) < 0 || (ncols = header_columns(line, col)) < 0) {
        strbuf_printf(err, "%s:1: the header must name the columns patron, record and date\n", name);
        goto fail;
    }
    lineno = 1;
    while (getline(&line, &cap, in) >= 0) {
        lineno++;
        if (line[strspn(line, "\r\n")] == '\0')
            continue;
        char *f[64];
        const char *why = NULL;
        long long when = 0;
        int n = csv_split(line, f, 64);
        if (n != ncols)
            why = n < 0 ? "malformed CSV" : "wrong number of columns";
        else if (!*f[col[0]] || strlen(f[col[0]]) > MAX_PATRON_BYTES)
            why = "patron: must be 1 to 128 bytes";
        else if (!params_valid_record(f[col[1]], cfg->max_record_id_bytes))
            why = "record: must be a record id of A-Z a-z 0-9 . _ : -";
        else if (loan_date_parse(f[col[2]], &when) < 0)
            why = "date: must be YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or Unix seconds";
        if (why) {
            if (errors++ < MAX_REPORTED_ERRORS)
                strbuf_printf(err, "%s:%ld: %s\n", name, lineno, why);
            continue;
        }
        char pseudo[PSEUDONYM_HEX_LEN + 1];
        pseudonymise(cfg->patron_key, f[col[0]], strlen(f[col[0]]), pseudo);
        if (ls->nloans == ls->cap) {
            size_t ncap = ls->cap ? ls->cap * 2 : 4096;
            struct loan *grown = realloc(ls->loans, ncap * sizeof *grown);
            if (!grown) {
                strbuf_puts(err, "out of memory\n");
                goto fail;
            }
            ls->loans = grown;
            ls->cap = ncap;
        }
        struct loan *l = &ls->loans[ls->nloans];
        l->patron = intern(patrons, &ls->patrons, &ls->npatrons, pseudo);
        l->record = intern(records, &ls->records, &ls->nrecords, f[col[1]]);
        l->when = when;
        l->seq = (uint32_t)ls->nloans;
        if (l->patron == UINT32_MAX || l->record == UINT32_MAX) {
            strbuf_puts(err, "out of memory\n");
            goto fail;
        }
        ls->nloans++;
    }
    if (ferror(in)) {
        strbuf_printf(err, "%s: read error\n", name);
        goto fail;
    }
    if (errors) {
        if (errors > MAX_REPORTED_ERRORS)
            strbuf_printf(err, "%s: %d more bad lines not shown\n", name, errors - MAX_REPORTED_ERRORS);
        goto fail;
    }
    free(line);
    dict_free(records, NULL);
    dict_free(patrons, NULL);
    return ls;
fail:
    free(line);
    dict_free(records, NULL);
    dict_free(patrons, NULL);
    loans_free(ls);
    return NULL;
}

void loans_free(struct loan_set *ls)
{
    if (!ls)
        return;
    for (size_t i = 0; i < ls->nrecords; i++)
        free(ls->records[i]);
    for (size_t i = 0; i < ls->npatrons; i++)
        free(ls->patrons[i]);
    free(ls->records);
    free(ls->patrons);
    free(ls->loans);
    free(ls);
}

/* ---- counting -------------------------------------------------------------- */

/* Pair counts in an open-addressing table keyed by (a << 32 | b), a < b. */
struct pair_table {
    uint64_t *keys;             /* 0 = empty (records are stored +1) */
    uint32_t *counts;
    size_t cap, n;
};

static int pairs_grow(struct pair_table *t)
{
    size_t cap = t->cap ? t->cap * 2 : 1 << 16;
    uint64_t *keys = calloc(cap, sizeof *keys);
    uint32_t *counts = calloc(cap, sizeof *counts);
    if (!keys || !counts) {
        free(keys);
        free(counts);
        return -1;
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->keys[i])
            continue;
        size_t j = (size_t)(t->keys[i] * 0x9E3779B97F4A7C15ULL) & (cap - 1);
        while (keys[j])
            j = (j + 1) & (cap - 1);
        keys[j] = t->keys[i];
        counts[j] = t->counts[i];
    }
    free(t->keys);
    free(t->counts);
    t->keys = keys;
    t->counts = counts;
    t->cap = cap;
    return 0;
}

static int pairs_add(struct pair_table *t, uint32_t a, uint32_t b)
{
    if (a > b) {
        uint32_t x = a;
        a = b;
        b = x;
    }
    if ((t->n + 1) * 2 > t->cap && pairs_grow(t) < 0)
        return -1;
    uint64_t key = ((uint64_t)(a + 1) << 32) | (b + 1);
    size_t j = (size_t)(key * 0x9E3779B97F4A7C15ULL) & (t->cap - 1);
    while (t->keys[j] && t->keys[j] != key)
        j = (j + 1) & (t->cap - 1);
    if (!t->keys[j]) {
        t->keys[j] = key;
        t->n++;
    }
    t->counts[j]++;
    return 0;
}

static int loan_order(const void *x, const void *y)
{
    const struct loan *a = x, *b = y;
    if (a->patron != b->patron)
        return a->patron < b->patron ? -1 : 1;
    if (a->when != b->when)
        return a->when < b->when ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

struct neighbour {
    uint32_t record, count;
};

static int neighbour_order(const void *x, const void *y)
{
    const struct neighbour *a = x, *b = y;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return a->record < b->record ? -1 : a->record > b->record;
}

/* ---- writing -------------------------------------------------------------- */

struct writer {
    redisContext *rc;
    size_t pending;
    struct strbuf *err;
    int failed;
};

static void writer_cmd(struct writer *w, int argc, const char **argv, const size_t *len)
{
    if (w->failed)
        return;
    if (redisAppendCommandArgv(w->rc, argc, argv, len) != REDIS_OK) {
        w->failed = 1;
        strbuf_printf(w->err, "redis: %s\n", w->rc->errstr);
        return;
    }
    w->pending++;
}

static void writer_flush(struct writer *w)
{
    while (w->pending && !w->failed) {
        redisReply *reply = NULL;
        if (redisGetReply(w->rc, (void **)&reply) != REDIS_OK) {
            w->failed = 1;
            strbuf_printf(w->err, "redis: %s\n", w->rc->errstr);
            return;
        }
        if (reply->type == REDIS_REPLY_ERROR) {
            w->failed = 1;
            strbuf_printf(w->err, "redis: %s\n", reply->str);
        }
        freeReplyObject(reply);
        w->pending--;
    }
}

/* Sends a command of fixed words plus the words in extra. */
static void writer_words(struct writer *w, const char *const *words, size_t nwords,
                         char **extra, size_t nextra)
{
    size_t n = nwords + nextra;
    const char **argv = malloc(n * sizeof *argv);
    size_t *len = malloc(n * sizeof *len);
    if (!argv || !len) {
        free(argv);
        free(len);
        w->failed = 1;
        strbuf_puts(w->err, "out of memory\n");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        argv[i] = i < nwords ? words[i] : extra[i - nwords];
        len[i] = strlen(argv[i]);
    }
    writer_cmd(w, (int)n, argv, len);
    free(argv);
    free(len);
    if (w->pending >= 1000)
        writer_flush(w);
}

static void delete_matching(struct writer *w, const char *pattern)
{
    char cursor[32] = "0";
    do {
        redisReply *r = redisCommand(w->rc, "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            w->failed = 1;
            strbuf_printf(w->err, "redis: SCAN failed: %s\n", r ? r->str : w->rc->errstr);
            freeReplyObject(r);
            return;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        redisReply *keys = r->element[1];
        for (size_t i = 0; i < keys->elements; i++) {
            const char *argv[2] = {"UNLINK", keys->element[i]->str};
            size_t len[2] = {6, keys->element[i]->len};
            writer_cmd(w, 2, argv, len);
        }
        freeReplyObject(r);
        writer_flush(w);
    } while (strcmp(cursor, "0") != 0 && !w->failed);
}

int loans_store(const struct loan_set *ls, const struct config *cfg,
                struct load_summary *sum, struct strbuf *err)
{
    memset(sum, 0, sizeof *sum);
    sum->loans = ls->nloans;
    sum->patrons = ls->npatrons;
    sum->records = ls->nrecords;

    struct loan *loans = malloc((ls->nloans ? ls->nloans : 1) * sizeof *loans);
    uint32_t *pop = calloc(ls->nrecords ? ls->nrecords : 1, sizeof *pop);
    uint32_t *window = malloc((size_t)cfg->history_max * sizeof *window);
    struct pair_table pairs = {0};
    if (!loans || !pop || !window) {
        free(loans);
        free(pop);
        free(window);
        strbuf_puts(err, "out of memory\n");
        return -1;
    }
    memcpy(loans, ls->loans, ls->nloans * sizeof *loans);
    qsort(loans, ls->nloans, sizeof *loans, loan_order);

    /* Each patron's distinct titles in time order; each title pairs with
     * the patron's previous history_max distinct titles, once per patron. */
    struct dict *seen = NULL;
    int rc = 0;
    for (size_t i = 0; i < ls->nloans && rc == 0;) {
        size_t end = i;
        while (end < ls->nloans && loans[end].patron == loans[i].patron)
            end++;
        size_t nwin = 0, total = 0;
        seen = dict_new();
        for (size_t k = i; k < end && rc == 0; k++) {
            const char *rec = ls->records[loans[k].record];
            if (dict_get(seen, rec))
                continue;
            dict_set(seen, rec, (void *)1, NULL);
            pop[loans[k].record]++;
            for (size_t h = 0; h < nwin && rc == 0; h++)
                rc = pairs_add(&pairs, window[h], loans[k].record);
            if (nwin < (size_t)cfg->history_max)
                window[nwin++] = loans[k].record;
            else
                window[total % (size_t)cfg->history_max] = loans[k].record;
            total++;
        }
        dict_free(seen, NULL);
        i = end;
    }
    free(window);
    if (rc < 0) {
        free(loans);
        free(pop);
        free(pairs.keys);
        free(pairs.counts);
        strbuf_puts(err, "out of memory while counting pairs\n");
        return -1;
    }
    sum->pairs_seen = pairs.n;

    /* Per record, its neighbours shared by at least min_patrons patrons. */
    struct neighbour **nb = calloc(ls->nrecords ? ls->nrecords : 1, sizeof *nb);
    size_t *nnb = calloc(ls->nrecords ? ls->nrecords : 1, sizeof *nnb);
    size_t *cap = calloc(ls->nrecords ? ls->nrecords : 1, sizeof *cap);
    for (size_t j = 0; nb && nnb && cap && j < pairs.cap; j++) {
        if (!pairs.keys[j] || pairs.counts[j] < (uint32_t)cfg->min_patrons)
            continue;
        uint32_t ab[2] = {(uint32_t)(pairs.keys[j] >> 32) - 1,
                          (uint32_t)(pairs.keys[j] & 0xffffffff) - 1};
        for (int s = 0; s < 2; s++) {
            uint32_t from = ab[s], to = ab[1 - s];
            if (nnb[from] == cap[from]) {
                size_t c = cap[from] ? cap[from] * 2 : 8;
                struct neighbour *g = realloc(nb[from], c * sizeof *g);
                if (!g) {
                    rc = -1;
                    break;
                }
                nb[from] = g;
                cap[from] = c;
            }
            nb[from][nnb[from]++] = (struct neighbour){to, pairs.counts[j]};
        }
    }
    free(pairs.keys);
    free(pairs.counts);
    free(cap);

    struct writer w = {0};
    w.err = err;
    if (!nb || !nnb || rc < 0) {
        strbuf_puts(err, "out of memory\n");
        w.failed = 1;
    } else {
        struct timeval tv = {5, 0};
        w.rc = redisConnectWithTimeout(cfg->redis_host, cfg->redis_port, tv);
        if (!w.rc || w.rc->err) {
            strbuf_printf(err, "redis %s:%d: %s\n", cfg->redis_host, cfg->redis_port,
                          w.rc ? w.rc->errstr : "out of memory");
            w.failed = 1;
        }
    }
    char key[512], num[32];
    const char *pfx = cfg->redis_prefix;
    if (!w.failed) {
        snprintf(key, sizeof key, "%sco:*", pfx);
        delete_matching(&w, key);
        snprintf(key, sizeof key, "%sh:*", pfx);
        delete_matching(&w, key);
        snprintf(key, sizeof key, "%spop", pfx);
        const char *del[2] = {"DEL", key};
        writer_words(&w, del, 2, NULL, 0);
    }
    for (size_t r = 0; r < ls->nrecords && !w.failed; r++) {
        size_t kept = nnb[r] < (size_t)cfg->neighbours_max ? nnb[r] : (size_t)cfg->neighbours_max;
        if (kept)
            qsort(nb[r], nnb[r], sizeof **nb, neighbour_order);
        char **extra = malloc((kept * 2 + 1) * sizeof *extra);
        for (size_t k = 0; extra && k < kept; k++) {
            extra[2 * k] = malloc(12);
            if (extra[2 * k])
                snprintf(extra[2 * k], 12, "%u", nb[r][k].count);
            extra[2 * k + 1] = ls->records[nb[r][k].record];
        }
        snprintf(key, sizeof key, "%sco:%s", pfx, ls->records[r]);
        const char *zadd[2] = {"ZADD", key};
        if (extra && kept)
            writer_words(&w, zadd, 2, extra, kept * 2);
        for (size_t k = 0; extra && k < kept; k++)
            free(extra[2 * k]);
        free(extra);
        sum->pairs_kept += kept;
        snprintf(key, sizeof key, "%spop", pfx);
        snprintf(num, sizeof num, "%u", pop[r]);
        const char *zpop[4] = {"ZADD", key, num, ls->records[r]};
        writer_words(&w, zpop, 4, NULL, 0);
    }
    sum->pairs_kept /= 2;

    /* Patron histories: the last history_max titles, under the pseudonym
     * only, expiring history_ttl_days after the load. */
    char ttl[32];
    snprintf(ttl, sizeof ttl, "%lld", (long long)cfg->history_ttl_days * 86400);
    for (size_t i = 0; i < ls->nloans && !w.failed;) {
        size_t end = i;
        while (end < ls->nloans && loans[end].patron == loans[i].patron)
            end++;
        size_t from = end - i > (size_t)cfg->history_max ? end - (size_t)cfg->history_max : i;
        char **extra = malloc((end - from) * sizeof *extra);
        for (size_t k = from; extra && k < end; k++)
            extra[k - from] = ls->records[loans[k].record];
        snprintf(key, sizeof key, "%sh:%s", pfx, ls->patrons[loans[i].patron]);
        const char *rpush[2] = {"RPUSH", key};
        if (extra)
            writer_words(&w, rpush, 2, extra, end - from);
        free(extra);
        const char *expire[3] = {"EXPIRE", key, ttl};
        writer_words(&w, expire, 3, NULL, 0);
        i = end;
    }
    if (!w.failed) {
        char np[32], nl[32], nr[32], now[32];
        snprintf(key, sizeof key, "%smeta", pfx);
        snprintf(np, sizeof np, "%zu", ls->npatrons);
        snprintf(nl, sizeof nl, "%zu", ls->nloans);
        snprintf(nr, sizeof nr, "%zu", ls->nrecords);
        snprintf(now, sizeof now, "%lld", (long long)time(NULL));
        const char *hset[10] = {"HSET", key, "patrons", np, "loans", nl, "records", nr,
                                "loaded_at", now};
        writer_words(&w, hset, 10, NULL, 0);
        writer_flush(&w);
    }
    for (size_t r = 0; nb && r < ls->nrecords; r++)
        free(nb[r]);
    free(nb);
    free(nnb);
    free(loans);
    free(pop);
    if (w.rc)
        redisFree(w.rc);
    return w.failed ? -1 : 0;
}
