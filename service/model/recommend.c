/* recommend.c: filtering and ordering alternatives; see recommend.h. */
#include "model/recommend.h"

#include <stdlib.h>
#include <string.h>

const char *reason_name(enum reason r)
{
    return (unsigned)r < NREASONS ? reason_names[r] : "unknown";
}

size_t reason_group(unsigned found_by, const enum reason *order, size_t norder)
{
    size_t i = 0;
    while (i < norder && !(found_by & (1u << order[i])))
        i++;
    return i;
}

long candidates_find(const struct candidate *list, size_t n, const char *record)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i].record, record) == 0)
            return (long)i;
    return -1;
}

int candidates_add(struct candidate **list, size_t *n, const char *wanted,
                   const char *record, double score, enum reason reason)
{
    if (strcmp(record, wanted) == 0 || candidates_find(*list, *n, record) >= 0)
        return 0;
    struct candidate *l = realloc(*list, (*n + 1) * sizeof *l);
    if (!l)
        return -1;
    *list = l;
    if (!(l[*n].record = strdup(record)))
        return -1;
    l[*n].score = score;
    l[*n].reason = reason;
    l[*n].found_by = 1u << reason;
    l[*n].both = 0;
    l[*n].popular_here = 0;
    l[*n].subject = 0;
    (*n)++;
    return 0;
}

void candidates_free(struct candidate *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i].record);
    free(list);
}

/* Branch first, then reason (its group), then popular at the branch
 * before popular anywhere, then score; ties keep candidate order. */
static int alternative_before(const struct alternative *a, const struct alternative *b)
{
    if (a->at_branch != b->at_branch)
        return a->at_branch > b->at_branch;
    if (a->group != b->group)
        return a->group < b->group;
    if (a->popular_here != b->popular_here)
        return a->popular_here > b->popular_here;
    return a->score > b->score;
}

size_t recommend_select(const struct candidate *cands, struct bib *const *bibs, size_t n,
                        const enum reason *order, size_t norder, const char *branch,
                        size_t limit, struct alternative *out)
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        size_t group = reason_group(cands[i].found_by, order, norder);
        if (!bibs[i] || !bib_available(bibs[i], NULL) || group == norder)
            continue;
        struct alternative alt = {bibs[i], cands[i].score, cands[i].reason, group,
                                  branch && bib_available(bibs[i], branch), cands[i].both,
                                  cands[i].popular_here, cands[i].subject};
        /* Insertion into the sorted top `limit`: n is small (max_candidates). */
        size_t pos = kept;
        while (pos > 0 && alternative_before(&alt, &out[pos - 1]))
            pos--;
        if (pos >= limit)
            continue;
        size_t last = kept < limit ? kept : limit - 1;
        memmove(&out[pos + 1], &out[pos], (last - pos) * sizeof *out);
        out[pos] = alt;
        if (kept < limit)
            kept++;
    }
    return kept;
}
