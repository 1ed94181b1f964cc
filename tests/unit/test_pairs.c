/* test_pairs.c: the pair table (pairs.h): counts logged and summed,
 * grouped by record from one table or from a log of several. */
#include <stdint.h>
#include <stdlib.h>

#include "ingest/pairs.h"
#include "unit.h"

/* ---- what only the tests need ------------------------------------------------ */

/* Looking at a table whole (pairs_each), joining two (pairs_add_all) and
 * grouping one table (pairs_group): the daemon does none of these (it
 * groups its logs, ingest.c), so they are here, not in pairs.c, and use
 * pairs.h alone. Static on purpose: were pairs.h to declare one of them
 * again, this file would stop compiling (and pairs.c cannot define one
 * that pairs.h does not declare: -Wmissing-prototypes). */

/* Adds every count of src to t, run by run. -1 when out of memory (t
 * may then hold some of src's counts). */
static int pairs_add_all(struct pair_table *t, const struct pair_table *src)
{
    for (size_t w = 0; w < src->nwords; w += 2 + src->words[w + 1])
        if (pairs_add_run(t, src->words[w], src->words + w + 2, src->words[w + 1]) < 0)
            return -1;
    return 0;
}

static int u64_order(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* t's pairs as keys min << 32 | max, sorted, equal keys summed:
 * *keys[0 .. *n) distinct, ascending, with their counts. Both arrays
 * malloc'd (caller frees). */
static int sorted_runs(const struct pair_table *t, uint64_t **keys, uint32_t **counts, size_t *n)
{
    size_t nsrc = t->n;
    uint64_t *k = malloc((nsrc ? nsrc : 1) * sizeof *k);
    uint32_t *c = malloc((nsrc ? nsrc : 1) * sizeof *c);
    if (!k || !c) {
        free(k);
        free(c);
        return -1;
    }
    size_t made = 0;
    for (size_t w = 0; w < t->nwords; w += 2 + t->words[w + 1]) {
        uint32_t a = t->words[w], len = t->words[w + 1];
        for (uint32_t j = 0; j < len; j++) {
            uint32_t b = t->words[w + 2 + j];
            k[made++] = a < b ? (uint64_t)a << 32 | b : (uint64_t)b << 32 | a;
        }
    }
    qsort(k, nsrc, sizeof *k, u64_order);
    size_t d = 0;
    for (size_t i = 0; i < nsrc;) {
        size_t j = i;
        while (j < nsrc && k[j] == k[i])
            j++;
        k[d] = k[i];
        c[d++] = j - i > UINT32_MAX ? UINT32_MAX : (uint32_t)(j - i);
        i = j;
    }
    *keys = k;
    *counts = c;
    *n = d;
    return 0;
}

/* Visits every pair once with its summed count: fn(a, b, count), a < b,
 * in order of (a, b). Returns -1 when out of memory (nothing visited). */
static int pairs_each(const struct pair_table *t,
                      void (*fn)(uint32_t a, uint32_t b, uint32_t count, void *arg), void *arg)
{
    uint64_t *k;
    uint32_t *c;
    size_t d;
    if (sorted_runs(t, &k, &c, &d) < 0)
        return -1;
    for (size_t i = 0; i < d; i++)
        fn((uint32_t)(k[i] >> 32), (uint32_t)k[i], c[i], arg);
    free(k);
    free(c);
    return 0;
}

/* Groups t's counts by record as pairs_group_log_take groups a log's: a
 * copy of t is the log's one part. -1 as there, and when out of memory
 * for the copy (g then zeroed). */
static int pairs_group(const struct pair_table *t, size_t nrecords, struct pair_groups *g)
{
    struct pair_table copy = {0};
    struct pair_log log = {0};
    if (pairs_add_all(&copy, t) < 0 || pair_log_take(&log, &copy) < 0) {
        pairs_free(&copy);
        memset(g, 0, sizeof *g);
        return -1;
    }
    pairs_free(&copy);          /* zeroed when taken; an empty t has nothing to take */
    return pairs_group_log_take(&log, nrecords, g);
}

/* ---- the tests --------------------------------------------------------------- */

struct seen_pairs {
    size_t visits, bad_order;
    uint64_t last;              /* a << 32 | b of the last visit */
    uint32_t last_a, last_b, last_count;
    uint32_t *counts;           /* by grid index, for the growth test */
    unsigned char *hits;
};

static void remember_pair(uint32_t a, uint32_t b, uint32_t count, void *arg)
{
    struct seen_pairs *s = arg;
    uint64_t key = (uint64_t)a << 32 | b;
    s->bad_order += !(a < b) || (s->visits && key <= s->last);
    s->visits++;
    s->last = key;
    s->last_a = a;
    s->last_b = b;
    s->last_count = count;
}

TEST(pairs_symmetric_and_summed)
{
    struct pair_table t = {0};
    CHECK(pairs_add(&t, 7, 3, 2) == 0);
    CHECK(pairs_add(&t, 3, 7, 5) == 0);
    CHECK(t.added == 7);
    struct seen_pairs s = {0};
    CHECK(pairs_each(&t, remember_pair, &s) == 0);
    CHECK(s.visits == 1);
    CHECK(s.last_a == 3 && s.last_b == 7 && s.last_count == 7);

    /* Index 0 and the largest usable index are pairs like any other;
     * visits come in order of (a, b). */
    CHECK(pairs_add(&t, UINT32_MAX - 1, 0, 1) == 0);
    CHECK(pairs_add(&t, 5, 4, 3) == 0);
    CHECK(pairs_add(&t, 0, 9, 1) == 0);
    memset(&s, 0, sizeof s);
    CHECK(pairs_each(&t, remember_pair, &s) == 0);
    CHECK(s.visits == 4 && s.bad_order == 0);
    CHECK(s.last_a == 4 && s.last_b == 5 && s.last_count == 3);     /* (4,5) is last */
    CHECK(t.added == 12);

    pairs_clear(&t);
    CHECK(t.n == 0 && t.added == 0);
    memset(&s, 0, sizeof s);
    CHECK(pairs_each(&t, remember_pair, &s) == 0);
    CHECK(s.visits == 0);
    CHECK(pairs_add(&t, 1, 2, 4) == 0);     /* usable after clear */
    CHECK(pairs_each(&t, remember_pair, &s) == 0);
    CHECK(s.visits == 1 && s.last_a == 1 && s.last_b == 2 && s.last_count == 4);

    pairs_free(&t);
    CHECK(t.words == NULL && t.cap == 0 && t.n == 0 && t.added == 0);
    CHECK(pairs_add(&t, 9, 8, 1) == 0);     /* and after free */
    memset(&s, 0, sizeof s);
    CHECK(pairs_each(&t, remember_pair, &s) == 0);
    CHECK(s.visits == 1 && s.last_a == 8 && s.last_b == 9 && s.last_count == 1);
    pairs_free(&t);
}

TEST(pairs_add_all_and_grouped)
{
    struct pair_table t = {0}, src = {0};
    CHECK(pairs_add(&t, 2, 1, 1) == 0);
    CHECK(pairs_add(&src, 1, 2, 1) == 0);
    CHECK(pairs_add(&src, 5, 0, 1) == 0);
    CHECK(pairs_add_all(&t, &src) == 0);
    CHECK(t.added == 3);
    struct seen_pairs s = {0};
    CHECK(pairs_each(&t, remember_pair, &s) == 0);
    CHECK(s.visits == 2 && s.bad_order == 0);
    CHECK(s.last_a == 1 && s.last_b == 2 && s.last_count == 2);

    /* Grouped by record, both directions, summed: 0: {5:1}, 1: {2:2},
     * 2: {1:2}, 5: {0:1}; records 3 and 4 have none. */
    struct pair_groups g;
    CHECK(pairs_group(&t, 6, &g) == 0);
    static const uint32_t start[] = {0, 1, 2, 3, 3, 3, 4};
    static const uint32_t other[] = {5, 2, 1, 0}, count[] = {1, 2, 2, 1};
    CHECK(g.nrecords == 6);
    CHECK(memcmp(g.start, start, sizeof start) == 0);
    CHECK(memcmp(g.other, other, sizeof other) == 0);
    CHECK(memcmp(g.count, count, sizeof count) == 0);
    pair_groups_free(&g);
    CHECK(g.start == NULL && g.other == NULL);
    /* A record out of range is refused, not written past. */
    CHECK(pairs_group(&t, 5, &g) == -1);
    CHECK(g.start == NULL);

    /* Directed keys: each only for its own record. */
    const uint64_t dir[] = {(uint64_t)3 << 32 | 1, (uint64_t)1 << 32 | 3, (uint64_t)3 << 32 | 1,
                            (uint64_t)0 << 32 | 2};
    CHECK(pairs_group_directed(dir, 4, 4, &g) == 0);
    static const uint32_t dstart[] = {0, 1, 2, 2, 3};
    static const uint32_t dother[] = {2, 3, 1}, dcount[] = {1, 1, 2};
    CHECK(memcmp(g.start, dstart, sizeof dstart) == 0);
    CHECK(memcmp(g.other, dother, sizeof dother) == 0);
    CHECK(memcmp(g.count, dcount, sizeof dcount) == 0);
    pair_groups_free(&g);
    CHECK(pairs_group_directed(dir, 0, 4, &g) == 0 && g.start[4] == 0);
    pair_groups_free(&g);
    pairs_free(&t);
    pairs_free(&src);
}

/* The next pair of records below r of a xorshift64 sequence at *x. */
static void random_pair(uint64_t *x, uint32_t r, uint32_t *a, uint32_t *b)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *a = (uint32_t)(*x % r);
    *b = (uint32_t)(*x / r % r);
}

