/* test_model.c: the pure parts of the loan model: interned names, the
 * pair table, a patron's history and its counting rule, co-occurrence
 * lists, and scoring. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/dict.h"
#include "core/strbuf.h"
#include "ingest/history.h"
#include "ingest/pairs.h"
#include "ingest/record_ids.h"
#include "model/cooc_list.h"
#include "model/model.h"
#include "model/score.h"
#include "unit.h"

#define NEAR(x, want, tol) (fabs((x) - (want)) <= (tol))

/* ---- names ----------------------------------------------------------------- */

TEST(names_same_string_same_index)
{
    struct record_ids *nm = record_ids_new();
    CHECK(nm != NULL);
    CHECK(record_ids_count(nm) == 0);
    CHECK(record_ids_find(nm, "f1") == RECORD_IDS_NONE);          /* before any slot exists */
    uint32_t a = record_ids_intern(nm, "f1", 2), b = record_ids_intern(nm, "f2", 2);
    CHECK(a == 0 && b == 1);
    CHECK(record_ids_intern(nm, "f1", 2) == a);
    CHECK(record_ids_intern(nm, "f2xyz", 2) == b);           /* only n bytes count */
    CHECK(record_ids_intern(nm, "f", 1) != a);               /* a prefix is another name */
    CHECK(record_ids_intern(nm, "f12", 3) != a);
    CHECK(record_ids_intern(nm, "", 0) != RECORD_IDS_NONE);
    CHECK(record_ids_count(nm) == 5);
    CHECK_STR(record_ids_get(nm, a), "f1");
    CHECK_STR(record_ids_get(nm, b), "f2");
    CHECK(record_ids_get(nm, 5) == NULL);
    CHECK(record_ids_find(nm, "f2") == b);
    CHECK(record_ids_find(nm, "f3") == RECORD_IDS_NONE);
    record_ids_free(nm);
    record_ids_free(NULL);
}

TEST(names_survive_rehash)
{
    /* Slots start at 1024 and double whenever more than half full:
     * 5000 names pass 1024, 2048, 4096 and 8192 slots. */
    struct record_ids *nm = record_ids_new();
    char s[32];
    for (uint32_t i = 0; i < 5000; i++) {
        int n = snprintf(s, sizeof s, "rec:%u", i);
        CHECK(record_ids_intern(nm, s, (size_t)n) == i);
    }
    CHECK(record_ids_count(nm) == 5000);
    int bad = 0;
    for (uint32_t i = 0; i < 5000; i++) {
        int n = snprintf(s, sizeof s, "rec:%u", i);
        bad += record_ids_find(nm, s) != i;
        bad += record_ids_intern(nm, s, (size_t)n) != i;
        bad += strcmp(record_ids_get(nm, i), s) != 0;
    }
    CHECK(bad == 0);
    CHECK(record_ids_count(nm) == 5000);
    CHECK(record_ids_find(nm, "rec:5000") == RECORD_IDS_NONE);
    record_ids_free(nm);
}

