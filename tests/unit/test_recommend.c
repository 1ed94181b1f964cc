/* test_recommend.c: which alternatives are shown, in which order. */
#include <stdlib.h>

#include "model/recommend.h"
#include "unit.h"

static struct bib *bib_with(const char *id, const char *branch, enum copy_status st)
{
    struct bib *b = calloc(1, sizeof *b);
    b->refs = 1;
    b->id = strdup(id);
    b->title = strdup(id);
    b->copies = calloc(1, sizeof *b->copies);
    b->ncopies = 1;
    b->copies[0].branch = strdup(branch);
    b->copies[0].status = st;
    return b;
}

TEST(only_available_branch_first_then_reason_then_score)
{
    struct candidate *c = NULL;
    size_t n = 0;
    CHECK(candidates_add(&c, &n, "w", "a", 0.9, REASON_ALSO_BORROWED) == 0);
    CHECK(candidates_add(&c, &n, "w", "b", 0.8, REASON_ALSO_BORROWED) == 0);
    CHECK(candidates_add(&c, &n, "w", "w", 1.0, REASON_ALSO_BORROWED) == 0);  /* the wanted one */
    CHECK(candidates_add(&c, &n, "w", "a", 0.1, REASON_POPULAR) == 0);        /* duplicate */
    CHECK(candidates_add(&c, &n, "w", "c", 0.5, REASON_ALSO_BORROWED) == 0);
    CHECK(candidates_add(&c, &n, "w", "d", 0.95, REASON_POPULAR) == 0);
    CHECK(candidates_add(&c, &n, "w", "e", 0.7, REASON_ALSO_BORROWED) == 0);
    CHECK(n == 5);
    struct bib *bibs[5] = {
        bib_with("a", "NRD", COPY_AVAILABLE),
        bib_with("b", "CEN", COPY_ON_LOAN),         /* not on the shelf: never shown */
        bib_with("c", "CEN", COPY_AVAILABLE),
        bib_with("d", "ZUI", COPY_AVAILABLE),
        NULL,                                       /* not in the catalogue */
    };
    struct alternative out[5];
    size_t k = recommend_select(c, bibs, n, "CEN", 5, out);
    CHECK(k == 3);
    CHECK_STR(out[0].bib->id, "c");     /* at the branch */
    CHECK(out[0].at_branch);
    CHECK_STR(out[1].bib->id, "a");     /* co-occurrence before popularity */
    CHECK_STR(out[2].bib->id, "d");
    k = recommend_select(c, bibs, n, "CEN", 2, out);
    CHECK(k == 2 && strcmp(out[1].bib->id, "a") == 0);
    k = recommend_select(c, bibs, n, NULL, 5, out);
    CHECK(k == 3 && strcmp(out[0].bib->id, "a") == 0 && strcmp(out[1].bib->id, "c") == 0);
    for (int i = 0; i < 4; i++)
        bib_unref(bibs[i]);
    candidates_free(c, n);
}

TEST(reasons_in_their_order)
{
    struct candidate *c = NULL;
    size_t n = 0;
    CHECK(candidates_add(&c, &n, "w", "p", 0.9, REASON_POPULAR) == 0);
    CHECK(candidates_add(&c, &n, "w", "s", 0.0, REASON_SAME_SUBJECT) == 0);
    CHECK(candidates_add(&c, &n, "w", "a", 0.0, REASON_SAME_AUTHOR) == 0);
    CHECK(candidates_add(&c, &n, "w", "o", 0.1, REASON_ALSO_BORROWED) == 0);
    CHECK(candidates_find(c, n, "a") == 2 && candidates_find(c, n, "x") == -1);
    struct bib *bibs[4];
    for (int i = 0; i < 4; i++)
        bibs[i] = bib_with(c[i].record, "CEN", COPY_AVAILABLE);
    struct alternative out[4];
    CHECK(recommend_select(c, bibs, n, NULL, 4, out) == 4);
    CHECK_STR(out[0].bib->id, "o");
    CHECK_STR(out[1].bib->id, "a");
    CHECK_STR(out[2].bib->id, "s");
    CHECK_STR(out[3].bib->id, "p");
    CHECK_STR(reason_name(out[1].reason), "same_author");
    CHECK_STR(reason_name(out[2].reason), "same_subject");
    for (int i = 0; i < 4; i++)
        bib_unref(bibs[i]);
    candidates_free(c, n);
}

int main(void)
{
    RUN(only_available_branch_first_then_reason_then_score);
    RUN(reasons_in_their_order);
    return unit_failures != 0;
}
