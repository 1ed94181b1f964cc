/* test_catalogue_query.c: the queries the catalogue sends
 * (catalogue_query.h): id lookups as Z39.50 (plain or regular-expression
 * terms) and SRU, and searches by author or subject. */
#include "catalogue/catalogue_query.h"
#include "core/strbuf.h"
#include "unit.h"

TEST(catalogue_queries)
{
    const char *ids[] = {"b1", "03-0018137", "f356"};
    struct strbuf q = {0};
    CHECK(catalogue_build_query(CATALOGUE_Z3950, ID_QUERY_OR, ids, 1, &q) == 0);
    CHECK_STR(strbuf_cstr(&q), "@attr 1=12 @attr 4=3 \"b1\"");
    strbuf_reset(&q);
    CHECK(catalogue_build_query(CATALOGUE_Z3950, ID_QUERY_OR, ids, 3, &q) == 0);
    CHECK_STR(strbuf_cstr(&q), "@or @or @attr 1=12 @attr 4=3 \"b1\" "
              "@attr 1=12 @attr 4=3 \"03-0018137\" @attr 1=12 @attr 4=3 \"f356\"");
    strbuf_reset(&q);
    CHECK(catalogue_build_query(CATALOGUE_SRU, ID_QUERY_OR, ids, 2, &q) == 0);
    CHECK_STR(strbuf_cstr(&q), "rec.id==\"b1\" or rec.id==\"03-0018137\"");
    strbuf_reset(&q);
    /* SRU has no regular expressions: the ids are ORed whatever id_query says */
    CHECK(catalogue_build_query(CATALOGUE_SRU, ID_QUERY_REGEX, ids, 2, &q) == 0);
    CHECK_STR(strbuf_cstr(&q), "rec.id==\"b1\" or rec.id==\"03-0018137\"");
    strbuf_reset(&q);
    CHECK(catalogue_build_query(CATALOGUE_Z3950, ID_QUERY_REGEX, ids, 1, &q) == 0);
    CHECK_STR(strbuf_cstr(&q), "@attr 1=12 @attr 4=3 @attr 5=102 \"b1\"");
    strbuf_reset(&q);
    /* '.' and '-' are bracketed; '_' and ':' mean nothing there */
    const char *marked[] = {"b1", "03-0018137", "a.b_c:d"};
    CHECK(catalogue_build_query(CATALOGUE_Z3950, ID_QUERY_REGEX, marked, 3, &q) == 0);
    CHECK_STR(strbuf_cstr(&q), "@attr 1=12 @attr 4=3 @attr 5=102 \"b1|03[-]0018137|a[.]b_c:d\"");
    strbuf_reset(&q);
    CHECK(catalogue_build_search(CATALOGUE_Z3950, SEARCH_AUTHOR, "J.K. \"Jo\" Rowling\\", 0, &q) == 0);
    CHECK_STR(strbuf_cstr(&q), "@attr 1=1003 @attr 4=1 \"J.K.  Jo  Rowling \"");
    strbuf_reset(&q);
    CHECK(catalogue_build_search(CATALOGUE_Z3950, SEARCH_SUBJECT, "Drama", 200, &q) == 0);
    CHECK_STR(strbuf_cstr(&q), "@attr 12=200 @attr 1=21 @attr 4=1 \"Drama\"");
    strbuf_reset(&q);
    CHECK(catalogue_build_search(CATALOGUE_SRU, SEARCH_SUBJECT, "Jazz", 200, &q) == 0);
    CHECK_STR(strbuf_cstr(&q), "dc.subject=\"Jazz\"");
    strbuf_free(&q);
}

/* Id i of the split test: "NN-000...0NN", 64 bytes; bracketed, the '-'
 * is "[-]" as the query writes it. */
static void split_test_id(char *dst, size_t size, unsigned i, int bracketed)
{
    enum { LEN = 64 };
    char id[LEN + 1];
    memset(id, '0', LEN);
    id[LEN] = '\0';
    id[0] = id[LEN - 2] = (char)('0' + i / 10);
    id[1] = id[LEN - 1] = (char)('0' + i % 10);
    id[2] = '-';
    if (bracketed)
        snprintf(dst, size, "%.2s[-]%s", id, id + 3);
    else
        snprintf(dst, size, "%s", id);
}

/* A regular-expression term longer than Zebra keeps (511 bytes) would
 * match nothing: a batch is split into terms that fit, ORed, and no id
 * is lost or cut. */
TEST(catalogue_regex_query_split)
{
    enum { N = 40 };                    /* ids of 64 bytes, the default max_record_id_bytes */
    char buf[N][80];
    const char *ids[N];
    for (unsigned i = 0; i < N; i++) {
        split_test_id(buf[i], sizeof buf[i], i, 0);
        ids[i] = buf[i];
    }
    CHECK(strlen(ids[0]) == 64);
    struct strbuf q = {0};
    CHECK(catalogue_build_query(CATALOGUE_Z3950, ID_QUERY_REGEX, ids, N, &q) == 0);
    const char *s = strbuf_cstr(&q);
    size_t ors = 0, terms = 0, found = 0;
    for (; strncmp(s, "@or ", 4) == 0; s += 4)
        ors++;
    const char *prefix = "@attr 1=12 @attr 4=3 @attr 5=102 \"";
    while (*s) {
        CHECK(strncmp(s, prefix, strlen(prefix)) == 0);
        s += strlen(prefix);
        const char *end = strchr(s, '"');
        CHECK(end != NULL);
        CHECK((size_t)(end - s) <= 511);
        /* 66 bytes an id and a '|' between: 7 fit in 511 (468), 8 do not (535) */
        CHECK((size_t)(end - s) == 7 * 66 + 6 || terms == N / 7);
        for (const char *a = s; a < end; found++) {
            const char *bar = memchr(a, '|', (size_t)(end - a));
            const char *stop = bar ? bar : end;
            char want[80];
            split_test_id(want, sizeof want, (unsigned)found, 1);
            CHECK((size_t)(stop - a) == strlen(want) && strncmp(a, want, strlen(want)) == 0);
            a = bar ? bar + 1 : end;
        }
        terms++;
        s = end + 1;
        if (*s == ' ')
            s++;
    }
    CHECK(found == N);
    CHECK(terms == (N + 6) / 7);
    CHECK(ors + 1 == terms);
    strbuf_free(&q);
}

/* An id that alone is longer than a regular-expression term may be (200
 * bytes, 199 of them '-': 598 bracketed) is asked as a plain key term
 * between the regex terms of the others, not cut short by Zebra. */
TEST(catalogue_regex_query_long_id_plain)
{
    char long_id[201];
    long_id[0] = 'x';
    memset(long_id + 1, '-', 199);
    long_id[200] = '\0';
    const char *ids[] = {"b1", long_id, "f2"};
    struct strbuf q = {0}, want = {0};
    CHECK(catalogue_build_query(CATALOGUE_Z3950, ID_QUERY_REGEX, ids, 3, &q) == 0);
    strbuf_printf(&want, "@or @or @attr 1=12 @attr 4=3 @attr 5=102 \"b1\" "
                  "@attr 1=12 @attr 4=3 \"%s\" @attr 1=12 @attr 4=3 @attr 5=102 \"f2\"", long_id);
    CHECK_STR(strbuf_cstr(&q), strbuf_cstr(&want));
    strbuf_free(&q);
    strbuf_free(&want);
}

int main(void)
{
    RUN(catalogue_queries);
    RUN(catalogue_regex_query_split);
    RUN(catalogue_regex_query_long_id_plain);
    return unit_failures != 0;
}