/* ---- pairs ----------------------------------------------------------------- */

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
TEST(pairs_group_matches_a_matrix)
{
    enum { R = 60, N = 20000 };
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

/* ---- history --------------------------------------------------------------- */

struct paired {
    uint32_t other[64];
    size_t n;
    int fail_at;                /* fail at this pair (1-based); 0 never */
};

static int pair_cb(void *arg, const uint32_t *others, size_t n)
{
    struct paired *p = arg;
    for (size_t i = 0; i < n; i++) {
        if (p->fail_at && (int)p->n + 1 == p->fail_at)
            return -1;
        if (p->n < 64)
            p->other[p->n] = others[i];
        p->n++;
    }
    return 0;
}

static const struct history_rules wide = {100, 1LL << 40, 1LL << 40, 100};

/* The history as "when:record,..." for compact checks. */
static const char *show(const struct history *h, struct strbuf *sb)
{
    strbuf_reset(sb);
    for (size_t i = 0; i < h->n; i++)
        strbuf_printf(sb, "%s%lld:%u", i ? "," : "", h->e[i].when, h->e[i].record);
    return strbuf_cstr(sb);
}

TEST(history_new_repeat_duplicate)
{
    struct history h = {0};
    struct paired p = {0};
    struct strbuf sb = {0};
    CHECK(history_add(&h, 1, 100, &wide, pair_cb, &p) == LOAN_NEW);
    CHECK(p.n == 0);                                  /* nothing to pair with */
    CHECK(history_add(&h, 2, 200, &wide, pair_cb, &p) == LOAN_NEW);
    CHECK(p.n == 1 && p.other[0] == 1);
    p.n = 0;
    CHECK(history_add(&h, 1, 100, &wide, pair_cb, &p) == LOAN_DUPLICATE);
    CHECK(history_add(&h, 1, 300, &wide, pair_cb, &p) == LOAN_REPEAT);
    CHECK(history_add(&h, 2, 50, &wide, pair_cb, &p) == LOAN_REPEAT);
    CHECK(p.n == 0);                                  /* repeats pair with nothing */
    CHECK_STR(show(&h, &sb), "200:2,100:1");          /* and change nothing */

    /* Inserted newest first, wherever the time falls. */
    CHECK(history_add(&h, 3, 150, &wide, pair_cb, &p) == LOAN_NEW);
    CHECK(history_add(&h, 4, 50, &wide, pair_cb, &p) == LOAN_NEW);
    CHECK(history_add(&h, 5, 250, &wide, pair_cb, &p) == LOAN_NEW);
    CHECK_STR(show(&h, &sb), "250:5,200:2,150:3,100:1,50:4");
    /* Same time as an existing entry: goes before it. */
    CHECK(history_add(&h, 6, 150, &wide, pair_cb, &p) == LOAN_NEW);
    CHECK_STR(show(&h, &sb), "250:5,200:2,150:6,150:3,100:1,50:4");

    history_clear(&h);
    CHECK(h.n == 0);
    CHECK(history_add(&h, 1, 100, &wide, pair_cb, &p) == LOAN_NEW);  /* 1 is new again */
    history_free(&h);
    CHECK(h.e == NULL && h.n == 0 && h.cap == 0);
    strbuf_free(&sb);
}

TEST(history_pairs_nearest_within_window_capped)
{
    struct history h = {0};
    struct paired p = {0};
    struct history_rules r = {100, 1000000, 1000000, 100};
    /* records 10.. at times 1000, 900, 700, 400, 0 */
    long long times[] = {0, 400, 700, 900, 1000};
    for (int i = 0; i < 5; i++)
        CHECK(history_add(&h, (uint32_t)(14 - i), times[i], &r, pair_cb, &p) == LOAN_NEW);
    /* history now 1000:10, 900:11, 700:12, 400:13, 0:14 */

    /* A loan at 800: distances 10:200 11:100 12:100 13:400 14:800.
     * Nearest first; 11 and 12 tie and the newer (11) comes first. */
    p.n = 0;
    r.pairs_per_loan = 100;
    r.window_s = 1000000;
    CHECK(history_add(&h, 20, 800, &r, pair_cb, &p) == LOAN_NEW);
    CHECK(p.n == 5);
    CHECK(p.other[0] == 11 && p.other[1] == 12 && p.other[2] == 10 &&
          p.other[3] == 13 && p.other[4] == 14);

    /* Capped at pairs_per_loan, nearest kept. History now 1000:10,
     * 900:11, 800:20, 700:12, 400:13, 0:14; a loan at 650: 12:50,
     * 20:150, 11:250, 13:250 (tie: 11 is newer), 10:350, 14:650. */
    p.n = 0;
    r.pairs_per_loan = 3;
    CHECK(history_add(&h, 21, 650, &r, pair_cb, &p) == LOAN_NEW);
    CHECK(p.n == 3);
    CHECK(p.other[0] == 12 && p.other[1] == 20 && p.other[2] == 11);

    /* The window bounds the distance, inclusive. History now 1000:10,
     * 900:11, 800:20, 700:12, 650:21, 400:13, 0:14; a loan at 500. */
    p.n = 0;
    r.pairs_per_loan = 100;
    r.window_s = 150;
    CHECK(history_add(&h, 22, 500, &r, pair_cb, &p) == LOAN_NEW);
    CHECK(p.n == 2);                        /* 13 (100), 21 (150); 12 is 200 away */
    CHECK(p.other[0] == 13 && p.other[1] == 21);

    /* pairs_per_loan 0: a new title that pairs with nothing. */
    p.n = 0;
    r.pairs_per_loan = 0;
    r.window_s = 1000000;
    CHECK(history_add(&h, 23, 1001, &r, pair_cb, &p) == LOAN_NEW);
    CHECK(p.n == 0);

    /* Newer than everything: pairs walk only towards older entries. */
    p.n = 0;
    r.pairs_per_loan = 2;
    CHECK(history_add(&h, 24, 5000, &r, pair_cb, &p) == LOAN_NEW);
    CHECK(p.n == 2 && p.other[0] == 23 && p.other[1] == 10);
    /* Older than everything: only towards newer ones. */
    p.n = 0;
    CHECK(history_add(&h, 25, -10, &r, pair_cb, &p) == LOAN_NEW);
    CHECK(p.n == 2 && p.other[0] == 14 && p.other[1] == 13);
    history_free(&h);
}

TEST(history_pair_failure_leaves_history_unchanged)
{
    struct history h = {0};
    struct paired p = {0};
    struct strbuf sb = {0};
    CHECK(history_add(&h, 1, 100, &wide, pair_cb, &p) == LOAN_NEW);
    CHECK(history_add(&h, 2, 200, &wide, pair_cb, &p) == LOAN_NEW);
    p.n = 0;
    p.fail_at = 2;
    CHECK(history_add(&h, 3, 150, &wide, pair_cb, &p) == -1);
    CHECK(p.n == 1);
    CHECK_STR(show(&h, &sb), "200:2,100:1");
    p.fail_at = 0;
    p.n = 0;
    CHECK(history_add(&h, 3, 150, &wide, pair_cb, &p) == LOAN_NEW);    /* still new */
    CHECK(p.n == 2);
    history_free(&h);
    strbuf_free(&sb);
}

TEST(history_trimmed_to_max_entries_and_ttl)
{
    struct history h = {0};
    struct paired p = {0};
    struct strbuf sb = {0};
    struct history_rules r = {3, 1000000, 1000000, 100};
    for (uint32_t i = 1; i <= 5; i++)
        CHECK(history_add(&h, i, 100 * i, &r, pair_cb, &p) == LOAN_NEW);
    CHECK_STR(show(&h, &sb), "500:5,400:4,300:3");      /* the oldest go */
    /* A loan older than the oldest of a full history is stale: no
     * pairs, no change. */
    p.n = 0;
    CHECK(history_add(&h, 1, 100, &r, pair_cb, &p) == LOAN_STALE);
    CHECK(history_add(&h, 7, 299, &r, pair_cb, &p) == LOAN_STALE);
    CHECK(p.n == 0);
    CHECK_STR(show(&h, &sb), "500:5,400:4,300:3");
    /* At the oldest one's very time it is new (a tie is no replay): it
     * goes before it and the oldest goes. */
    CHECK(history_add(&h, 7, 300, &r, pair_cb, &p) == LOAN_NEW);
    CHECK(p.n == 3);                                    /* 3, 4, 5 */
    CHECK_STR(show(&h, &sb), "500:5,400:4,300:7");
    /* A title still held is a repeat, however old the loan. */
    CHECK(history_add(&h, 4, 10, &r, pair_cb, &p) == LOAN_REPEAT);
    /* An older loan that still fits pushes out the oldest. */
    p.n = 0;
    CHECK(history_add(&h, 6, 301, &r, pair_cb, &p) == LOAN_NEW);
    CHECK(p.n == 3);                                    /* 7, 4, 5 */
    CHECK_STR(show(&h, &sb), "500:5,400:4,301:6");

    /* ttl: entries more than ttl_s before the newest go; exactly ttl_s stays. */
    history_clear(&h);
    r.max_entries = 100;
    r.ttl_s = 1000;
    CHECK(history_add(&h, 1, 1000, &r, pair_cb, &p) == LOAN_NEW);
    CHECK(history_add(&h, 2, 1500, &r, pair_cb, &p) == LOAN_NEW);
    CHECK(history_add(&h, 3, 2000, &r, pair_cb, &p) == LOAN_NEW);
    CHECK_STR(show(&h, &sb), "2000:3,1500:2,1000:1");
    CHECK(history_add(&h, 4, 2001, &r, pair_cb, &p) == LOAN_NEW);
    CHECK_STR(show(&h, &sb), "2001:4,2000:3,1500:2");
    CHECK(history_add(&h, 5, 3000, &r, pair_cb, &p) == LOAN_NEW);
    CHECK_STR(show(&h, &sb), "3000:5,2001:4,2000:3");
    /* More than ttl_s before the newest: stale; exactly ttl_s: new. */
    p.n = 0;
    CHECK(history_add(&h, 7, 1999, &r, pair_cb, &p) == LOAN_STALE);
    CHECK(p.n == 0);
    CHECK(history_add(&h, 7, 2000, &r, pair_cb, &p) == LOAN_NEW);
    CHECK_STR(show(&h, &sb), "3000:5,2001:4,2000:7,2000:3");
    CHECK(history_add(&h, 6, 10000, &r, pair_cb, &p) == LOAN_NEW);
    CHECK_STR(show(&h, &sb), "10000:6");                /* the newest always stays */
    history_free(&h);
    strbuf_free(&sb);
}

TEST(history_replay_counts_no_pair_twice)
{
    /* "replaying events is harmless": a patron counts once per pair,
     * even for loans a bounded history has let go. */
    struct history h = {0};
    struct paired p = {0};
    struct history_rules r = {2, 1LL << 40, 1LL << 40, 100};
    long long when[] = {100, 200, 300};
    size_t first_pass = 0;
    for (int i = 0; i < 3; i++)
        CHECK(history_add(&h, (uint32_t)i + 1, when[i], &r, pair_cb, &p) == LOAN_NEW);
    first_pass = p.n;
    CHECK(first_pass == 3);             /* {2,1}, {3,2}, {3,1} */
    CHECK(h.n == 2);                    /* 1 trimmed: max_entries */
    /* Replaying the events: 1 is no longer held and is older than all
     * of the full history (stale); pairing it again would count {1,2}
     * and {1,3} twice for the same patron. */
    p.n = 0;
    for (int i = 0; i < 3; i++) {
        int rc = history_add(&h, (uint32_t)i + 1, when[i], &r, pair_cb, &p);
        CHECK(i == 0 ? rc == LOAN_STALE : rc == LOAN_DUPLICATE);
    }
    CHECK(p.n == 0);
    CHECK(h.n == 2 && h.e[0].record == 3 && h.e[1].record == 2);

    /* The same through ttl_s: a loan more than ttl_s before the newest. */
    history_clear(&h);
    r.max_entries = 100;
    r.ttl_s = 1000;
    CHECK(history_add(&h, 1, 5000, &r, pair_cb, &p) == LOAN_NEW);
    CHECK(history_add(&h, 2, 4500, &r, pair_cb, &p) == LOAN_NEW);
    CHECK(history_add(&h, 3, 6000, &r, pair_cb, &p) == LOAN_NEW);   /* 2 goes */
    CHECK(h.n == 2 && h.e[0].record == 3 && h.e[1].record == 1);
    p.n = 0;
    CHECK(history_add(&h, 2, 4500, &r, pair_cb, &p) == LOAN_STALE);
    CHECK(history_add(&h, 3, 6000, &r, pair_cb, &p) == LOAN_DUPLICATE);
    CHECK(p.n == 0);
    CHECK(h.n == 2);
    history_free(&h);
}

TEST(history_parse_encode_round_trip)
{
    struct record_ids *nm = record_ids_new();
    struct history h = {0};
    struct strbuf sb = {0};
    const char text[] = "1795343460 f377\n1795300000 f12:x\n-5 a.b_c\n";
    CHECK(history_parse(&h, text, sizeof text - 1, nm) == 0);
    CHECK(h.n == 3);
    if (h.n == 3) {
        CHECK(h.e[0].when == 1795343460LL && h.e[1].when == 1795300000LL && h.e[2].when == -5);
        CHECK_STR(record_ids_get(nm, h.e[0].record), "f377");
        CHECK_STR(record_ids_get(nm, h.e[1].record), "f12:x");
        CHECK_STR(record_ids_get(nm, h.e[2].record), "a.b_c");
    }
    CHECK(record_ids_find(nm, "f377") == h.e[0].record);
    CHECK(history_encode(&h, nm, &sb) == 0);
    CHECK_STR(strbuf_cstr(&sb), text);

    /* Only len bytes are read. */
    CHECK(history_parse(&h, text, 16, nm) == 0);
    CHECK(h.n == 1 && h.e[0].when == 1795343460LL);

    /* Empty text, empty history, empty encoding. */
    CHECK(history_parse(&h, "", 0, nm) == 0);
    CHECK(h.n == 0);
    strbuf_reset(&sb);
    CHECK(history_encode(&h, nm, &sb) == 0);
    CHECK_STR(strbuf_cstr(&sb), "");

    /* A parsed history goes on counting: its titles are repeats. */
    struct paired p = {0};
    CHECK(history_parse(&h, text, sizeof text - 1, nm) == 0);
    CHECK(history_add(&h, record_ids_find(nm, "f377"), 1795343460LL, &wide, pair_cb, &p) ==
          LOAN_DUPLICATE);
    CHECK(history_add(&h, record_ids_find(nm, "a.b_c"), 7, &wide, pair_cb, &p) == LOAN_REPEAT);
    uint32_t n9 = record_ids_intern(nm, "f9", 2);
    CHECK(history_add(&h, n9, 1795343461LL, &wide, pair_cb, &p) == LOAN_NEW);
    strbuf_reset(&sb);
    CHECK(history_encode(&h, nm, &sb) == 0);
    CHECK_STR(strbuf_cstr(&sb), "1795343461 f9\n1795343460 f377\n1795300000 f12:x\n-5 a.b_c\n");

    history_free(&h);
    strbuf_free(&sb);
    record_ids_free(nm);
}

TEST(history_parse_rejects_malformed)
{
    static const char *const bad[] = {
        "100 f1",                       /* no newline */
        "100 f1\n200 f2",               /* last line without newline */
        "100f1\n",                      /* no space */
        " 100 f1\n",                    /* no time */
        "100 \n",                       /* no record */
        "x100 f1\n",                    /* time not a number */
        "100x f1\n",
        "99999999999999999999 f1\n",    /* time overflows */
        "\n",                           /* empty line */
        "100 f1\n\n",
        "+100 f1\n",                    /* signs and blanks history_encode never writes */
        "- 5 f1\n",
        "100 f1\n200 f2\n",              /* oldest first */
    };
    struct record_ids *nm = record_ids_new();
    struct history h = {0};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        /* Start from a non-empty history: a failed parse leaves it empty. */
        CHECK(history_parse(&h, "2 b\n1 a\n", 8, nm) == 0 && h.n == 2);
        int rc = history_parse(&h, bad[i], strlen(bad[i]), nm);
        if (rc != -1 || h.n != 0)
            printf("  input %zu: \"%s\"\n", i, bad[i]);
        CHECK(rc == -1);
        CHECK(h.n == 0);
    }
    history_free(&h);
    record_ids_free(nm);
}