/* pairs_group against a dense matrix: every record's neighbours summed,
 * both directions, each once, in the order first counted. */
/* pairs_each's callback: counts into a symmetric R x R matrix. */
enum { MATRIX_R = 60 };
static void add_to_matrix(uint32_t a, uint32_t b, uint32_t count, void *arg)
{
    uint32_t (*m)[MATRIX_R] = arg;
    m[a][b] += count;
    m[b][a] += count;
}

TEST(pairs_group_matches_a_matrix)
{
    enum { R = MATRIX_R, N = 20000 };
    static uint32_t want[R][R];
    struct pair_table t = {0};
    uint64_t x = 2463534242ULL;
    uint32_t first[R];          /* the first neighbour each record got, to check the order */
    memset(want, 0, sizeof want);
    for (size_t r = 0; r < R; r++)
        first[r] = UINT32_MAX;
    for (size_t i = 0; i < N; i++) {
        uint32_t a, b;
        random_pair(&x, R, &a, &b);
        if (a == b)
            continue;
        /* runs of one record, as a loan makes them, now and then */
        size_t repeat = i % 7 == 0 ? 3 : 1;
        for (size_t k = 0; k < repeat; k++, b = (b + 1) % R) {
            if (a == b)
                continue;
            CHECK(pairs_add(&t, a, b, 1) == 0);
            want[a][b]++;
            want[b][a]++;
            if (first[a] == UINT32_MAX)
                first[a] = b;
            if (first[b] == UINT32_MAX)
                first[b] = a;
        }
    }
    struct pair_groups g;
    struct pair_log one = {0};
    CHECK(pair_log_take(&one, &t) == 0);
    CHECK(t.words == NULL && t.n == 0);
    CHECK(pairs_group_log_take(&one, R + 5, &g) == 0);
    CHECK(g.nrecords == R + 5);
    size_t distinct = 0;
    for (size_t r = 0; r < R; r++) {
        static uint32_t got[R];
        memset(got, 0, sizeof got);
        for (uint32_t i = g.start[r]; i < g.start[r + 1]; i++) {
            CHECK(g.other[i] < R && got[g.other[i]] == 0);      /* once each */
            got[g.other[i]] = g.count[i];
        }
        CHECK(memcmp(got, want[r], sizeof got) == 0);
        CHECK(g.start[r + 1] == g.start[r] || g.other[g.start[r]] == first[r]);
        for (size_t o = 0; o < R; o++)
            distinct += want[r][o] > 0;
    }
    CHECK(g.start[R + 5] == distinct && g.start[R] == distinct);     /* no entries past R */
    pair_groups_free(&g);

    /* The same counts logged in three parts and moved into a pair_log:
     * grouped alike, in the same order. */
    struct pair_table all = {0}, part[3] = {{0}};
    struct pair_log log = {0};
    x = 2463534242ULL;
    for (size_t i = 0; i < N; i++) {
        uint32_t a, b;
        random_pair(&x, R, &a, &b);
        if (a == b)
            continue;
        CHECK(pairs_add(&all, a, b, 1) == 0);
        CHECK(pairs_add(&part[i % 3 == 0 ? 0 : i < N / 2 ? 1 : 2], a, b, 1) == 0);
    }
    /* parts in log order must be the order counted: part 0 holds every
     * third count, so compare against a table built in log order */
    struct pair_table ordered = {0};
    for (int k = 0; k < 3; k++) {
        CHECK(pairs_add_all(&ordered, &part[k]) == 0);
        CHECK(pair_log_take(&log, &part[k]) == 0);
        CHECK(part[k].words == NULL && part[k].n == 0);
    }
    CHECK(log.n == all.n && log.nparts == 3);
    struct pair_groups from_log, from_table;
    CHECK(pairs_group_log_take(&log, R, &from_log) == 0);
    CHECK(log.n == 0 && log.part == NULL);
    CHECK(pairs_group(&ordered, R, &from_table) == 0);
    CHECK(memcmp(from_log.start, from_table.start, (R + 1) * sizeof *from_log.start) == 0);
    CHECK(memcmp(from_log.other, from_table.other, from_log.start[R] * sizeof *from_log.other) == 0);
    CHECK(memcmp(from_log.count, from_table.count, from_log.start[R] * sizeof *from_log.count) == 0);
    /* and the counts are the table's, as pairs_each (a sort, not the
     * grouping) sums them */
    memset(want, 0, sizeof want);
    CHECK(pairs_each(&all, add_to_matrix, want) == 0);
    for (size_t r = 0; r < R; r++) {
        static uint32_t got[R];
        memset(got, 0, sizeof got);
        for (uint32_t i = from_log.start[r]; i < from_log.start[r + 1]; i++)
            got[from_log.other[i]] += from_log.count[i];
        CHECK(memcmp(got, want[r], sizeof got) == 0);
    }
    pair_groups_free(&from_log);
    pair_groups_free(&from_table);
    pairs_free(&ordered);
    pairs_free(&all);
}

