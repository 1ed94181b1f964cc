/* test_cooc_list.c: co-occurrence lists (cooc_list.h): parsed and
 * summed, the generation header, cut to the top, written back, and one
 * patron's counts taken off (a forget). */
#include <stdint.h>

#include "core/strbuf.h"
#include "model/cooc_list.h"
#include "unit.h"

static long cooc_find(const struct cooc_list *l, const char *record)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->e[i].record, record) == 0)
            return (long)l->e[i].count;
    return -1;
}

TEST(cooc_parse_sums_repeats)
{
    struct cooc_list l;
    char text[] = "f2 3\nf1 2\nf2 4\nf3 0\nf1 1\n";
    CHECK(cooc_parse(&l, text, sizeof text - 1) == 0);
    CHECK(l.n == 3);
    CHECK(l.gen == 0 && l.header_len == 0);
    /* The list keeps its own copy: the caller's text may go. */
    memset(text, 'z', sizeof text - 1);
    CHECK(cooc_find(&l, "f2") == 7);
    CHECK(cooc_find(&l, "f1") == 3);
    CHECK(cooc_find(&l, "f3") == 0);
    cooc_free(&l);
    CHECK(l.n == 0 && l.e == NULL && l.text == NULL);

    CHECK(cooc_parse(&l, "", 0) == 0);
    CHECK(l.n == 0);
    cooc_free(&l);

    /* The largest count one line may carry. */
    CHECK(cooc_parse(&l, "f1 4294967295\n", 14) == 0);
    CHECK(l.n == 1 && l.e[0].count == UINT32_MAX);
    cooc_free(&l);
}

TEST(cooc_parse_sums_repeats_many_records)
{
    /* Repeats of records early and late in a long list, new records
     * after repeats, and thousands of distinct ones. */
    struct strbuf sb = {0};
    for (int i = 0; i < 40; i++)
        strbuf_printf(&sb, "r%d %d\n", i, i + 1);
    strbuf_printf(&sb, "r0 100\nr31 100\nr32 100\nr39 100\nnew 5\nr0 1000\nnew 6\n");
    for (int i = 40; i < 5000; i++)
        strbuf_printf(&sb, "r%d 1\n", i);
    for (int i = 5000 - 1; i >= 40; i--)
        strbuf_printf(&sb, "r%d 2\n", i);
    struct cooc_list l;
    CHECK(cooc_parse(&l, sb.buf, sb.len) == 0);
    CHECK(l.n == 5001);
    CHECK(cooc_find(&l, "r0") == 1 + 100 + 1000);
    CHECK(cooc_find(&l, "r1") == 2);
    CHECK(cooc_find(&l, "r31") == 32 + 100);
    CHECK(cooc_find(&l, "r32") == 33 + 100);
    CHECK(cooc_find(&l, "r39") == 40 + 100);
    CHECK(cooc_find(&l, "new") == 11);
    CHECK(cooc_find(&l, "r40") == 3);
    CHECK(cooc_find(&l, "r4999") == 3);
    /* Each record once, in order of first appearance. */
    size_t wrong = 0;
    for (size_t i = 0; i < l.n; i++) {
        char want[32];
        if (i < 40)
            snprintf(want, sizeof want, "r%zu", i);
        else if (i == 40)
            snprintf(want, sizeof want, "new");
        else
            snprintf(want, sizeof want, "r%zu", i - 1);
        wrong += strcmp(l.e[i].record, want) != 0;
        wrong += i > 40 && l.e[i].count != 3;
    }
    CHECK(wrong == 0);
    cooc_free(&l);
    strbuf_free(&sb);
}