/* ---- co-occurrence lists --------------------------------------------------- */

static long cooc_find(const struct cooc_list *l, const char *record)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->e[i].record, record) == 0)
            return (long)l->e[i].count;
    return -1;
}

TEST(cooc_parse_sums_repeats)
{
    struct cooc_list l;
    char text[] = "f2 3\nf1 2\nf2 4\nf3 0\nf1 1\n";
    CHECK(cooc_parse(&l, text, sizeof text - 1) == 0);
    CHECK(l.n == 3);
    CHECK(l.gen == 0 && l.header_len == 0);
    /* The list keeps its own copy: the caller's text may go. */
    memset(text, 'z', sizeof text - 1);
    CHECK(cooc_find(&l, "f2") == 7);
    CHECK(cooc_find(&l, "f1") == 3);
    CHECK(cooc_find(&l, "f3") == 0);
    cooc_free(&l);
    CHECK(l.n == 0 && l.e == NULL && l.text == NULL);

    CHECK(cooc_parse(&l, "", 0) == 0);
    CHECK(l.n == 0);
    cooc_free(&l);

    /* The largest count one line may carry. */
    CHECK(cooc_parse(&l, "f1 4294967295\n", 14) == 0);
    CHECK(l.n == 1 && l.e[0].count == UINT32_MAX);
    cooc_free(&l);
}

