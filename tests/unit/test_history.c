/* test_history.c: a patron's history (history.h) and its counting rule:
 * new, repeat, duplicate and stale loans, the pairs a loan makes,
 * trimming, the text it is stored as, and what a history added to the
 * model (history_contributions: what a forget takes back). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"
#include "ingest/history.h"
#include "ingest/record_ids.h"
#include "unit.h"

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
    CHECK(history_add(&h, 1, RECORD_IDS_NONE, 100, &wide, pair_cb, &p) == LOAN_NEW);
    CHECK(p.n == 0);                                  /* nothing to pair with */
    CHECK(history_add(&h, 2, RECORD_IDS_NONE, 200, &wide, pair_cb, &p) == LOAN_NEW);
    CHECK(p.n == 1 && p.other[0] == 1);
    p.n = 0;
    CHECK(history_add(&h, 1, RECORD_IDS_NONE, 100, &wide, pair_cb, &p) == LOAN_DUPLICATE);
    CHECK(history_add(&h, 1, RECORD_IDS_NONE, 300, &wide, pair_cb, &p) == LOAN_REPEAT);
    CHECK(history_add(&h, 2, RECORD_IDS_NONE, 50, &wide, pair_cb, &p) == LOAN_REPEAT);
    CHECK(p.n == 0);                                  /* repeats pair with nothing */
    CHECK_STR(show(&h, &sb), "200:2,100:1");          /* and change nothing */

    /* Inserted newest first, wherever the time falls. */
    CHECK(history_add(&h, 3, RECORD_IDS_NONE, 150, &wide, pair_cb, &p) == LOAN_NEW);
    CHECK(history_add(&h, 4, RECORD_IDS_NONE, 50, &wide, pair_cb, &p) == LOAN_NEW);
    CHECK(history_add(&h, 5, RECORD_IDS_NONE, 250, &wide, pair_cb, &p) == LOAN_NEW);
    CHECK_STR(show(&h, &sb), "250:5,200:2,150:3,100:1,50:4");
    /* Same time as an existing entry: goes before it. */
    CHECK(history_add(&h, 6, RECORD_IDS_NONE, 150, &wide, pair_cb, &p) == LOAN_NEW);
    CHECK_STR(show(&h, &sb), "250:5,200:2,150:6,150:3,100:1,50:4");

    history_clear(&h);
    CHECK(h.n == 0);
    CHECK(history_add(&h, 1, RECORD_IDS_NONE, 100, &wide, pair_cb, &p) == LOAN_NEW);  /* 1 is new again */
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
        CHECK(history_add(&h, (uint32_t)(14 - i), RECORD_IDS_NONE, times[i], &r, pair_cb, &p) == LOAN_NEW);
    /* history now 1000:10, 900:11, 700:12, 400:13, 0:14 */

    /* A loan at 800: distances 10:200 11:100 12:100 13:400 14:800.
     * Nearest first; 11 and 12 tie and the newer (11) comes first. */
    p.n = 0;
    r.pairs_per_loan = 100;
    r.window_s = 1000000;
    CHECK(history_add(&h, 20, RECORD_IDS_NONE, 800, &r, pair_cb, &p) == LOAN_NEW);
    CHECK(p.n == 5);
    CHECK(p.other[0] == 11 && p.other[1] == 12 && p.other[2] == 10 &&
          p.other[3] == 13 && p.other[4] == 14);

    /* Capped at pairs_per_loan, nearest kept. History now 1000:10,
     * 900:11, 800:20, 700:12, 400:13, 0:14; a loan at 650: 12:50,
     * 20:150, 11:250, 13:250 (tie: 11 is newer), 10:350, 14:650. */
    p.n = 0;
    r.pairs_per_loan = 3;
    CHECK(history_add(&h, 21, RECORD_IDS_NONE, 650, &r, pair_cb, &p) == LOAN_NEW);
    CHECK(p.n == 3);
    CHECK(p.other[0] == 12 && p.other[1] == 20 && p.other[2] == 11);

    /* The window bounds the distance, inclusive. History now 1000:10,
     * 900:11, 800:20, 700:12, 650:21, 400:13, 0:14; a loan at 500. */
    p.n = 0;
    r.pairs_per_loan = 100;
    r.window_s = 150;
    CHECK(history_add(&h, 22, RECORD_IDS_NONE, 500, &r, pair_cb, &p) == LOAN_NEW);
    CHECK(p.n == 2);                        /* 13 (100), 21 (150); 12 is 200 away */
    CHECK(p.other[0] == 13 && p.other[1] == 21);

    /* pairs_per_loan 0: a new title that pairs with nothing. */
    p.n = 0;
    r.pairs_per_loan = 0;
    r.window_s = 1000000;
    CHECK(history_add(&h, 23, RECORD_IDS_NONE, 1001, &r, pair_cb, &p) == LOAN_NEW);
    CHECK(p.n == 0);

    /* Newer than everything: pairs walk only towards older entries. */
    p.n = 0;
    r.pairs_per_loan = 2;
    CHECK(history_add(&h, 24, RECORD_IDS_NONE, 5000, &r, pair_cb, &p) == LOAN_NEW);
    CHECK(p.n == 2 && p.other[0] == 23 && p.other[1] == 10);
    /* Older than everything: only towards newer ones. */
    p.n = 0;
    CHECK(history_add(&h, 25, RECORD_IDS_NONE, -10, &r, pair_cb, &p) == LOAN_NEW);
    CHECK(p.n == 2 && p.other[0] == 14 && p.other[1] == 13);
    history_free(&h);
}

