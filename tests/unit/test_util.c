/* test_util.c: strbuf, dict, csv, pseudonyms, messages, loan dates, the
 * catalogue's query builder and its work queue. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue/catalogue.h"
#include "catalogue/work_queue.h"
#include "core/csv.h"
#include "core/dict.h"
#include "core/pseudonym.h"
#include "core/strbuf.h"
#include "core/ttl_cache.h"
#include "http/messages.h"
#include "ingest/loan_event.h"
#include "unit.h"

TEST(strbuf_grows_and_encodes)
{
    struct strbuf sb = {0};
    CHECK_STR(strbuf_cstr(&sb), "");
    for (int i = 0; i < 1000; i++)
        CHECK(strbuf_printf(&sb, "%d,", i) == 0);
    CHECK(sb.len == strlen(sb.buf));
    CHECK(strncmp(sb.buf + sb.len - 4, "999,", 4) == 0);
    strbuf_reset(&sb);
    CHECK(strbuf_urlencode(&sb, "a b/\xc3\xa7~", 7) == 0);
    CHECK_STR(strbuf_cstr(&sb), "a%20b%2F%C3%A7~");
    char *s = strbuf_steal(&sb);
    CHECK(sb.buf == NULL && sb.len == 0);
    free(s);
}

TEST(strbuf_put_ll_matches_printf)
{
    const long long v[] = {0, 7, -7, 10, 1700000000, -1, LLONG_MAX, LLONG_MIN};
    struct strbuf sb = {0}, want = {0};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        CHECK(strbuf_put_ll(&sb, v[i]) == 0 && strbuf_puts(&sb, ",") == 0);
        CHECK(strbuf_printf(&want, "%lld,", v[i]) == 0);
    }
    CHECK_STR(strbuf_cstr(&sb), strbuf_cstr(&want));
    strbuf_free(&sb);
    strbuf_free(&want);
}

static int count_entry(const char *k, void *v, void *arg)
{
    (void)k;
    (void)v;
    ++*(int *)arg;
    return 0;
}

TEST(dict_set_get_del)
{
    struct dict *d = dict_new();
    char key[32];
    for (long i = 1; i <= 5000; i++) {
        snprintf(key, sizeof key, "k%ld", i);
        CHECK(dict_set(d, key, (void *)i, NULL) == 0);
    }
    CHECK(dict_size(d) == 5000);
    CHECK(dict_get(d, "k4242") == (void *)4242);
    CHECK(dict_del(d, "k4242") == (void *)4242);
    CHECK(dict_get(d, "k4242") == NULL);
    void *old = NULL;
    CHECK(dict_set(d, "k1", (void *)7, &old) == 0 && old == (void *)1);
    int n = 0;
    dict_each(d, count_entry, &n);
    CHECK(n == 4999);
    dict_free(d, NULL);
}

TEST(csv_fields_and_quotes)
{
    char line[] = "2100000001,\"f1\",\"a, \"\"quoted\"\" one\",\r\n";
    char *f[8];
    CHECK(csv_split(line, f, 8) == 4);
    CHECK_STR(f[0], "2100000001");
    CHECK_STR(f[1], "f1");
    CHECK_STR(f[2], "a, \"quoted\" one");
    CHECK_STR(f[3], "");
    char open_quote[] = "a,\"b\n";
    CHECK(csv_split(open_quote, f, 8) == -1);
    char too_many[] = "a,b,c";
    CHECK(csv_split(too_many, f, 2) == -1);
}

TEST(pseudonyms_are_keyed_and_stable)
{
    unsigned char k1[32] = {1}, k2[32] = {2};
    char a[PSEUDONYM_HEX_LEN + 1], b[PSEUDONYM_HEX_LEN + 1], c[PSEUDONYM_HEX_LEN + 1];
    CHECK(pseudonym_init() == 0);
    pseudonymise(k1, "2100000001", 10, a);
    pseudonymise(k1, "2100000001", 10, b);
    pseudonymise(k2, "2100000001", 10, c);
    CHECK(strlen(a) == PSEUDONYM_HEX_LEN);
    CHECK_STR(a, b);
    CHECK(strcmp(a, c) != 0);
    CHECK(strstr(a, "2100000001") == NULL);

    /* A patron id from outside: 1 to PATRON_MAX_BYTES bytes, no NUL. */
    char longest[PATRON_MAX_BYTES + 1];
    memset(longest, '7', sizeof longest);
    CHECK(pseudonymise_patron(k1, "2100000001", 10, c) == 0 && strcmp(a, c) == 0);
    CHECK(pseudonymise_patron(k1, longest, PATRON_MAX_BYTES, c) == 0);
    strcpy(c, "untouched");
    CHECK(pseudonymise_patron(k1, longest, PATRON_MAX_BYTES + 1, c) == -1);
    CHECK(pseudonymise_patron(k1, "", 0, c) == -1);
    CHECK(pseudonymise_patron(k1, "21\0001", 4, c) == -1);
    CHECK_STR(c, "untouched");
    CHECK_STR(PATRON_RULE, "must be 1 to 128 bytes");
}