TEST(cooc_parse_sums_repeats_many_records)
{
    /* Repeats of records early and late in a long list, new records
     * after repeats, and thousands of distinct ones. */
    struct strbuf sb = {0};
    for (int i = 0; i < 40; i++)
        strbuf_printf(&sb, "r%d %d\n", i, i + 1);
    strbuf_printf(&sb, "r0 100\nr31 100\nr32 100\nr39 100\nnew 5\nr0 1000\nnew 6\n");
    for (int i = 40; i < 5000; i++)
        strbuf_printf(&sb, "r%d 1\n", i);
    for (int i = 5000 - 1; i >= 40; i--)
        strbuf_printf(&sb, "r%d 2\n", i);
    struct cooc_list l;
    CHECK(cooc_parse(&l, sb.buf, sb.len) == 0);
    CHECK(l.n == 5001);
    CHECK(cooc_find(&l, "r0") == 1 + 100 + 1000);
    CHECK(cooc_find(&l, "r1") == 2);
    CHECK(cooc_find(&l, "r31") == 32 + 100);
    CHECK(cooc_find(&l, "r32") == 33 + 100);
    CHECK(cooc_find(&l, "r39") == 40 + 100);
    CHECK(cooc_find(&l, "new") == 11);
    CHECK(cooc_find(&l, "r40") == 3);
    CHECK(cooc_find(&l, "r4999") == 3);
    /* Each record once, in order of first appearance. */
    size_t wrong = 0;
    for (size_t i = 0; i < l.n; i++) {
        char want[32];
        if (i < 40)
            snprintf(want, sizeof want, "r%zu", i);
        else if (i == 40)
            snprintf(want, sizeof want, "new");
        else
            snprintf(want, sizeof want, "r%zu", i - 1);
        wrong += strcmp(l.e[i].record, want) != 0;
        wrong += i > 40 && l.e[i].count != 3;
    }
    CHECK(wrong == 0);
    cooc_free(&l);
    strbuf_free(&sb);
}

TEST(cooc_generation_header)
{
    struct cooc_list l;
    struct strbuf sb = {0};
    const char text[] = "#7\nf1 2\nf2 5\nf1 1\n";
    CHECK(cooc_parse(&l, text, sizeof text - 1) == 0);
    CHECK(l.gen == 7);
    CHECK(l.header_len == 3);
    CHECK(l.n == 2);
    CHECK(cooc_find(&l, "f1") == 3 && cooc_find(&l, "f2") == 5);
    /* Written back under the next generation. */
    cooc_top(&l, 10);
    CHECK(cooc_encode(&l, l.gen + 1, &sb) == 0);
    CHECK_STR(strbuf_cstr(&sb), "#8\nf2 5\nf1 3\n");
    cooc_free(&l);
    /* Generation 0: no header. */
    CHECK(cooc_parse(&l, sb.buf, sb.len) == 0 && l.gen == 8);
    strbuf_reset(&sb);
    CHECK(cooc_encode(&l, 0, &sb) == 0);
    CHECK_STR(strbuf_cstr(&sb), "f2 5\nf1 3\n");
    cooc_free(&l);
    /* A header alone is an empty list. */
    CHECK(cooc_parse(&l, "#12345678901234\n", 16) == 0);
    CHECK(l.n == 0 && l.gen == 12345678901234ULL && l.header_len == 16);
    cooc_free(&l);

    static const char *const bad[] = {
        "#\nf1 2\n",                    /* no number */
        "#x\n",
        "#7x\n",
        "#7",                           /* no newline */
        "#99999999999999999999999\n",   /* overflows */
        "f1 2\n#7\n",                   /* a header only comes first */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = cooc_parse(&l, bad[i], strlen(bad[i]));
        if (rc != -1)
            printf("  header %zu: \"%s\" accepted\n", i, bad[i]);
        CHECK(rc == -1);
        CHECK(l.n == 0 && l.e == NULL && l.text == NULL);
        cooc_free(&l);
    }
    int neg = cooc_parse(&l, "#-1\nf1 2\n", 9);
    cooc_free(&l);
    int spaced = cooc_parse(&l, "# 5\n", 4);
    cooc_free(&l);
    /* A header is '#' and digits: no sign, no blanks (a wrapped
     * generation would drop the header at the next compaction). */
    CHECK(neg == -1);
    CHECK(spaced == -1);
    strbuf_free(&sb);
}

TEST(cooc_top_orders_and_truncates)
{
    struct cooc_list l;
    struct strbuf sb = {0};
    const char text[] = "f5 2\nf3 9\nf10 2\nf1 2\nf7 9\nf2 1\nf5 3\n";
    CHECK(cooc_parse(&l, text, sizeof text - 1) == 0);
    cooc_top(&l, 100);                      /* keep more than there are: all stay */
    CHECK(l.n == 6);
    CHECK(cooc_encode(&l, 0, &sb) == 0);
    /* Count desc; within a count, oldest (earliest last line) first:
     * f3 (line 2) before f7 (5); f1 (4) before f10 (3)? no: f10 is on
     * line 3, f1 on line 4, so f10 first. f5 is summed (2 + 3). */
    CHECK_STR(strbuf_cstr(&sb), "f3 9\nf7 9\nf5 5\nf10 2\nf1 2\nf2 1\n");
    cooc_top(&l, 3);
    CHECK(l.n == 3);
    strbuf_reset(&sb);
    CHECK(cooc_encode(&l, 0, &sb) == 0);
    CHECK_STR(strbuf_cstr(&sb), "f3 9\nf7 9\nf5 5\n");
    cooc_top(&l, 0);
    CHECK(l.n == 0);
    strbuf_reset(&sb);
    CHECK(cooc_encode(&l, 0, &sb) == 0);
    CHECK_STR(strbuf_cstr(&sb), "");
    cooc_free(&l);

    /* Ties at the cut: the most recently counted win the last places
     * (a record's last line counts: c is on lines 3 and 6). */
    const char ties[] = "d 3\ne 1\nc 3\nb 3\na 5\nc 0\n";
    static const struct {
        size_t keep;
        const char *want;
    } cuts[] = {{1, "a 5\n"}, {2, "a 5\nc 3\n"}, {3, "a 5\nb 3\nc 3\n"},
                {4, "a 5\nd 3\nb 3\nc 3\n"}, {5, "a 5\nd 3\nb 3\nc 3\ne 1\n"}};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        CHECK(cooc_parse(&l, ties, sizeof ties - 1) == 0);
        cooc_top(&l, cuts[i].keep);
        strbuf_reset(&sb);
        CHECK(cooc_encode(&l, 0, &sb) == 0);
        CHECK_STR(strbuf_cstr(&sb), cuts[i].want);
        cooc_free(&l);
    }

    /* Written back and appended to, line order still means recency: a
     * new count-1 pair beats the old count-1 ones at the next cut. */
    CHECK(cooc_parse(&l, "x 1\ny 1\nz 4\n", 12) == 0);
    cooc_top(&l, 3);
    strbuf_reset(&sb);
    CHECK(cooc_encode(&l, 1, &sb) == 0);
    strbuf_puts(&sb, "new 1\n");
    cooc_free(&l);
    CHECK(cooc_parse(&l, sb.buf, sb.len) == 0);
    cooc_top(&l, 2);
    strbuf_reset(&sb);
    CHECK(cooc_encode(&l, 0, &sb) == 0);
    CHECK_STR(strbuf_cstr(&sb), "z 4\nnew 1\n");
    cooc_free(&l);

    /* A long list cut to its top 10. */
    strbuf_reset(&sb);
    for (int i = 0; i < 3000; i++)
        strbuf_printf(&sb, "r%04d %d\n", i, (i * 7919) % 1000);
    CHECK(cooc_parse(&l, sb.buf, sb.len) == 0);
    cooc_top(&l, 10);
    CHECK(l.n == 10);
    size_t bad_order = 0;
    for (size_t i = 1; i < l.n; i++)
        bad_order += l.e[i - 1].count < l.e[i].count ||
                     (l.e[i - 1].count == l.e[i].count && l.e[i - 1].last >= l.e[i].last);
    CHECK(bad_order == 0);
    CHECK(l.n == 10 && l.e[0].count == 999 && l.e[9].count == 996);
    CHECK(l.n == 10 && strcmp(l.e[0].record, "r0321") == 0);
    cooc_free(&l);

    /* Counts too large for the histogram: sorted instead, same rule. */
    const char big[] = "s 1\nb 4294967295\nm 7\nn 7\n";
    CHECK(cooc_parse(&l, big, sizeof big - 1) == 0);
    cooc_top(&l, 2);
    strbuf_reset(&sb);
    CHECK(cooc_encode(&l, 0, &sb) == 0);
    CHECK_STR(strbuf_cstr(&sb), "b 4294967295\nn 7\n");
    cooc_free(&l);
    strbuf_free(&sb);
}

