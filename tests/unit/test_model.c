/* test_model.c: reading the loan model (model.h): the popular list, as
 * the daemon and eval read it, and the borrowers of searched titles. */
#include <stdint.h>

#include "model/model.h"
#include "unit.h"

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

TEST(borrowers_parse_hides_counts_below_k)
{
    /* ZMSCORE pop a b c d e: scores as Redis prints them, nil for a title
     * nobody borrowed */
    redisReply e[5] = {str_reply("12"), str_reply("2"), {.type = REDIS_REPLY_NIL},
                       str_reply("3"), str_reply("1e+12")};
    redisReply *el[5];
    for (size_t i = 0; i < 5; i++)
        el[i] = &e[i];
    redisReply arr = {.type = REDIS_REPLY_ARRAY, .elements = 5, .element = el};
    uint32_t out[5] = {9, 9, 9, 9, 9};
    CHECK(model_borrowers_parse(&arr, 5, 3, out) == 0);
    /* 2 < k reads as 0 (an order must not tell 2 from 0), 3 = k counts */
    CHECK(out[0] == 12 && out[1] == 0 && out[2] == 0 && out[3] == 3 && out[4] == UINT32_MAX);
    CHECK(model_borrowers_parse(&arr, 5, 1, out) == 0 && out[1] == 2);
    /* other shapes leave out as it was: another count, an element of
     * another type, an error reply */
    uint32_t kept[5] = {7, 7, 7, 7, 7};
    CHECK(model_borrowers_parse(&arr, 4, 1, kept) == -1 && kept[0] == 7);
    e[4] = (redisReply){.type = REDIS_REPLY_INTEGER, .integer = 3};
    CHECK(model_borrowers_parse(&arr, 5, 1, kept) == -1 && kept[0] == 7);
    redisReply err = {.type = REDIS_REPLY_ERROR, .len = 9, .str = (char *)"WRONGTYPE"};
    CHECK(model_borrowers_parse(&err, 5, 1, kept) == -1 && kept[0] == 7);
}

int main(void)
{
    RUN(popular_parse_stops_below_k_and_refuses_other_shapes);
    RUN(borrowers_parse_hides_counts_below_k);
    printf("%d failed\n", unit_failures);
    return unit_failures != 0;
}