TEST(patron_messages_in_two_languages)
{
    struct strbuf m = {0};
    CHECK(message_availability(&m, "nl", "on_loan", 1, "2026-12-03", 1) == 0);
    CHECK(strstr(m.buf, "Alle exemplaren zijn uitgeleend. Verwacht terug rond 3 december 2026.") != NULL);
    CHECK(strstr(m.buf, "staan in de kast") != NULL);
    strbuf_reset(&m);
    CHECK(message_availability(&m, "en", "on_loan", 1, "2026-01-09", 0) == 0);
    CHECK(strstr(m.buf, "Expected back around 9 January 2026.") != NULL);
    CHECK(strstr(m.buf, "on the shelf") == NULL);
    strbuf_reset(&m);
    CHECK(message_availability(&m, "en", "on_loan", 0, NULL, 0) == 0);
    CHECK(strstr(m.buf, "No copy can be borrowed right now.") != NULL);
    strbuf_reset(&m);
    CHECK(message_date(&m, "nl", "2026-13-01") < 0);
    strbuf_free(&m);
}

TEST(loan_dates)
{
    long long t = 0;
    CHECK(loan_time_parse("964982703", &t) == 0 && t == 964982703);
    CHECK(loan_time_parse("2000-07-30T18:45:03Z", &t) == 0 && t == 964982703);
    CHECK(loan_time_parse("2000-07-30", &t) == 0 && t == 964915200);
    CHECK(loan_time_parse("2000-07-30T18:45:03", &t) < 0);
    CHECK(loan_time_parse("30-07-2000", &t) < 0);
    CHECK(loan_time_parse("", &t) < 0);
}

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

static int released[8];

static void release(void *v)
{
    released[(long)v]++;
}

/* The queue's order as a string of node names, checked against its links. */
struct named_node {
    struct queue_node node;     /* first: a node is its named_node */
    char name;
};

static const char *queue_order(const struct work_queue *q, char *out)
{
    size_t n = 0;
    const struct queue_node *last = NULL;
    for (const struct queue_node *x = q->head; x; x = x->next) {
        out[n++] = ((const struct named_node *)x)->name;
        last = x;
    }
    out[n] = '\0';
    return n == q->n && q->tail == last ? out : "(links broken)";
}