TEST(cooc_encode_round_trip)
{
    struct cooc_list l, again;
    struct strbuf sb = {0}, sb2 = {0};
    const char text[] = "f377 12\nab:c.d_e-f 4294967295\nx 0\ny 1000000\n";
    CHECK(cooc_parse(&l, text, sizeof text - 1) == 0);
    CHECK(cooc_encode(&l, 0, &sb) == 0);
    CHECK_STR(strbuf_cstr(&sb), text);
    CHECK(cooc_parse(&again, sb.buf, sb.len) == 0);
    CHECK(again.n == 4);
    CHECK(cooc_encode(&again, 0, &sb2) == 0);
    CHECK_STR(strbuf_cstr(&sb2), text);
    cooc_free(&l);
    cooc_free(&again);
    strbuf_free(&sb);
    strbuf_free(&sb2);
}

TEST(cooc_parse_rejects_malformed)
{
    static const char *const bad[] = {
        "f1\n",                         /* no count */
        "f1 \n",                        /* empty count */
        " 3\n",                         /* no record */
        "f1 -1\n",                      /* negative */
        "f1 3",                         /* no newline */
        "f1 3\nf2 4",                   /* last line without newline */
        "f1 3x\n",                      /* junk after the count */
        "f1 x\n",
        "f1 4294967296\n",              /* over UINT32_MAX */
        "f1 99999999999999999999999\n", /* over unsigned long */
        "\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct cooc_list l = {0};
        int rc = cooc_parse(&l, bad[i], strlen(bad[i]));
        if (rc != -1)
            printf("  input %zu: \"%s\"\n", i, bad[i]);
        CHECK(rc == -1);
        CHECK(l.n == 0 && l.e == NULL && l.text == NULL);
        cooc_free(&l);
    }
    /* A bad line after many good ones frees everything. */
    struct strbuf sb = {0};
    for (int i = 0; i < 40; i++)
        strbuf_printf(&sb, "r%d 1\n", i);
    strbuf_printf(&sb, "r3 -2\n");
    struct cooc_list l;
    CHECK(cooc_parse(&l, sb.buf, sb.len) == -1);
    CHECK(l.n == 0 && l.e == NULL && l.text == NULL);
    strbuf_free(&sb);
}

/* ---- scoring --------------------------------------------------------------- */

TEST(score_measure_by_name)
{
    static const char *const names[] = {"raw", "cosine", "jaccard", "llr"};
    static const enum score_measure ms[] = {SCORE_RAW, SCORE_COSINE, SCORE_JACCARD, SCORE_LLR};
    for (int i = 0; i < 4; i++) {
        enum score_measure m = SCORE_RAW;
        if (ms[i] == SCORE_RAW)
            m = SCORE_LLR;
        CHECK(score_measure_parse(names[i], &m) == 0);
        CHECK(m == ms[i]);
        CHECK_STR(score_measure_name(ms[i]), names[i]);
    }
    enum score_measure m = SCORE_COSINE;
    CHECK(score_measure_parse("LLR", &m) == -1);
    CHECK(score_measure_parse("", &m) == -1);
    CHECK(score_measure_parse("llr ", &m) == -1);
    CHECK(score_measure_parse("pmi", &m) == -1);
    CHECK(m == SCORE_COSINE);               /* untouched on failure */
}

TEST(score_pair_values)
{
    /* both=5, a=20, b=10, n=100: table (5, 15, 5, 75). */
    CHECK(score_pair(SCORE_RAW, 5, 20, 10, 100) == 5);
    CHECK(NEAR(score_pair(SCORE_COSINE, 5, 20, 10, 100), 5 / sqrt(200.0), 1e-12));
    CHECK(NEAR(score_pair(SCORE_COSINE, 5, 20, 10, 100), 0.35355339059327373, 1e-12));
    CHECK(NEAR(score_pair(SCORE_JACCARD, 5, 20, 10, 100), 0.2, 1e-12));
    /* G^2 = 2 sum k ln(k N / (row col)), computed in Python. */
    CHECK(NEAR(score_pair(SCORE_LLR, 5, 20, 10, 100), 5.116523500503837, 1e-9));
    /* k11=10, k12=10, k21=10, k22=10000: both=10, a=20, b=20, n=10030.
     * 2 N (H(rows) + H(cols) - H(cells)) = 102.77324793294 */
    CHECK(NEAR(score_pair(SCORE_LLR, 10, 20, 20, 10030), 102.77324793294078, 1e-7));
    /* The 2x2 table is symmetric in A and B. */
    CHECK(NEAR(score_pair(SCORE_LLR, 5, 20, 10, 100), score_pair(SCORE_LLR, 5, 10, 20, 100),
               1e-9));
    /* Perfect association, (3, 0, 0, 7): G^2 = 2 (3 ln(10/3) + 7 ln(10/7)) */
    CHECK(NEAR(score_pair(SCORE_LLR, 3, 3, 3, 10), 2 * (3 * log(10 / 3.0) + 7 * log(10 / 7.0)),
               1e-9));
    CHECK(score_pair(SCORE_COSINE, 3, 3, 3, 10) == 1);
    CHECK(score_pair(SCORE_JACCARD, 3, 3, 3, 10) == 1);
}