TEST(cooc_generation_header)
{
    struct cooc_list l;
    struct strbuf sb = {0};
    const char text[] = "#7\nf1 2\nf2 5\nf1 1\n";
    CHECK(cooc_parse(&l, text, sizeof text - 1) == 0);
    CHECK(l.gen == 7);
    CHECK(l.header_len == 3);
    CHECK(l.n == 2);
    CHECK(cooc_find(&l, "f1") == 3 && cooc_find(&l, "f2") == 5);
    /* Written back under the next generation. */
    cooc_top(&l, 10);
    CHECK(cooc_encode(&l, l.gen + 1, &sb) == 0);
    CHECK_STR(strbuf_cstr(&sb), "#8\nf2 5\nf1 3\n");
    cooc_free(&l);
    /* Generation 0: no header. */
    CHECK(cooc_parse(&l, sb.buf, sb.len) == 0 && l.gen == 8);
    strbuf_reset(&sb);
    CHECK(cooc_encode(&l, 0, &sb) == 0);
    CHECK_STR(strbuf_cstr(&sb), "f2 5\nf1 3\n");
    cooc_free(&l);
    /* A header alone is an empty list. */
    CHECK(cooc_parse(&l, "#12345678901234\n", 16) == 0);
    CHECK(l.n == 0 && l.gen == 12345678901234ULL && l.header_len == 16);
    cooc_free(&l);

    static const char *const bad[] = {
        "#\nf1 2\n",                    /* no number */
        "#x\n",
        "#7x\n",
        "#7",                           /* no newline */
        "#99999999999999999999999\n",   /* overflows */
        "f1 2\n#7\n",                   /* a header only comes first */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = cooc_parse(&l, bad[i], strlen(bad[i]));
        if (rc != -1)
            printf("  header %zu: \"%s\" accepted\n", i, bad[i]);
        CHECK(rc == -1);
        CHECK(l.n == 0 && l.e == NULL && l.text == NULL);
        cooc_free(&l);
    }
    int neg = cooc_parse(&l, "#-1\nf1 2\n", 9);
    cooc_free(&l);
    int spaced = cooc_parse(&l, "# 5\n", 4);
    cooc_free(&l);
    /* A header is '#' and digits: no sign, no blanks (a wrapped
     * generation would drop the header at the next compaction). */
    CHECK(neg == -1);
    CHECK(spaced == -1);
    strbuf_free(&sb);
}

TEST(cooc_top_orders_and_truncates)
{
    struct cooc_list l;
    struct strbuf sb = {0};
    const char text[] = "f5 2\nf3 9\nf10 2\nf1 2\nf7 9\nf2 1\nf5 3\n";
    CHECK(cooc_parse(&l, text, sizeof text - 1) == 0);
    cooc_top(&l, 100);                      /* keep more than there are: all stay */
    CHECK(l.n == 6);
    CHECK(cooc_encode(&l, 0, &sb) == 0);
    /* Count desc; within a count, oldest (earliest last line) first:
     * f3 (line 2) before f7 (5); f1 (4) before f10 (3)? no: f10 is on
     * line 3, f1 on line 4, so f10 first. f5 is summed (2 + 3). */
    CHECK_STR(strbuf_cstr(&sb), "f3 9\nf7 9\nf5 5\nf10 2\nf1 2\nf2 1\n");
    cooc_top(&l, 3);
    CHECK(l.n == 3);
    strbuf_reset(&sb);
    CHECK(cooc_encode(&l, 0, &sb) == 0);
    CHECK_STR(strbuf_cstr(&sb), "f3 9\nf7 9\nf5 5\n");
    cooc_top(&l, 0);
    CHECK(l.n == 0);
    strbuf_reset(&sb);
    CHECK(cooc_encode(&l, 0, &sb) == 0);
    CHECK_STR(strbuf_cstr(&sb), "");
    cooc_free(&l);

    /* Ties at the cut: the most recently counted win the last places
     * (a record's last line counts: c is on lines 3 and 6). */
    const char ties[] = "d 3\ne 1\nc 3\nb 3\na 5\nc 0\n";
    static const struct {
        size_t keep;
        const char *want;
    } cuts[] = {{1, "a 5\n"}, {2, "a 5\nc 3\n"}, {3, "a 5\nb 3\nc 3\n"},
                {4, "a 5\nd 3\nb 3\nc 3\n"}, {5, "a 5\nd 3\nb 3\nc 3\ne 1\n"}};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        CHECK(cooc_parse(&l, ties, sizeof ties - 1) == 0);
        cooc_top(&l, cuts[i].keep);
        strbuf_reset(&sb);
        CHECK(cooc_encode(&l, 0, &sb) == 0);
        CHECK_STR(strbuf_cstr(&sb), cuts[i].want);
        cooc_free(&l);
    }

    /* Written back and appended to, line order still means recency: a
     * new count-1 pair beats the old count-1 ones at the next cut. */
    CHECK(cooc_parse(&l, "x 1\ny 1\nz 4\n", 12) == 0);
    cooc_top(&l, 3);
    strbuf_reset(&sb);
    CHECK(cooc_encode(&l, 1, &sb) == 0);
    strbuf_puts(&sb, "new 1\n");
    cooc_free(&l);
    CHECK(cooc_parse(&l, sb.buf, sb.len) == 0);
    cooc_top(&l, 2);
    strbuf_reset(&sb);
    CHECK(cooc_encode(&l, 0, &sb) == 0);
    CHECK_STR(strbuf_cstr(&sb), "z 4\nnew 1\n");
    cooc_free(&l);

    /* A long list cut to its top 10. */
    strbuf_reset(&sb);
    for (int i = 0; i < 3000; i++)
        strbuf_printf(&sb, "r%04d %d\n", i, (i * 7919) % 1000);
    CHECK(cooc_parse(&l, sb.buf, sb.len) == 0);
    cooc_top(&l, 10);
    CHECK(l.n == 10);
    size_t bad_order = 0;
    for (size_t i = 1; i < l.n; i++)
        bad_order += l.e[i - 1].count < l.e[i].count ||
                     (l.e[i - 1].count == l.e[i].count && l.e[i - 1].last >= l.e[i].last);
    CHECK(bad_order == 0);
    CHECK(l.n == 10 && l.e[0].count == 999 && l.e[9].count == 996);
    CHECK(l.n == 10 && strcmp(l.e[0].record, "r0321") == 0);
    cooc_free(&l);

    /* Counts too large for the histogram: sorted instead, same rule. */
    const char big[] = "s 1\nb 4294967295\nm 7\nn 7\n";
    CHECK(cooc_parse(&l, big, sizeof big - 1) == 0);
    cooc_top(&l, 2);
    strbuf_reset(&sb);
    CHECK(cooc_encode(&l, 0, &sb) == 0);
    CHECK_STR(strbuf_cstr(&sb), "b 4294967295\nn 7\n");
    cooc_free(&l);
    strbuf_free(&sb);
}