TEST(work_queue_places)
{
    struct work_queue q = {0};
    struct named_node nodes[8];
    char buf[16];
    memset(nodes, 0, sizeof nodes);     /* never queued: in_back 0 */
    for (int i = 0; i < 8; i++)
        nodes[i].name = (char)('a' + i);
    CHECK(work_queue_pop(&q) == NULL);
    work_queue_push(&q, &nodes[0].node, QUEUE_BACK);           /* a */
    work_queue_push(&q, &nodes[1].node, QUEUE_BACK);           /* a b */
    work_queue_push(&q, &nodes[2].node, QUEUE_AHEAD);          /* c a b */
    work_queue_push(&q, &nodes[3].node, QUEUE_AHEAD);          /* c d a b: ahead, in order */
    work_queue_push(&q, &nodes[4].node, QUEUE_BACK);           /* c d a b e */
    work_queue_push(&q, &nodes[5].node, QUEUE_FIRST);          /* f c d a b e */
    CHECK_STR(queue_order(&q, buf), "fcdabe");
    CHECK(q.ahead_tail == &nodes[3].node);
    /* Taken out from the middle while walking: d (the last one ahead),
     * then e (the tail). */
    work_queue_unlink(&q, &nodes[2].node, &nodes[3].node);
    CHECK_STR(queue_order(&q, buf), "fcabe");
    CHECK(q.ahead_tail == &nodes[2].node);
    work_queue_unlink(&q, &nodes[1].node, &nodes[4].node);
    CHECK_STR(queue_order(&q, buf), "fcab");
    work_queue_push(&q, &nodes[6].node, QUEUE_AHEAD);          /* f c g a b */
    CHECK_STR(queue_order(&q, buf), "fcgab");
    CHECK(work_queue_pop(&q) == &nodes[5].node);
    CHECK(work_queue_pop(&q) == &nodes[2].node);
    CHECK(work_queue_pop(&q) == &nodes[6].node);
    CHECK(q.ahead_tail == NULL);                               /* nothing ahead left */
    work_queue_push(&q, &nodes[7].node, QUEUE_AHEAD);          /* h a b */
    CHECK_STR(queue_order(&q, buf), "hab");
    CHECK(work_queue_pop(&q) == &nodes[7].node);
    CHECK(work_queue_pop(&q) == &nodes[0].node);
    CHECK(work_queue_pop(&q) == &nodes[1].node);
    CHECK(work_queue_pop(&q) == NULL);
    CHECK(q.n == 0 && !q.head && !q.tail && !q.ahead_tail);
    /* A retry into an empty queue counts as ahead: ahead work comes after it. */
    work_queue_push(&q, &nodes[0].node, QUEUE_BACK);
    work_queue_push(&q, &nodes[1].node, QUEUE_FIRST);
    work_queue_push(&q, &nodes[2].node, QUEUE_AHEAD);
    CHECK_STR(queue_order(&q, buf), "bca");
    /* Moved ahead from the back part (here its tail), once only. */
    work_queue_push(&q, &nodes[3].node, QUEUE_BACK);           /* b c a d */
    CHECK(work_queue_move_ahead(&q, &nodes[3].node) == 1);     /* b c d a */
    CHECK_STR(queue_order(&q, buf), "bcda");
    CHECK(q.ahead_tail == &nodes[3].node);
    CHECK(work_queue_move_ahead(&q, &nodes[3].node) == 0);     /* already ahead */
    CHECK(work_queue_move_ahead(&q, &nodes[1].node) == 0);
    CHECK(work_queue_move_ahead(&q, &nodes[7].node) == 0);     /* not queued */
    CHECK_STR(queue_order(&q, buf), "bcda");
    CHECK(work_queue_move_ahead(&q, &nodes[0].node) == 1);     /* b c d a */
    CHECK_STR(queue_order(&q, buf), "bcda");
    CHECK(q.ahead_tail == &nodes[0].node && q.tail == &nodes[0].node);
}

TEST(ttl_cache_expiry_bound_and_refs)
{
    struct ttl_cache *c = ttl_cache_new(2, release);
    memset(released, 0, sizeof released);
    ttl_cache_put(c, "a", (void *)1, 100, 0);
    ttl_cache_put(c, "b", (void *)2, 200, 0);
    CHECK(ttl_cache_get(c, "a", 99) == (void *)1);
    CHECK(ttl_cache_get(c, "a", 100) == NULL);      /* expired: given back */
    CHECK(released[1] == 1);
    ttl_cache_put(c, "c", (void *)3, 300, 150);
    ttl_cache_put(c, "d", (void *)4, 400, 150);     /* full, nothing expired: not kept */
    CHECK(released[4] == 1);
    CHECK(ttl_cache_get(c, "d", 150) == NULL);
    ttl_cache_put(c, "e", (void *)5, 500, 250);     /* full: sweeps b (200) first */
    CHECK(released[2] == 1);
    CHECK(ttl_cache_get(c, "e", 250) == (void *)5);
    ttl_cache_put(c, "e", (void *)6, 600, 250);     /* replacing gives the old one back */
    CHECK(released[5] == 1);
    ttl_cache_put(c, "f", (void *)7, 10, 20);       /* already expired: not kept */
    CHECK(released[7] == 1);
    ttl_cache_free(c);
    CHECK(released[3] == 1 && released[6] == 1);
}

int main(void)
{
    RUN(strbuf_grows_and_encodes);
    RUN(strbuf_put_ll_matches_printf);
    RUN(dict_set_get_del);
    RUN(csv_fields_and_quotes);
    RUN(pseudonyms_are_keyed_and_stable);
    RUN(patron_messages_in_two_languages);
    RUN(loan_dates);
    RUN(catalogue_queries);
    RUN(catalogue_regex_query_split);
    RUN(catalogue_regex_query_long_id_plain);
    RUN(work_queue_places);
    RUN(ttl_cache_expiry_bound_and_refs);
    return unit_failures != 0;
}
