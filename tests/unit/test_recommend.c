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

static const enum reason default_order[] = {REASON_ALSO_BORROWED, REASON_SAME_AUTHOR,
                                            REASON_SAME_SUBJECT, REASON_POPULAR};
#define DEFAULT_ORDER default_order, 4

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
    size_t k = recommend_select(c, bibs, n, DEFAULT_ORDER, "CEN", 5, out);
    CHECK(k == 3);
    CHECK_STR(out[0].bib->id, "c");     /* at the branch */
    CHECK(out[0].at_branch);
    CHECK_STR(out[1].bib->id, "a");     /* co-occurrence before popularity */
    CHECK_STR(out[2].bib->id, "d");
    k = recommend_select(c, bibs, n, DEFAULT_ORDER, "CEN", 2, out);
    CHECK(k == 2 && strcmp(out[1].bib->id, "a") == 0);
    k = recommend_select(c, bibs, n, DEFAULT_ORDER, NULL, 5, out);
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
    CHECK(recommend_select(c, bibs, n, DEFAULT_ORDER, NULL, 4, out) == 4);
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

/* A catalogue's order: the same author first, subjects not used; a
 * co-occurring title by that author goes with the author's titles, first
 * among them by its score, and keeps its reason. */
TEST(reasons_in_the_catalogue_order)
{
    static const struct {
        const char *record;
        double score;
        enum reason reason;
    } found[] = {
        {"o", 0.5, REASON_ALSO_BORROWED}, {"oa", 0.2, REASON_ALSO_BORROWED},
        {"p", 0.9, REASON_POPULAR}, {"a", 0.0, REASON_SAME_AUTHOR},
        {"s", 0.0, REASON_SAME_SUBJECT},
    };
    struct candidate *c = NULL;
    size_t n = 0;
    struct bib *bibs[5];
    for (size_t i = 0; i < 5; i++) {
        CHECK(candidates_add(&c, &n, "w", found[i].record, found[i].score, found[i].reason) == 0);
        bibs[i] = bib_with(found[i].record, "CEN", COPY_AVAILABLE);
    }
    CHECK(n == 5 && c[0].found_by == 1u << REASON_ALSO_BORROWED);
    c[1].found_by |= 1u << REASON_SAME_AUTHOR;      /* the author search found it too */
    static const enum reason order[] = {REASON_SAME_AUTHOR, REASON_ALSO_BORROWED,
                                        REASON_POPULAR};
    CHECK(reason_group(c[1].found_by, order, 3) == 0);
    CHECK(reason_group(c[4].found_by, order, 3) == 3);      /* not in the order */
    struct alternative out[5];
    CHECK(recommend_select(c, bibs, n, order, 3, NULL, 5, out) == 4);
    CHECK_STR(out[0].bib->id, "oa");
    CHECK_STR(reason_name(out[0].reason), "also_borrowed");
    CHECK_STR(out[1].bib->id, "a");
    CHECK_STR(out[2].bib->id, "o");
    CHECK_STR(out[3].bib->id, "p");
    /* the default order: the same title with the co-occurring ones */
    CHECK(recommend_select(c, bibs, n, DEFAULT_ORDER, NULL, 5, out) == 5);
    CHECK_STR(out[0].bib->id, "o");
    CHECK_STR(out[1].bib->id, "oa");
    CHECK_STR(out[2].bib->id, "a");
    CHECK_STR(out[3].bib->id, "s");
    CHECK_STR(out[4].bib->id, "p");
    for (int i = 0; i < 5; i++)
        bib_unref(bibs[i]);
    candidates_free(c, n);
}

int main(void)
{
    RUN(only_available_branch_first_then_reason_then_score);
    RUN(reasons_in_their_order);
    RUN(reasons_in_the_catalogue_order);
    return unit_failures != 0;
}