TEST(cooc_encode_round_trip)
{
    struct cooc_list l, again;
    struct strbuf sb = {0}, sb2 = {0};
    const char text[] = "f377 12\nab:c.d_e-f 4294967295\nx 0\ny 1000000\n";
    CHECK(cooc_parse(&l, text, sizeof text - 1) == 0);
    CHECK(cooc_encode(&l, 0, &sb) == 0);
    CHECK_STR(strbuf_cstr(&sb), text);
    CHECK(cooc_parse(&again, sb.buf, sb.len) == 0);
    CHECK(again.n == 4);
    CHECK(cooc_encode(&again, 0, &sb2) == 0);
    CHECK_STR(strbuf_cstr(&sb2), text);
    cooc_free(&l);
    cooc_free(&again);
    strbuf_free(&sb);
    strbuf_free(&sb2);
}

TEST(cooc_parse_rejects_malformed)
{
    static const char *const bad[] = {
        "f1\n",                         /* no count */
        "f1 \n",                        /* empty count */
        " 3\n",                         /* no record */
        "f1 -1\n",                      /* negative */
        "f1 3",                         /* no newline */
        "f1 3\nf2 4",                   /* last line without newline */
        "f1 3x\n",                      /* junk after the count */
        "f1 x\n",
        "f1 4294967296\n",              /* over UINT32_MAX */
        "f1 99999999999999999999999\n", /* over unsigned long */
        "\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct cooc_list l = {0};
        int rc = cooc_parse(&l, bad[i], strlen(bad[i]));
        if (rc != -1)
            printf("  input %zu: \"%s\"\n", i, bad[i]);
        CHECK(rc == -1);
        CHECK(l.n == 0 && l.e == NULL && l.text == NULL);
        cooc_free(&l);
    }
    /* A bad line after many good ones frees everything. */
    struct strbuf sb = {0};
    for (int i = 0; i < 40; i++)
        strbuf_printf(&sb, "r%d 1\n", i);
    strbuf_printf(&sb, "r3 -2\n");
    struct cooc_list l;
    CHECK(cooc_parse(&l, sb.buf, sb.len) == -1);
    CHECK(l.n == 0 && l.e == NULL && l.text == NULL);
    strbuf_free(&sb);
}