TEST(score_pair_zero_and_negative)
{
    static const enum score_measure ms[] = {SCORE_RAW, SCORE_COSINE, SCORE_JACCARD, SCORE_LLR};
    for (int i = 0; i < 4; i++) {
        CHECK(score_pair(ms[i], 0, 20, 10, 100) == 0);
        CHECK(score_pair(ms[i], 5, 0, 10, 100) == 0);
        CHECK(score_pair(ms[i], 5, 20, 0, 100) == 0);
        CHECK(score_pair(ms[i], -1, 20, 10, 100) == 0);
    }
    /* 1 of A's 50 borrowers took B, but 49 of the 50 others did: a
     * negative association. Positive for the plain measures, 0 for llr. */
    CHECK(score_pair(SCORE_RAW, 1, 50, 50, 100) == 1);
    CHECK(score_pair(SCORE_COSINE, 1, 50, 50, 100) > 0);
    CHECK(score_pair(SCORE_LLR, 1, 50, 50, 100) == 0);
    /* Exactly independent: (5, 15, 20, 60): no evidence, 0. */
    CHECK(score_pair(SCORE_LLR, 5, 20, 25, 100) == 0);
    /* Every patron borrowed A: no "without A" to compare with. */
    CHECK(score_pair(SCORE_LLR, 5, 100, 5, 100) == 0);
    /* Inconsistent counts (read at different moments) are clamped:
     * a and b at least both, n at least a + b - both. */
    CHECK(score_pair(SCORE_COSINE, 5, 3, 5, 100) == 1);
    CHECK(NEAR(score_pair(SCORE_JACCARD, 5, 10, 3, 1), 0.5, 1e-12));
    CHECK(score_pair(SCORE_LLR, 5, 10, 3, 1) == 0);         /* n clamped to a: no contrast */
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

static struct neighbours *nb_new(const char *record, uint32_t borrowers,
                                 const struct neighbour *list, size_t n)
{
    struct neighbours *nb = calloc(1, sizeof *nb);
    if (!nb)
        abort();
    nb->refs = 1;
    nb->record = xstrdup(record);
    nb->borrowers = borrowers;
    nb->list = calloc(n ? n : 1, sizeof *nb->list);
    if (!nb->list)
        abort();
    for (size_t i = 0; i < n; i++) {
        nb->list[i] = list[i];
        nb->list[i].record = xstrdup(list[i].record);
    }
    nb->n = n;
    return nb;
}

static int cand_is(const struct candidate *c, const char *record, double score,
                   enum reason reason)
{
    if (strcmp(c->record, record) == 0 && NEAR(c->score, score, 1e-9) && c->reason == reason)
        return 1;
    printf("  got %s %g %s, want %s %g %s\n", c->record, c->score, reason_name(c->reason),
           record, score, reason_name(reason));
    return 0;
}

/* score_candidates scales each record's measures to its best neighbour's
 * (score.c: so that weight[i] means the same whatever the measure's
 * range), blends: sum of weight[i] * m(i, c) / best(i), best(i) taken over
 * all of nbs[i]'s list, and multiplies back by best(0) / weight[0]: alone,
 * a candidate's score is the measure itself. */
TEST(score_candidates_blend_exclude_fill)
{
    /* raw measures (= both), easy to follow by hand. */
    static const struct neighbour l0[] = {
        {"x", 5, 40}, {"y", 3, 10}, {"w2", 4, 30}, {"ex", 9, 10}, {"zero", 0, 10}};
    static const struct neighbour l1[] = {{"x", 4, 40}, {"z", 8, 10}, {"w", 6, 20}};
    static const struct neighbour pop[] = {
        {"p1", 0, 50}, {"x", 0, 40}, {"w", 0, 20}, {"ex", 0, 90}, {"w2", 0, 30}, {"p2", 0, 30},
        {"p3", 0, 250}};
    struct neighbours *nbs[2] = {nb_new("w", 20, l0, 5), nb_new("w2", 30, l1, 3)};
    const double weight[2] = {1.0, 0.5};
    const char *const exclude[] = {"ex"};
    struct candidate *c = NULL;
    size_t nc = 99;

    /* best(w) = 9 (ex), best(w2) = 8 (z): x = 9 * (5/9 + 0.5 * 4/8),
     * z = 9 * 0.5, y = 9 * 3/9; w2 (a record asked about), ex (excluded), w (wanted) and
     * zero (measure 0) left out; then popular: p1 50/100, p2 30/100, p3
     * capped at 1; x, w, ex, w2 not again. */
    CHECK(score_candidates(nbs, weight, 2, SCORE_RAW, pop, 7, 100, exclude, 1, 10, &c, &nc) == 0);
    CHECK(nc == 6);
    if (nc == 6) {
        CHECK(cand_is(&c[0], "x", 7.25, REASON_ALSO_BORROWED));
        CHECK(cand_is(&c[1], "z", 4.5, REASON_ALSO_BORROWED));
        CHECK(cand_is(&c[2], "y", 3, REASON_ALSO_BORROWED));
        CHECK(cand_is(&c[3], "p1", 0.5, REASON_POPULAR));
        CHECK(cand_is(&c[4], "p2", 0.3, REASON_POPULAR));
        CHECK(cand_is(&c[5], "p3", 1, REASON_POPULAR));
    }
    candidates_free(c, nc);

    /* max respected, best first; popular only fills up. */
    CHECK(score_candidates(nbs, weight, 2, SCORE_RAW, pop, 7, 100, exclude, 1, 2, &c, &nc) == 0);
    CHECK(nc == 2);
    if (nc == 2)
        CHECK(cand_is(&c[0], "x", 7.25, REASON_ALSO_BORROWED) &&
              cand_is(&c[1], "z", 4.5, REASON_ALSO_BORROWED));
    candidates_free(c, nc);
    CHECK(score_candidates(nbs, weight, 2, SCORE_RAW, pop, 7, 100, exclude, 1, 4, &c, &nc) == 0);
    CHECK(nc == 4);
    if (nc == 4)
        CHECK(cand_is(&c[2], "y", 3, REASON_ALSO_BORROWED) &&
              cand_is(&c[3], "p1", 0.5, REASON_POPULAR));
    candidates_free(c, nc);
    CHECK(score_candidates(nbs, weight, 2, SCORE_RAW, pop, 7, 100, exclude, 1, 0, &c, &nc) == 0);
    CHECK(nc == 0);
    candidates_free(c, nc);

    /* Without the exclusion list, ex leads; without the second record,
     * w2 comes in on its own score and z is gone. */
    CHECK(score_candidates(nbs, weight, 1, SCORE_RAW, NULL, 0, 100, NULL, 0, 10, &c, &nc) == 0);
    CHECK(nc == 4);
    if (nc == 4) {
        CHECK(cand_is(&c[0], "ex", 9, REASON_ALSO_BORROWED));    /* alone: raw counts */
        CHECK(cand_is(&c[1], "x", 5, REASON_ALSO_BORROWED));
        CHECK(cand_is(&c[2], "w2", 4, REASON_ALSO_BORROWED));
        CHECK(cand_is(&c[3], "y", 3, REASON_ALSO_BORROWED));
    }
    candidates_free(c, nc);

    /* The wanted record (nbs[0]) is never returned, even when another
     * record's neighbours and the popular list name it. */
    struct neighbours *rev[2] = {nbs[1], nbs[0]};
    CHECK(score_candidates(rev, weight, 2, SCORE_RAW, pop, 7, 100, exclude, 1, 10, &c, &nc) == 0);
    size_t wanted = 0, other = 0;
    for (size_t i = 0; i < nc; i++) {
        wanted += strcmp(c[i].record, "w2") == 0;
        other += strcmp(c[i].record, "w") == 0;
    }
    CHECK(wanted == 0 && other == 0);
    /* in w2's units (best 8): z = 8 * 8/8, x = 8 * (4/8 + 0.5 * 5/9),
     * y = 8 * 0.5 * 3/9 */
    CHECK(nc == 6);
    if (nc == 6) {
        CHECK(cand_is(&c[0], "z", 8, REASON_ALSO_BORROWED));
        CHECK(cand_is(&c[1], "x", 4 + 20.0 / 9, REASON_ALSO_BORROWED));
        CHECK(cand_is(&c[2], "y", 4.0 / 3, REASON_ALSO_BORROWED));
        CHECK(c[3].reason == REASON_POPULAR);
    }
    candidates_free(c, nc);

    /* A weight of 0 drops a record's contribution entirely. */
    const double only_first[2] = {1.0, 0.0};
    CHECK(score_candidates(nbs, only_first, 2, SCORE_RAW, NULL, 0, 100, exclude, 1, 10, &c, &nc) ==
          0);
    CHECK(nc == 2);
    if (nc == 2)
        CHECK(cand_is(&c[0], "x", 5, REASON_ALSO_BORROWED) &&
              cand_is(&c[1], "y", 3, REASON_ALSO_BORROWED));
    candidates_free(c, nc);

    neighbours_unref(nbs[0]);
    neighbours_unref(nbs[1]);
}

TEST(score_candidates_measure_ties_and_popular_only)
{
    /* llr: a negatively associated neighbour scores 0 and is left out of
     * also_borrowed; alone, the others score their G^2. */
    static const struct neighbour l[] = {{"neg", 1, 5000}, {"pos", 10, 20}, {"b", 5, 10},
                                         {"a", 5, 10}};
    struct neighbours *nb = nb_new("w", 20, l, 4);
    CHECK(neighbours_ref(nb) == nb && nb->refs == 2);
    neighbours_unref(nb);
    CHECK(nb->refs == 1);
    const double one = 1;
    const double llr_pos = 102.77324793294078;                 /* as in score_pair_values */
    const double llr_ab = score_pair(SCORE_LLR, 5, 20, 10, 10030);
    CHECK(llr_ab > 1 && llr_ab < llr_pos);
    struct candidate *c = NULL;
    size_t nc = 0;
    CHECK(score_candidates(&nb, &one, 1, SCORE_LLR, NULL, 0, 10030, NULL, 0, 10, &c, &nc) == 0);
    CHECK(nc == 3);
    if (nc == 3) {
        CHECK(cand_is(&c[0], "pos", llr_pos, REASON_ALSO_BORROWED));
        /* a and b score the same: by record id. */
        CHECK(cand_is(&c[1], "a", llr_ab, REASON_ALSO_BORROWED));
        CHECK(cand_is(&c[2], "b", llr_ab, REASON_ALSO_BORROWED));
    }
    candidates_free(c, nc);

    /* Cosine on the same neighbours: neg now scores. */
    CHECK(score_candidates(&nb, &one, 1, SCORE_COSINE, NULL, 0, 10030, NULL, 0, 10, &c, &nc) == 0);
    CHECK(nc == 4);
    if (nc == 4) {
        CHECK(cand_is(&c[0], "pos", 0.5, REASON_ALSO_BORROWED));
        CHECK(cand_is(&c[1], "a", 5 / sqrt(200.0), REASON_ALSO_BORROWED));
        CHECK(cand_is(&c[3], "neg", 1 / sqrt(20.0 * 5000), REASON_ALSO_BORROWED));
    }
    candidates_free(c, nc);
    neighbours_unref(nb);

    /* Only negative associations under llr: nothing also_borrowed, the
     * popular list fills in. */
    static const struct neighbour negs[] = {{"neg", 1, 5000}, {"neg2", 2, 6000}};
    static const struct neighbour pop[] = {{"p1", 0, 7}, {"p2", 0, 3}};
    nb = nb_new("w", 20, negs, 2);
    CHECK(score_candidates(&nb, &one, 1, SCORE_LLR, pop, 2, 10, NULL, 0, 10, &c, &nc) == 0);
    CHECK(nc == 2);
    if (nc == 2)
        CHECK(cand_is(&c[0], "p1", 0.7, REASON_POPULAR) && cand_is(&c[1], "p2", 0.3, REASON_POPULAR));
    candidates_free(c, nc);
    neighbours_unref(nb);

    /* No records at all: the popular list alone; no patrons: share 0. */
    CHECK(score_candidates(NULL, NULL, 0, SCORE_LLR, pop, 2, 10, NULL, 0, 10, &c, &nc) == 0);
    CHECK(nc == 2);
    if (nc == 2)
        CHECK(cand_is(&c[0], "p1", 0.7, REASON_POPULAR) && cand_is(&c[1], "p2", 0.3, REASON_POPULAR));
    candidates_free(c, nc);
    CHECK(score_candidates(NULL, NULL, 0, SCORE_LLR, pop, 2, 0, NULL, 0, 1, &c, &nc) == 0);
    CHECK(nc == 1);
    if (nc == 1)
        CHECK(cand_is(&c[0], "p1", 0, REASON_POPULAR));
    candidates_free(c, nc);
}

/* A patron at the privacy.history_max bound (10,000 titles) asks about w:
 * every title of their history is left out, and only those: titles that
 * differ from one by a byte, a case or a suffix, and titles equal to one
 * up to its length, stay. */
TEST(score_candidates_exclude_large_history_exactly)
{
    enum { HISTORY = 10000, NEIGHBOURS = 100, RECENT = 5, POPULAR = 40 };
    char **hist = calloc(HISTORY, sizeof *hist);
    const char **exclude = calloc(HISTORY, sizeof *exclude);
    if (!hist || !exclude)
        abort();
    for (size_t i = 0; i < HISTORY; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "rec-%05zu", (i * 7919) % HISTORY);  /* not in order */
        exclude[i] = hist[i] = xstrdup(buf);
    }
    /* Neighbours: even ones borrowed (some among the history's first,
     * some its last), odd ones look-alikes that were not. */
    static const char *const alike[] = {"rec-%05zux", "Rec-%05zu", "rec-%04zu", "rec-%05zu-",
                                        "rec_%05zu", "rec-%06zu"};
    struct neighbour l[RECENT + 1][NEIGHBOURS];
    struct neighbours *nbs[RECENT + 1];
    double weight[RECENT + 1];
    char names[RECENT + 1][NEIGHBOURS][32];
    size_t kept_want = 0;
    for (size_t k = 0; k <= RECENT; k++) {
        for (size_t j = 0; j < NEIGHBOURS; j++) {
            size_t at = (k * NEIGHBOURS + j) * 16 % HISTORY;
            if (j % 2 == 0)
                snprintf(names[k][j], sizeof names[k][j], "%s", hist[j % 4 == 0 ? at : HISTORY - 1 - at]);
            else
                snprintf(names[k][j], sizeof names[k][j], alike[j / 2 % 6],
                         (k * NEIGHBOURS + j) % HISTORY);
            l[k][j] = (struct neighbour){names[k][j], (uint32_t)(1000 - j), 50};
        }
        char rec[32];
        snprintf(rec, sizeof rec, "asked-%zu", k);
        nbs[k] = nb_new(rec, 50, l[k], NEIGHBOURS);
        weight[k] = k ? score_recent_weight(k - 1) : 1;
    }
    /* What is expected: the look-alikes, each once, and no history title. */
    struct dict *want = dict_new();
    for (size_t k = 0; want && k <= RECENT; k++)
        for (size_t j = 1; j < NEIGHBOURS; j += 2)
            if (!dict_get(want, names[k][j]) && dict_set(want, names[k][j], (void *)1, NULL) == 0)
                kept_want++;
    CHECK(want != NULL && kept_want > 250);
    struct neighbour pop[POPULAR];
    char popnames[POPULAR][32];
    for (size_t j = 0; j < POPULAR; j++) {
        if (j % 2 == 0)
            snprintf(popnames[j], sizeof popnames[j], "%s", hist[HISTORY / 2 + j]);
        else
            snprintf(popnames[j], sizeof popnames[j], "pop-%zu", j);
        pop[j] = (struct neighbour){popnames[j], 0, (uint32_t)(900 - j)};
    }
    struct candidate *c = NULL;
    size_t nc = 0;
    CHECK(score_candidates(nbs, weight, RECENT + 1, SCORE_RAW, pop, POPULAR, 1000, exclude,
                           HISTORY, 10000, &c, &nc) == 0);
    CHECK(nc == kept_want + POPULAR / 2);
    size_t also = 0, popular = 0, wrong = 0;
    for (size_t i = 0; i < nc; i++) {
        if (c[i].reason == REASON_ALSO_BORROWED) {
            also++;
            wrong += !dict_get(want, c[i].record);
        } else {
            popular++;
            wrong += strncmp(c[i].record, "pop-", 4) != 0;
        }
    }
    CHECK(also == kept_want && popular == POPULAR / 2 && wrong == 0);
    candidates_free(c, nc);
    /* Without the history, its titles come back: the set decides. */
    CHECK(score_candidates(nbs, weight, RECENT + 1, SCORE_RAW, pop, POPULAR, 1000, exclude,
                           0, 10000, &c, &nc) == 0);
    CHECK(nc > kept_want + POPULAR);
    candidates_free(c, nc);
    /* And with the history less one title (a neighbour's, moved to the
     * end), that one is back. */
    const char *last = names[0][2];
    for (size_t i = 0; i < HISTORY; i++) {
        if (strcmp(exclude[i], last) == 0) {
            exclude[i] = exclude[HISTORY - 1];
            exclude[HISTORY - 1] = last;
        }
    }
    int back = 0;
    CHECK(score_candidates(nbs, weight, RECENT + 1, SCORE_RAW, pop, POPULAR, 1000, exclude,
                           HISTORY - 1, 10000, &c, &nc) == 0);
    for (size_t i = 0; i < nc; i++)
        back += strcmp(c[i].record, last) == 0;
    CHECK(back == 1);
    candidates_free(c, nc);
    dict_free(want, NULL);
    for (size_t k = 0; k <= RECENT; k++)
        neighbours_unref(nbs[k]);
    for (size_t i = 0; i < HISTORY; i++)
        free(hist[i]);
    free(hist);
    free(exclude);
}