/* pairs_add_run logs what pairs_add does one pair at a time: the same
 * words, so the same groups in the same order. */
TEST(pairs_add_run_is_pairs_add_at_once)
{
    struct pair_table one = {0}, run = {0};
    uint64_t x = 88172645463325252ULL;
    for (int loan = 0; loan < 500; loan++) {
        uint32_t a, b, others[40];
        random_pair(&x, 50, &a, &b);
        size_t n = b % 40;
        for (size_t i = 0; i < n; i++) {
            others[i] = (a + 1 + (uint32_t)i * 7) % 50;
            if (others[i] == a)
                others[i] = (a + 1) % 50;
            CHECK(pairs_add(&one, a, others[i], 1) == 0);
        }
        CHECK(pairs_add_run(&run, a, others, n) == 0);
    }
    CHECK(run.n == one.n && run.added == one.added && run.nwords == one.nwords);
    CHECK(memcmp(run.words, one.words, run.nwords * sizeof *run.words) == 0);
    CHECK(pairs_add_run(&run, 1, NULL, 0) == 0 && run.n == one.n);   /* nothing to add */
    /* more than a run's length can say: refused, nothing touched */
    CHECK(pairs_add_run(&run, 1, NULL, (size_t)UINT32_MAX + 1) == -1 && run.n == one.n);
    pairs_free(&one);
    pairs_free(&run);
}