TEST(history_pair_failure_leaves_history_unchanged)
{
    struct history h = {0};
    struct paired p = {0};
    struct strbuf sb = {0};
    CHECK(history_add(&h, 1, RECORD_IDS_NONE, 100, &wide, pair_cb, &p) == LOAN_NEW);
    CHECK(history_add(&h, 2, RECORD_IDS_NONE, 200, &wide, pair_cb, &p) == LOAN_NEW);
    p.n = 0;
    p.fail_at = 2;
    CHECK(history_add(&h, 3, RECORD_IDS_NONE, 150, &wide, pair_cb, &p) == -1);
    CHECK(p.n == 1);
    CHECK_STR(show(&h, &sb), "200:2,100:1");
    p.fail_at = 0;
    p.n = 0;
    CHECK(history_add(&h, 3, RECORD_IDS_NONE, 150, &wide, pair_cb, &p) == LOAN_NEW);    /* still new */
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
        CHECK(history_add(&h, i, RECORD_IDS_NONE, 100 * i, &r, pair_cb, &p) == LOAN_NEW);
    CHECK_STR(show(&h, &sb), "500:5,400:4,300:3");      /* the oldest go */
    /* A loan older than the oldest of a full history is stale: no
     * pairs, no change. */
    p.n = 0;
    CHECK(history_add(&h, 1, RECORD_IDS_NONE, 100, &r, pair_cb, &p) == LOAN_STALE);
    CHECK(history_add(&h, 7, RECORD_IDS_NONE, 299, &r, pair_cb, &p) == LOAN_STALE);
    CHECK(p.n == 0);
    CHECK_STR(show(&h, &sb), "500:5,400:4,300:3");
    /* At the oldest one's very time it is new (a tie is no replay): it
     * goes before it and the oldest goes. */
    CHECK(history_add(&h, 7, RECORD_IDS_NONE, 300, &r, pair_cb, &p) == LOAN_NEW);
    CHECK(p.n == 3);                                    /* 3, 4, 5 */
    CHECK_STR(show(&h, &sb), "500:5,400:4,300:7");
    /* A title still held is a repeat, however old the loan. */
    CHECK(history_add(&h, 4, RECORD_IDS_NONE, 10, &r, pair_cb, &p) == LOAN_REPEAT);
    /* An older loan that still fits pushes out the oldest. */
    p.n = 0;
    CHECK(history_add(&h, 6, RECORD_IDS_NONE, 301, &r, pair_cb, &p) == LOAN_NEW);
    CHECK(p.n == 3);                                    /* 7, 4, 5 */
    CHECK_STR(show(&h, &sb), "500:5,400:4,301:6");

    /* ttl: entries more than ttl_s before the newest go; exactly ttl_s stays. */
    history_clear(&h);
    r.max_entries = 100;
    r.ttl_s = 1000;
    CHECK(history_add(&h, 1, RECORD_IDS_NONE, 1000, &r, pair_cb, &p) == LOAN_NEW);
    CHECK(history_add(&h, 2, RECORD_IDS_NONE, 1500, &r, pair_cb, &p) == LOAN_NEW);
    CHECK(history_add(&h, 3, RECORD_IDS_NONE, 2000, &r, pair_cb, &p) == LOAN_NEW);
    CHECK_STR(show(&h, &sb), "2000:3,1500:2,1000:1");
    CHECK(history_add(&h, 4, RECORD_IDS_NONE, 2001, &r, pair_cb, &p) == LOAN_NEW);
    CHECK_STR(show(&h, &sb), "2001:4,2000:3,1500:2");
    CHECK(history_add(&h, 5, RECORD_IDS_NONE, 3000, &r, pair_cb, &p) == LOAN_NEW);
    CHECK_STR(show(&h, &sb), "3000:5,2001:4,2000:3");
    /* More than ttl_s before the newest: stale; exactly ttl_s: new. */
    p.n = 0;
    CHECK(history_add(&h, 7, RECORD_IDS_NONE, 1999, &r, pair_cb, &p) == LOAN_STALE);
    CHECK(p.n == 0);
    CHECK(history_add(&h, 7, RECORD_IDS_NONE, 2000, &r, pair_cb, &p) == LOAN_NEW);
    CHECK_STR(show(&h, &sb), "3000:5,2001:4,2000:7,2000:3");
    CHECK(history_add(&h, 6, RECORD_IDS_NONE, 10000, &r, pair_cb, &p) == LOAN_NEW);
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
        CHECK(history_add(&h, (uint32_t)i + 1, RECORD_IDS_NONE, when[i], &r, pair_cb, &p) == LOAN_NEW);
    first_pass = p.n;
    CHECK(first_pass == 3);             /* {2,1}, {3,2}, {3,1} */
    CHECK(h.n == 2);                    /* 1 trimmed: max_entries */
    /* Replaying the events: 1 is no longer held and is older than all
     * of the full history (stale); pairing it again would count {1,2}
     * and {1,3} twice for the same patron. */
    p.n = 0;
    for (int i = 0; i < 3; i++) {
        int rc = history_add(&h, (uint32_t)i + 1, RECORD_IDS_NONE, when[i], &r, pair_cb, &p);
        CHECK(i == 0 ? rc == LOAN_STALE : rc == LOAN_DUPLICATE);
    }
    CHECK(p.n == 0);
    CHECK(h.n == 2 && h.e[0].record == 3 && h.e[1].record == 2);

    /* The same through ttl_s: a loan more than ttl_s before the newest. */
    history_clear(&h);
    r.max_entries = 100;
    r.ttl_s = 1000;
    CHECK(history_add(&h, 1, RECORD_IDS_NONE, 5000, &r, pair_cb, &p) == LOAN_NEW);
    CHECK(history_add(&h, 2, RECORD_IDS_NONE, 4500, &r, pair_cb, &p) == LOAN_NEW);
    CHECK(history_add(&h, 3, RECORD_IDS_NONE, 6000, &r, pair_cb, &p) == LOAN_NEW);   /* 2 goes */
    CHECK(h.n == 2 && h.e[0].record == 3 && h.e[1].record == 1);
    p.n = 0;
    CHECK(history_add(&h, 2, RECORD_IDS_NONE, 4500, &r, pair_cb, &p) == LOAN_STALE);
    CHECK(history_add(&h, 3, RECORD_IDS_NONE, 6000, &r, pair_cb, &p) == LOAN_DUPLICATE);
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
    CHECK(history_add(&h, record_ids_find(nm, "f377"), RECORD_IDS_NONE, 1795343460LL, &wide, pair_cb, &p) ==
          LOAN_DUPLICATE);
    CHECK(history_add(&h, record_ids_find(nm, "a.b_c"), RECORD_IDS_NONE, 7, &wide, pair_cb, &p) == LOAN_REPEAT);
    uint32_t n9 = record_ids_intern(nm, "f9", 2);
    CHECK(history_add(&h, n9, RECORD_IDS_NONE, 1795343461LL, &wide, pair_cb, &p) == LOAN_NEW);
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
        "300 f1\n200 f2\n100 f1\n",      /* a title twice (found by fuzz_history): a new
                                         * loan would pair with it twice */
        "-9223372036854775808 f1\n",   /* no loan time (found by fuzz_history): */
        "1000000000000 f1\n",          /* history_add's arithmetic overflowed */
        "-1000000000000 f1\n",
        "100 f1 \n",                    /* a blank, no branch */
        "100 f1  CEN\n",                /* no record, or no branch */
        "100 f1 CEN NRD\n",             /* two branches */
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

/* A title's branch (its first loan's) is kept with it, read and written
 * back; lines without one, as older onloand wrote them, read alongside;
 * a repeat at another branch changes nothing. */
TEST(history_branches)
{
    static const char text[] = "300 f3 CEN\n200 f2\n100 f1 NRD\n";
    struct record_ids *nm = record_ids_new();
    struct history h = {0};
    struct strbuf sb = {0};
    struct paired p = {0};
    CHECK(history_parse(&h, text, sizeof text - 1, nm) == 0 && h.n == 3);
    if (h.n == 3) {
        CHECK_STR(record_ids_get(nm, h.e[0].branch), "CEN");
        CHECK(h.e[1].branch == RECORD_IDS_NONE);
        CHECK_STR(record_ids_get(nm, h.e[2].branch), "NRD");
        CHECK_STR(record_ids_get(nm, h.e[2].record), "f1");
    }
    uint32_t zui = record_ids_intern(nm, "ZUI", 3), f4 = record_ids_intern(nm, "f4", 2);
    CHECK(history_add(&h, record_ids_find(nm, "f1"), zui, 400, &wide, pair_cb, &p) == LOAN_REPEAT);
    CHECK(history_add(&h, f4, zui, 350, &wide, pair_cb, &p) == LOAN_NEW);
    CHECK(history_encode(&h, nm, &sb) == 0);
    CHECK_STR(strbuf_cstr(&sb), "350 f4 ZUI\n300 f3 CEN\n200 f2\n100 f1 NRD\n");
    history_free(&h);
    strbuf_free(&sb);
    record_ids_free(nm);
}

/* Found by fuzz_history (ASan): a line of blanks made strtoll read on,
 * over the newline and past the len bytes it was given. */
TEST(history_parse_reads_len_bytes_only)
{
    char *text = malloc(5);         /* exactly: ASan sees a byte more */
    memcpy(text, "\r  \n\n", 5);
    struct record_ids *nm = record_ids_new();
    struct history h = {0};
    CHECK(history_parse(&h, text, 5, nm) == -1 && h.n == 0);
    memcpy(text, "\t5 a\n", 5);
    CHECK(history_parse(&h, text, 5, nm) == -1);
    history_free(&h);
    record_ids_free(nm);
    free(text);
}

/* Found by fuzz_history: a record with a NUL byte was taken whole, then
 * written back cut at the NUL, a history naming another title. */
TEST(history_parse_rejects_nul_in_record)
{
    static const char text[] = "200 f2\n100 f1\0x\n";
    struct record_ids *nm = record_ids_new();
    struct history h = {0};
    CHECK(history_parse(&h, text, sizeof text - 1, nm) == -1 && h.n == 0);
    CHECK(history_parse(&h, text, 7, nm) == 0 && h.n == 1);        /* the line before is fine */
    history_free(&h);
    record_ids_free(nm);
}

/* Pair counts of a replay: by[a][b], both ways. */
#define TITLES 24

struct tally {
    unsigned by[TITLES][TITLES];
    uint32_t record;            /* the loan being added */
};

static int tally_cb(void *arg, const uint32_t *others, size_t n)
{
    struct tally *t = arg;
    for (size_t i = 0; i < n; i++) {
        t->by[t->record][others[i]]++;
        t->by[others[i]][t->record]++;
    }
    return 0;
}

/* The pair table's runs into a tally. */
static void tally_table(const struct pair_table *pt, struct tally *t)
{
    for (size_t w = 0; w < pt->nwords; w += 2 + pt->words[w + 1]) {
        t->record = pt->words[w];
        tally_cb(t, pt->words + w + 2, pt->words[w + 1]);
    }
}

static unsigned rnd(unsigned *state)
{
    *state = *state * 1103515245u + 12345u;
    return (*state >> 16) & 0x7fff;
}

/* Loans of n random titles at random times, into h in the order given
 * (sorted by time first when in_order), their pairs tallied in counted;
 * then history_contributions of h, tallied in taken. */
static void replay_case(unsigned seed, int in_order, const struct history_rules *rules,
                        struct tally *counted, struct tally *taken)
{
    unsigned st = seed;
    long long when[80];
    uint32_t rec[80];
    size_t n = 10 + rnd(&st) % 70;
    for (size_t i = 0; i < n; i++) {
        rec[i] = rnd(&st) % TITLES;
        when[i] = rnd(&st) % 1000;
    }
    for (size_t i = 1; in_order && i < n; i++)         /* insertion sort by time */
        for (size_t j = i; j > 0 && when[j - 1] > when[j]; j--) {
            long long tw = when[j]; when[j] = when[j - 1]; when[j - 1] = tw;
            uint32_t tr = rec[j]; rec[j] = rec[j - 1]; rec[j - 1] = tr;
        }
    struct history h = {0};
    memset(counted, 0, sizeof *counted);
    memset(taken, 0, sizeof *taken);
    for (size_t i = 0; i < n; i++) {
        counted->record = rec[i];
        CHECK(history_add(&h, rec[i], RECORD_IDS_NONE, when[i], rules, tally_cb, counted) >= 0);
    }
    struct pair_table pt = {0};
    CHECK(history_contributions(&h, rules, &pt) == 0);
    tally_table(&pt, taken);
    pairs_free(&pt);
    history_free(&h);
}

TEST(history_contributions_are_what_was_counted)
{
    /* In time order, any cap and window: the same pairs, each once. */
    for (unsigned seed = 1; seed <= 200; seed++) {
        struct history_rules rules = {100, 1LL << 40, 20 + seed % 300, 1 + seed % 7};
        struct tally counted, taken;
        replay_case(seed, 1, &rules, &counted, &taken);
        CHECK(memcmp(&counted.by, &taken.by, sizeof counted.by) == 0);
        for (int a = 0; a < TITLES; a++)
            for (int b = 0; b < TITLES; b++)
                CHECK(taken.by[a][b] <= 1);
    }
    /* In any order, while no loan meets the cap (pairs_per_loan >=
     * history_max, as by default): the same too. */
    for (unsigned seed = 1; seed <= 200; seed++) {
        struct history_rules rules = {TITLES, 1LL << 40, 20 + seed % 300, TITLES};
        struct tally counted, taken;
        replay_case(seed, 0, &rules, &counted, &taken);
        CHECK(memcmp(&counted.by, &taken.by, sizeof counted.by) == 0);
    }
}

TEST(history_contributions_of_what_the_history_holds)
{
    /* A title trimmed off (history_max 2) took its pairs' record with it:
     * the contributions are those among the titles still held. */
    struct history_rules rules = {2, 1LL << 40, 1LL << 40, 100};
    struct history h = {0};
    struct tally counted = {0}, taken = {0};
    uint32_t recs[3] = {1, 2, 3};
    for (int i = 0; i < 3; i++) {
        counted.record = recs[i];
        CHECK(history_add(&h, recs[i], RECORD_IDS_NONE, 100 + i, &rules, tally_cb, &counted) == LOAN_NEW);
    }
    CHECK(h.n == 2);
    CHECK(counted.by[1][2] == 1 && counted.by[1][3] == 1 && counted.by[2][3] == 1);
    struct pair_table pt = {0};
    CHECK(history_contributions(&h, &rules, &pt) == 0);
    tally_table(&pt, &taken);
    CHECK(taken.by[2][3] == 1 && taken.by[3][2] == 1);
    CHECK(taken.by[1][2] == 0 && taken.by[1][3] == 0);
    pairs_free(&pt);
    /* an empty history added nothing */
    struct history none = {0};
    CHECK(history_contributions(&none, &rules, &pt) == 0 && pt.n == 0);
    pairs_free(&pt);
    history_free(&h);
}

int main(void)
{
    RUN(history_new_repeat_duplicate);
    RUN(history_pairs_nearest_within_window_capped);
    RUN(history_pair_failure_leaves_history_unchanged);
    RUN(history_trimmed_to_max_entries_and_ttl);
    RUN(history_replay_counts_no_pair_twice);
    RUN(history_parse_encode_round_trip);
    RUN(history_parse_rejects_malformed);
    RUN(history_parse_rejects_nul_in_record);
    RUN(history_parse_reads_len_bytes_only);
    RUN(history_branches);
    RUN(history_contributions_are_what_was_counted);
    RUN(history_contributions_of_what_the_history_holds);
    printf("%d failed\n", unit_failures);
    return unit_failures != 0;
}
