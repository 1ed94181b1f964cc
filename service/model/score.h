/* score.h: how strongly "patrons who borrowed A also borrowed B".
 *
 * From the pair count (distinct patrons who borrowed both, both), the
 * records' own counts (distinct borrowers, a and b) and the number of
 * patrons (n), one of:
 *   raw      both
 *   cosine   both / sqrt(a * b)
 *   jaccard  both / (a + b - both)
 *   llr      Dunning's log-likelihood ratio G^2 of the 2x2 table
 *            (both, a - both, b - both, n - a - b + both); 0 when B is
 *            borrowed less often with A than without it.
 * The measure is chosen per catalogue (tenant) in the config, llr by
 * default; the answer's score is that measure's value. */
#ifndef ONLOAN_MODEL_SCORE_H
#define ONLOAN_MODEL_SCORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "model/recommend.h"


/* Returns -1 for an unknown name. */
int score_measure_parse(const char *name, enum score_measure *out);
const char *score_measure_name(enum score_measure m);
double score_pair(enum score_measure m, double both, double a, double b, double n);

/* What the model knows around one record (read by model.h). */
struct neighbour {
    char *record;               /* owned */
    uint32_t both;              /* distinct patrons who borrowed it and the record */
    uint32_t borrowers;         /* distinct patrons who borrowed it */
};

struct neighbours {
    int refs;
    uint64_t fetched_ms;
    char *record;               /* owned */
    uint32_t borrowers;
    uint32_t queue;             /* holds waiting for it (q:<record>, ingest) */
    struct neighbour *list;     /* shared by >= min_patrons; most shared first */
    size_t n;
};

struct neighbours *neighbours_ref(struct neighbours *nb);
void neighbours_unref(struct neighbours *nb);
/* Frees list[0 .. n) and their records. */
void neighbour_list_free(struct neighbour *list, size_t n);

/* The weight of a patron's i-th most recent title (0-based, the wanted
 * one left out) in the blend below: 1 / (i + 2), the wanted title
 * itself weighing 1. */
double score_recent_weight(size_t i);

/* Candidates for a patron who came for nbs[0]->record, blending the
 * neighbours of several records: score(c) = sum over i of weight[i]
 * times the measure between nbs[i]->record and c divided by the best
 * measure among nbs[i]'s neighbours (so each title's scores run up to 1
 * and weight[i] alone says how much it counts), then multiplied back by
 * nbs[0]'s best measure over weight[0]: with one title, a candidate's
 * score is exactly the measure; blended, it is in the wanted title's units. Candidates with a positive score
 * come first (REASON_ALSO_BORROWED, best first), then records of
 * popular_here (the most borrowed at the patron's branch, most first;
 * REASON_POPULAR with popular_here set, score = the share of patrons who
 * borrowed it there) and of popular (most borrowed anywhere, most first;
 * REASON_POPULAR, score = the share of patrons who borrowed it) to reach
 * max. An also_borrowed candidate's both is its
 * pair count with nbs[0]->record (0 when it is a neighbour of the other
 * titles only). patrons is the model's number of patrons:
 * n of every measure and the popular share's denominator. Records in
 * nbs[i]->record and in exclude (n_exclude, may be NULL) are left out.
 * Returns -1 when out of memory. */
int score_candidates(struct neighbours *const *nbs, const double *weight, size_t n,
                     enum score_measure m, const struct neighbour *popular_here,
                     size_t npopular_here, const struct neighbour *popular, size_t npopular,
                     uint64_t patrons, const char *const *exclude, size_t n_exclude,
                     size_t max, struct candidate **out, size_t *nout);

#endif