/* ---- the popular list (model.h), as the daemon and eval read it ------------- */

static redisReply str_reply(const char *s)
{
    return (redisReply){.type = REDIS_REPLY_STRING, .len = strlen(s), .str = (char *)s};
}

TEST(popular_parse_stops_below_k_and_refuses_other_shapes)
{
    /* ZREVRANGE pop 0 N WITHSCORES: most borrowed first; scores as Redis
     * prints them. */
    redisReply e[8] = {str_reply("f1"), str_reply("1e+06"), str_reply("f2"), str_reply("3"),
                       str_reply("f3"), str_reply("2"), str_reply("f4"), str_reply("3")};
    redisReply *el[8];
    for (size_t i = 0; i < 8; i++)
        el[i] = &e[i];
    redisReply arr = {.type = REDIS_REPLY_ARRAY, .elements = 8, .element = el};
    struct neighbour *pop = NULL;
    size_t n = 99;
    /* k = 3: f3 (2 borrowers) ends the list, f4 after it is not read */
    CHECK(model_popular_parse(&arr, 3, &pop, &n) == 0);
    CHECK(n == 2 && pop != NULL);
    if (n == 2) {
        CHECK_STR(pop[0].record, "f1");
        CHECK(pop[0].borrowers == 1000000 && pop[0].both == 0);
        CHECK_STR(pop[1].record, "f2");
        CHECK(pop[1].borrowers == 3);
    }
    neighbour_list_free(pop, n);
    /* k = 1: all four; a count past uint32_t is held at its top */
    e[1] = str_reply("1e+12");
    CHECK(model_popular_parse(&arr, 1, &pop, &n) == 0 && n == 4);
    CHECK(n == 4 && pop[0].borrowers == UINT32_MAX && pop[2].borrowers == 2 &&
          strcmp(pop[3].record, "f4") == 0);
    neighbour_list_free(pop, n);
    /* nobody borrowed enough, or an empty pop: an empty list, not NULL */
    e[1] = str_reply("1e+06");
    CHECK(model_popular_parse(&arr, 2000000000, &pop, &n) == 0 && n == 0 && pop != NULL);
    neighbour_list_free(pop, n);
    arr.elements = 0;
    CHECK(model_popular_parse(&arr, 3, &pop, &n) == 0 && n == 0 && pop != NULL);
    neighbour_list_free(pop, n);
    /* other shapes: an odd count, an element that is not a string, an
     * error reply */
    arr.elements = 3;
    CHECK(model_popular_parse(&arr, 1, &pop, &n) == -1 && pop == NULL && n == 0);
    arr.elements = 4;
    e[3] = (redisReply){.type = REDIS_REPLY_INTEGER, .integer = 3};
    CHECK(model_popular_parse(&arr, 1, &pop, &n) == -1 && pop == NULL && n == 0);
    redisReply err = {.type = REDIS_REPLY_ERROR, .len = 9, .str = (char *)"WRONGTYPE"};
    CHECK(model_popular_parse(&err, 1, &pop, &n) == -1 && pop == NULL);
}