#define GRID_A 300
#define GRID_B 70       /* 21000 distinct pairs, ~150000 counts: several grows */

static void grid_pair(uint32_t a, uint32_t b, uint32_t count, void *arg)
{
    struct seen_pairs *s = arg;
    remember_pair(a, b, count, arg);
    if (a < GRID_A && b >= GRID_A && b < GRID_A + GRID_B) {
        size_t i = (size_t)(b - GRID_A) * GRID_A + a;
        s->hits[i]++;
        s->counts[i] = count;
    }
}

TEST(pairs_grow_past_16k)
{
    struct pair_table t = {0};
    size_t total = (size_t)GRID_A * GRID_B;
    uint64_t want_added = 0;
    /* Each pair twice, once each way round, with counts that differ. */
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < total; i++) {
            uint32_t a = (uint32_t)(i % GRID_A), b = (uint32_t)(GRID_A + i / GRID_A);
            uint32_t c = (uint32_t)(i % 5 + 1 + round);
            CHECK(round ? pairs_add(&t, b, a, c) == 0 : pairs_add(&t, a, b, c) == 0);
            want_added += c;
        }
    }
    CHECK(t.added == want_added);
    CHECK(t.n == want_added && t.cap >= t.nwords && t.cap > 1 << 15);  /* it grew, many times over */
    struct seen_pairs s = {0};
    s.counts = calloc(total, sizeof *s.counts);
    s.hits = calloc(total, 1);
    CHECK(pairs_each(&t, grid_pair, &s) == 0);
    CHECK(s.visits == total);
    CHECK(s.bad_order == 0);
    size_t wrong = 0;
    for (size_t i = 0; i < total; i++)
        wrong += s.hits[i] != 1 || s.counts[i] != (uint32_t)(2 * (i % 5 + 1) + 1);
    CHECK(wrong == 0);
    free(s.counts);
    free(s.hits);
    pairs_free(&t);
}

int main(void)
{
    RUN(pairs_symmetric_and_summed);
    RUN(pairs_add_all_and_grouped);
    RUN(pairs_group_matches_a_matrix);
    RUN(pairs_add_run_is_pairs_add_at_once);
    RUN(pairs_grow_past_16k);
    printf("%d failed\n", unit_failures);
    return unit_failures != 0;
}
