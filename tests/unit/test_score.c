/* test_score.c: scoring (score.h): measures by name, a pair's score
 * under each, and the blend of a patron's records' neighbours into
 * candidates. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/dict.h"
#include "model/recommend.h"
#include "model/score.h"
#include "unit.h"

#define NEAR(x, want, tol) (fabs((x) - (want)) <= (tol))

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
    CHECK(score_candidates(nbs, weight, 2, SCORE_RAW, NULL, 0, pop, 7, 100, exclude, 1, 10, &c, &nc) == 0);
    CHECK(nc == 6);
    if (nc == 6) {
        CHECK(cand_is(&c[0], "x", 7.25, REASON_ALSO_BORROWED));
        CHECK(cand_is(&c[1], "z", 4.5, REASON_ALSO_BORROWED));
        CHECK(cand_is(&c[2], "y", 3, REASON_ALSO_BORROWED));
        CHECK(cand_is(&c[3], "p1", 0.5, REASON_POPULAR));
        CHECK(cand_is(&c[4], "p2", 0.3, REASON_POPULAR));
        CHECK(cand_is(&c[5], "p3", 1, REASON_POPULAR));
        /* the pair count with the wanted title, for the explanation: z is
         * a neighbour of the patron's other title only */
        CHECK(c[0].both == 5 && c[1].both == 0 && c[2].both == 3);
        CHECK(c[3].both == 0);
    }
    candidates_free(c, nc);

    /* max respected, best first; popular only fills up. */
    CHECK(score_candidates(nbs, weight, 2, SCORE_RAW, NULL, 0, pop, 7, 100, exclude, 1, 2, &c, &nc) == 0);
    CHECK(nc == 2);
    if (nc == 2)
        CHECK(cand_is(&c[0], "x", 7.25, REASON_ALSO_BORROWED) &&
              cand_is(&c[1], "z", 4.5, REASON_ALSO_BORROWED));
    candidates_free(c, nc);
    CHECK(score_candidates(nbs, weight, 2, SCORE_RAW, NULL, 0, pop, 7, 100, exclude, 1, 4, &c, &nc) == 0);
    CHECK(nc == 4);
    if (nc == 4)
        CHECK(cand_is(&c[2], "y", 3, REASON_ALSO_BORROWED) &&
              cand_is(&c[3], "p1", 0.5, REASON_POPULAR));
    candidates_free(c, nc);
    CHECK(score_candidates(nbs, weight, 2, SCORE_RAW, NULL, 0, pop, 7, 100, exclude, 1, 0, &c, &nc) == 0);
    CHECK(nc == 0);
    candidates_free(c, nc);

    /* Without the exclusion list, ex leads; without the second record,
     * w2 comes in on its own score and z is gone. */
    CHECK(score_candidates(nbs, weight, 1, SCORE_RAW, NULL, 0, NULL, 0, 100, NULL, 0, 10, &c, &nc) == 0);
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
    CHECK(score_candidates(rev, weight, 2, SCORE_RAW, NULL, 0, pop, 7, 100, exclude, 1, 10, &c, &nc) == 0);
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
    CHECK(score_candidates(nbs, only_first, 2, SCORE_RAW, NULL, 0, NULL, 0, 100, exclude, 1, 10, &c, &nc) ==
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
    CHECK(score_candidates(&nb, &one, 1, SCORE_LLR, NULL, 0, NULL, 0, 10030, NULL, 0, 10, &c, &nc) == 0);
    CHECK(nc == 3);
    if (nc == 3) {
        CHECK(cand_is(&c[0], "pos", llr_pos, REASON_ALSO_BORROWED));
        /* a and b score the same: by record id. */
        CHECK(cand_is(&c[1], "a", llr_ab, REASON_ALSO_BORROWED));
        CHECK(cand_is(&c[2], "b", llr_ab, REASON_ALSO_BORROWED));
    }
    candidates_free(c, nc);

    /* Cosine on the same neighbours: neg now scores. */
    CHECK(score_candidates(&nb, &one, 1, SCORE_COSINE, NULL, 0, NULL, 0, 10030, NULL, 0, 10, &c, &nc) == 0);
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
    CHECK(score_candidates(&nb, &one, 1, SCORE_LLR, NULL, 0, pop, 2, 10, NULL, 0, 10, &c, &nc) == 0);
    CHECK(nc == 2);
    if (nc == 2)
        CHECK(cand_is(&c[0], "p1", 0.7, REASON_POPULAR) && cand_is(&c[1], "p2", 0.3, REASON_POPULAR));
    candidates_free(c, nc);
    neighbours_unref(nb);

    /* No records at all: the popular list alone; no patrons: share 0. */
    CHECK(score_candidates(NULL, NULL, 0, SCORE_LLR, NULL, 0, pop, 2, 10, NULL, 0, 10, &c, &nc) == 0);
    CHECK(nc == 2);
    if (nc == 2)
        CHECK(cand_is(&c[0], "p1", 0.7, REASON_POPULAR) && cand_is(&c[1], "p2", 0.3, REASON_POPULAR));
    candidates_free(c, nc);
    CHECK(score_candidates(NULL, NULL, 0, SCORE_LLR, NULL, 0, pop, 2, 0, NULL, 0, 1, &c, &nc) == 0);
    CHECK(nc == 1);
    if (nc == 1)
        CHECK(cand_is(&c[0], "p1", 0, REASON_POPULAR));
    candidates_free(c, nc);

    /* The most borrowed at the patron's branch come before the most
     * borrowed anywhere, marked, each title once (the branch's kept). */
    static const struct neighbour here[] = {{"h1", 0, 4}, {"p2", 0, 3}};
    CHECK(score_candidates(NULL, NULL, 0, SCORE_LLR, here, 2, pop, 2, 10, NULL, 0, 10, &c, &nc) == 0);
    CHECK(nc == 3);
    if (nc == 3) {
        CHECK(cand_is(&c[0], "h1", 0.4, REASON_POPULAR) && c[0].popular_here);
        CHECK(cand_is(&c[1], "p2", 0.3, REASON_POPULAR) && c[1].popular_here);
        CHECK(cand_is(&c[2], "p1", 0.7, REASON_POPULAR) && !c[2].popular_here);
    }
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
    CHECK(score_candidates(nbs, weight, RECENT + 1, SCORE_RAW, NULL, 0, pop, POPULAR, 1000, exclude,
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
    CHECK(score_candidates(nbs, weight, RECENT + 1, SCORE_RAW, NULL, 0, pop, POPULAR, 1000, exclude,
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
    CHECK(score_candidates(nbs, weight, RECENT + 1, SCORE_RAW, NULL, 0, pop, POPULAR, 1000, exclude,
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

int main(void)
{
    RUN(score_measure_by_name);
    RUN(score_pair_values);
    RUN(score_pair_zero_and_negative);
    RUN(score_candidates_blend_exclude_fill);
    RUN(score_candidates_measure_ties_and_popular_only);
    RUN(score_candidates_exclude_large_history_exactly);
    printf("%d failed\n", unit_failures);
    return unit_failures != 0;
}
