/* recommend.h: from candidate titles to the alternatives shown.
 *
 * Candidates come from loan co-occurrence ("also_borrowed") and, to fill
 * up, from the catalogue (the wanted title's author, "same_author", then
 * its subject headings in turn, "same_subject") and overall popularity ("popular"). Only a
 * candidate with a copy available now, per the catalogue, is shown; those
 * at the patron's branch come first, then by reason in the catalogue's
 * order (config.h: the order above unless it says otherwise; a title
 * found for several reasons goes with the first of them in that order),
 * then by score.
 *
 * Scores: also_borrowed = the catalogue's measure (score.h: raw, cosine,
 * jaccard or llr; with a patron's history, blended in the wanted title's
 * units); popular, same_author and same_subject = share of all patrons
 * who borrowed the candidate (0 when fewer than privacy.min_patrons did,
 * or when it could not be read: then the catalogue's order stays), so
 * that an author's or a subject's most borrowed titles come first. */
#ifndef ONLOAN_MODEL_RECOMMEND_H
#define ONLOAN_MODEL_RECOMMEND_H

#include <stddef.h>
#include <stdint.h>

#include "catalogue/holdings.h"
#include "core/config.h"

struct candidate {
    char *record;       /* owned */
    double score;
    enum reason reason; /* what its explanation says */
    unsigned found_by;  /* 1u << each reason it was found for (reason's at least) */
    uint32_t both;      /* also_borrowed: patrons who borrowed it and the wanted title
                         * (>= privacy.min_patrons), 0 when it came from the patron's
                         * other titles only; else 0 */
    int popular_here;   /* popular: among the most borrowed at the patron's branch */
    size_t subject;     /* same_subject: which of the wanted title's subjects found it */
};

struct alternative {
    struct bib *bib;    /* borrowed from the caller's lookup results */
    double score;
    enum reason reason;
    size_t group;       /* where it goes by reason: reason_group() */
    int at_branch;
    uint32_t both;      /* as the candidate's */
    int popular_here;   /* as the candidate's */
    size_t subject;     /* as the candidate's */
};

const char *reason_name(enum reason r);

/* Where a candidate found for the reasons in found_by goes in the order
 * (order[0] first): the place of the first of them there, or norder when
 * none is in it (it is not shown). */
size_t reason_group(unsigned found_by, const enum reason *order, size_t norder);

/* Adds a candidate unless its record is the wanted one or already there.
 * Returns -1 when out of memory. */
int candidates_add(struct candidate **list, size_t *n, const char *wanted,
                   const char *record, double score, enum reason reason);
/* Index of record in list, or -1. */
long candidates_find(const struct candidate *list, size_t n, const char *record);
void candidates_free(struct candidate *list, size_t n);

/* bibs[i] is the catalogue's record for cands[i], or NULL if it could not
 * be looked up. Fills out (room for limit) and returns how many; a
 * candidate of no reason in order is left out. */
size_t recommend_select(const struct candidate *cands, struct bib *const *bibs, size_t n,
                        const enum reason *order, size_t norder, const char *branch,
                        size_t limit, struct alternative *out);

#endif