/* Found by fuzz_cooc_list: compaction wrote gen + 1, and after a header
 * of UINT64_MAX that was 0, which cooc_encode writes as no header: a list
 * that no longer tells compactors apart. (Refusing UINT64_MAX only moved
 * the wrap: its gen + 1 was then a list no one could read.) */
TEST(cooc_generation_does_not_wrap)
{
    static const char max[] = "#18446744073709551615\nf1 2\n";
    struct cooc_list l;
    struct strbuf sb = {0};
    CHECK(cooc_parse(&l, max, sizeof max - 1) == 0 && l.gen == 18446744073709551615ULL);
    CHECK(cooc_next_gen(l.gen) == 1);
    CHECK(cooc_next_gen(0) == 1 && cooc_next_gen(41) == 42);
    CHECK(cooc_encode(&l, cooc_next_gen(l.gen), &sb) == 0);
    CHECK_STR(strbuf_cstr(&sb), "#1\nf1 2\n");
    cooc_free(&l);
    strbuf_free(&sb);
}

/* Found by fuzz_cooc_list: records with a NUL byte were cut at it, two
 * records became one name twice, and one written back could not be read. */
TEST(cooc_parse_rejects_nul_in_record)
{
    static const char text[] = "f1 3\n\0a 2\n\0b 1\n";
    struct cooc_list l;
    CHECK(cooc_parse(&l, text, sizeof text - 1) == -1);
    CHECK(l.n == 0 && l.e == NULL);
    CHECK(cooc_parse(&l, text, 5) == 0 && l.n == 1);
    cooc_free(&l);
}

TEST(cooc_subtract_takes_off_and_drops_zeros)
{
    static const char have_text[] = "#4\nb 3\nc 1\nd 2\nc 1\ne 1\n";
    static const char minus_text[] = "c 1\ne 1\nb 1\nz 1\n";
    struct cooc_list have, minus;
    struct strbuf out = {0};
    CHECK(cooc_parse(&have, have_text, sizeof have_text - 1) == 0);
    CHECK(cooc_parse(&minus, minus_text, sizeof minus_text - 1) == 0);
    CHECK(cooc_subtract(&have, &minus) == 1);           /* z was not there */
    CHECK(have.n == 3);
    CHECK(cooc_find(&have, "b") == 2 && cooc_find(&have, "c") == 1 && cooc_find(&have, "d") == 2);
    CHECK(cooc_find(&have, "e") == -1);                 /* at 0: no line */
    CHECK(cooc_encode(&have, cooc_next_gen(have.gen), &out) == 0);
    CHECK_STR(strbuf_cstr(&out), "#5\nb 2\nc 1\nd 2\n");
    /* more taken than there is: down to 0, the rest counted missing */
    struct cooc_list all;
    static const char all_text[] = "b 5\nc 5\nd 5\n";
    CHECK(cooc_parse(&all, all_text, sizeof all_text - 1) == 0);
    CHECK(cooc_subtract(&have, &all) == 10);
    CHECK(have.n == 0);
    strbuf_reset(&out);
    CHECK(cooc_encode(&have, 6, &out) == 0);
    CHECK_STR(strbuf_cstr(&out), "#6\n");
    cooc_free(&all);
    cooc_free(&have);
    cooc_free(&minus);
    strbuf_free(&out);
}

int main(void)
{
    RUN(cooc_parse_sums_repeats);
    RUN(cooc_parse_sums_repeats_many_records);
    RUN(cooc_generation_header);
    RUN(cooc_top_orders_and_truncates);
    RUN(cooc_encode_round_trip);
    RUN(cooc_parse_rejects_malformed);
    RUN(cooc_parse_rejects_nul_in_record);
    RUN(cooc_generation_does_not_wrap);
    RUN(cooc_subtract_takes_off_and_drops_zeros);
    printf("%d failed\n", unit_failures);
    return unit_failures != 0;
}
