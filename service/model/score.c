/* score.c: see score.h. */
#include "model/score.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/dict.h"

int score_measure_parse(const char *name, enum score_measure *out)
{
    for (size_t i = 0; score_measure_names[i]; i++) {
        if (strcmp(name, score_measure_names[i]) == 0) {
            *out = (enum score_measure)i;
            return 0;
        }
    }
    return -1;
}

const char *score_measure_name(enum score_measure m)
{
    return score_measure_names[m];
}

static double xlogx(double x)
{
    return x > 0 ? x * log(x) : 0;
}

/* G^2 = 2 * (sum over cells k log k - rows and columns likewise + N log N),
 * written as Dunning/Mahout do with "unnormalised entropies". */
static double llr(double k11, double k12, double k21, double k22)
{
    double row = xlogx(k11 + k12 + k21 + k22) - xlogx(k11 + k12) - xlogx(k21 + k22);
    double col = xlogx(k11 + k12 + k21 + k22) - xlogx(k11 + k21) - xlogx(k12 + k22);
    double mat = xlogx(k11 + k12 + k21 + k22) - xlogx(k11) - xlogx(k12) - xlogx(k21) - xlogx(k22);
    double g2 = 2 * (row + col - mat);
    return g2 > 0 ? g2 : 0;
}

double score_pair(enum score_measure m, double both, double a, double b, double n)
{
    if (both <= 0 || a <= 0 || b <= 0)
        return 0;
    /* Counts come from different keys written at different moments:
     * keep the table consistent. */
    if (a < both) a = both;
    if (b < both) b = both;
    if (n < a + b - both) n = a + b - both;
    switch (m) {
    case SCORE_RAW:
        return both;
    case SCORE_COSINE:
        return both / sqrt(a * b);
    case SCORE_JACCARD:
        return both / (a + b - both);
    case SCORE_LLR:
        /* Only a positive association is a reason to suggest B. */
        if (n <= a || both / a <= (b - both) / (n - a))
            return 0;
        return llr(both, a - both, b - both, n - a - b + both);
    }
    return 0;
}

double score_recent_weight(size_t i)
{
    return 1.0 / (double)(i + 2);
}

struct neighbours *neighbours_ref(struct neighbours *nb)
{
    nb->refs++;
    return nb;
}

void neighbour_list_free(struct neighbour *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i].record);
    free(list);
}

void neighbours_unref(struct neighbours *nb)
{
    if (!nb || --nb->refs > 0)
        return;
    neighbour_list_free(nb->list, nb->n);
    free(nb->record);
    free(nb);
}

struct scored {
    const char *record;         /* borrowed from a neighbours list */
    double score;
    uint32_t both;              /* its pair count with the wanted title (nbs[0]), or 0 */
};

static int by_score(const void *x, const void *y)
{
    const struct scored *a = x, *b = y;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return strcmp(a->record, b->record);
}

/* The records never to return, as a set: the ones asked about and the
 * exclude list (a patron's whole history: up to privacy.history_max,
 * 10,000 titles, each of which a linear search would compare with every
 * candidate). NULL when out of memory. */
static struct dict *left_out(struct neighbours *const *nbs, size_t n, const char *const *exclude,
                             size_t n_exclude)
{
    struct dict *set = dict_new();
    for (size_t i = 0; set && i < n + n_exclude; i++) {
        if (dict_set(set, i < n ? nbs[i]->record : exclude[i - n], (void *)1, NULL) < 0) {
            dict_free(set, NULL);
            return NULL;
        }
    }
    return set;
}

int score_candidates(struct neighbours *const *nbs, const double *weight, size_t n,
                     enum score_measure m, const struct neighbour *popular_here,
                     size_t npopular_here, const struct neighbour *popular, size_t npopular,
                     uint64_t patrons, const char *const *exclude, size_t n_exclude,
                     size_t max, struct candidate **out, size_t *nout)
{
    struct dict *at = dict_new();       /* record -> index + 1 in sc */
    struct dict *skip = left_out(nbs, n, exclude, n_exclude);
    size_t total = 0, longest = 0, nsc = 0;
    for (size_t i = 0; i < n; i++) {
        total += nbs[i]->n;
        longest = nbs[i]->n > longest ? nbs[i]->n : longest;
    }
    struct scored *sc = malloc((total ? total : 1) * sizeof *sc);
    double *val = malloc((longest ? longest : 1) * sizeof *val);     /* one title's measures */
    double unit = 0;            /* the wanted title's best measure */
    int rc = -1;
    const char *wanted = n ? nbs[0]->record : "";
    *out = NULL;
    *nout = 0;
    if (!at || !skip || !sc || !val)
        goto done;
    for (size_t i = 0; i < n; i++) {
        const struct neighbours *nb = nbs[i];
        /* Each title's scores are scaled to its best neighbour's, so that
         * weight[i] says how much title i counts whatever the measure's
         * range (G^2 grows with the counts, cosine does not). */
        double best = 0;
        for (size_t j = 0; j < nb->n; j++) {
            const struct neighbour *e = &nb->list[j];
            val[j] = score_pair(m, e->both, nb->borrowers, e->borrowers, (double)patrons);
            best = val[j] > best ? val[j] : best;
        }
        if (i == 0)
            unit = best;
        for (size_t j = 0; best > 0 && j < nb->n; j++) {
            const struct neighbour *e = &nb->list[j];
            double s = weight[i] / best * val[j];
            if (s <= 0)
                continue;
            uintptr_t k = (uintptr_t)dict_get(at, e->record);
            if (k) {
                sc[k - 1].score += s;
            } else {
                if (dict_set(at, e->record, (void *)(uintptr_t)(nsc + 1), NULL) < 0)
                    goto done;
                sc[nsc++] = (struct scored){e->record, s, i == 0 ? e->both : 0};
            }
        }
    }
    /* Back in the measure's own units: those of the wanted title, whose
     * weight is 1 (alone, a candidate's score is the measure itself). */
    for (size_t i = 0; unit > 0 && i < nsc; i++)
        sc[i].score *= unit / weight[0];
    if (nsc)
        qsort(sc, nsc, sizeof *sc, by_score);
    for (size_t i = 0; i < nsc && *nout < max; i++) {
        size_t before = *nout;
        if (!dict_get(skip, sc[i].record) &&
            candidates_add(out, nout, wanted, sc[i].record, sc[i].score, REASON_ALSO_BORROWED) < 0)
            goto done;
        if (*nout > before)
            (*out)[before].both = sc[i].both;
    }
    for (size_t j = 0; j < npopular_here && *nout < max; j++) {
        const struct neighbour *e = &popular_here[j];
        double share = patrons ? (double)e->borrowers / (double)patrons : 0;
        size_t before = *nout;
        if (!dict_get(skip, e->record) &&
            candidates_add(out, nout, wanted, e->record, share > 1 ? 1 : share, REASON_POPULAR) < 0)
            goto done;
        if (*nout > before)
            (*out)[before].popular_here = 1;
    }
    for (size_t j = 0; j < npopular && *nout < max; j++) {
        const struct neighbour *e = &popular[j];
        double share = patrons ? (double)e->borrowers / (double)patrons : 0;
        if (!dict_get(skip, e->record) &&
            candidates_add(out, nout, wanted, e->record, share > 1 ? 1 : share, REASON_POPULAR) < 0)
            goto done;
    }
    rc = 0;
done:
    if (rc < 0) {
        candidates_free(*out, *nout);
        *out = NULL;
        *nout = 0;
    }
    dict_free(at, NULL);
    dict_free(skip, NULL);
    free(sc);
    free(val);
    return rc;
}