int main(void)
{
    RUN(names_same_string_same_index);
    RUN(names_survive_rehash);
    RUN(pairs_symmetric_and_summed);
    RUN(pairs_add_all_and_grouped);
    RUN(pairs_group_matches_a_matrix);
    RUN(pairs_add_run_is_pairs_add_at_once);
    RUN(pairs_grow_past_16k);
    RUN(history_new_repeat_duplicate);
    RUN(history_pairs_nearest_within_window_capped);
    RUN(history_pair_failure_leaves_history_unchanged);
    RUN(history_trimmed_to_max_entries_and_ttl);
    RUN(history_replay_counts_no_pair_twice);
    RUN(history_parse_encode_round_trip);
    RUN(history_parse_rejects_malformed);
    RUN(cooc_parse_sums_repeats);
    RUN(cooc_parse_sums_repeats_many_records);
    RUN(cooc_generation_header);
    RUN(cooc_top_orders_and_truncates);
    RUN(cooc_encode_round_trip);
    RUN(cooc_parse_rejects_malformed);
    RUN(score_measure_by_name);
    RUN(score_pair_values);
    RUN(score_pair_zero_and_negative);
    RUN(score_candidates_blend_exclude_fill);
    RUN(score_candidates_measure_ties_and_popular_only);
    RUN(score_candidates_exclude_large_history_exactly);
    RUN(popular_parse_stops_below_k_and_refuses_other_shapes);
    printf("%d failed\n", unit_failures);
    return unit_failures != 0;
}
