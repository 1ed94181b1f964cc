/* recommend.h: from candidate titles to the alternatives shown.
 *
 * Candidates come from loan co-occurrence ("also_borrowed") and, to fill
 * up, from the catalogue (the wanted title's author, "same_author", then
 * its subject, "same_subject") and overall popularity ("popular"). Only a
 * candidate with a copy available now, per the catalogue, is shown; those
 * at the patron's branch come first, then by reason in that order, then
 * by score.
 *
 * Scores: also_borrowed = the catalogue's measure (score.h: raw, cosine,
 * jaccard or llr; with a patron's history, blended in the wanted title's
 * units); popular = share of all patrons who borrowed the candidate;
 * same_author and same_subject have no measure: 0. */
#ifndef ONLOAN_MODEL_RECOMMEND_H
#define ONLOAN_MODEL_RECOMMEND_H

#include <stddef.h>
#include <stdint.h>

#include "catalogue/holdings.h"

/* In the order they are shown (after the branch). */
enum reason { REASON_ALSO_BORROWED, REASON_SAME_AUTHOR, REASON_SAME_SUBJECT, REASON_POPULAR };

struct candidate {
    char *record;       /* owned */
    double score;
    enum reason reason;
    uint32_t both;      /* also_borrowed: patrons who borrowed it and the wanted title
                         * (>= privacy.min_patrons), 0 when it came from the patron's
                         * other titles only; else 0 */
};

struct alternative {
    struct bib *bib;    /* borrowed from the caller's lookup results */
    double score;
    enum reason reason;
    int at_branch;
    uint32_t both;      /* as the candidate's */
};

const char *reason_name(enum reason r);

/* Adds a candidate unless its record is the wanted one or already there.
 * Returns -1 when out of memory. */
int candidates_add(struct candidate **list, size_t *n, const char *wanted,
                   const char *record, double score, enum reason reason);
/* Index of record in list, or -1. */
long candidates_find(const struct candidate *list, size_t n, const char *record);
void candidates_free(struct candidate *list, size_t n);

/* bibs[i] is the catalogue's record for cands[i], or NULL if it could not
 * be looked up. Fills out (room for limit) and returns how many. */
size_t recommend_select(const struct candidate *cands, struct bib *const *bibs, size_t n,
                        const char *branch, size_t limit, struct alternative *out);

#endif
