/* test_eval_marc.c: a title of TITLES.csv as a MARC21 record
 * (eval_marc.h): what each field holds, read back by the daemon's own
 * reader (holdings.h: marc_check, YAZ, koha952), and ISO 2709's limits
 * refused, never cut to. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue/holdings.h"
#include "cli/eval_marc.h"
#include "core/strbuf.h"
#include "unit.h"

/* The data of the n-th field tagged tag (its directory entry read), in
 * a malloc'd string without the field terminator; NULL when absent. */
static char *field(const char *rec, const char *tag, int n)
{
    size_t base = (size_t)atoi((char[]){rec[12], rec[13], rec[14], rec[15], rec[16], 0});
    for (const char *d = rec + 24; *d != '\x1e'; d += 12) {
        if (strncmp(d, tag, 3) != 0 || n-- > 0)
            continue;
        size_t len = (size_t)atoi((char[]){d[3], d[4], d[5], d[6], 0});
        size_t at = (size_t)atoi((char[]){d[7], d[8], d[9], d[10], d[11], 0});
        char *out = malloc(len);
        memcpy(out, rec + base + at, len - 1);
        out[len - 1] = '\0';
        return out;
    }
    return NULL;
}

static int field_is(const char *rec, const char *tag, int n, const char *want)
{
    char *got = field(rec, tag, n);
    int ok = got && want ? strcmp(got, want) == 0 : !got && !want;
    if (!ok)
        printf("  %s[%d] is \"%s\", want \"%s\"\n", tag, n, got ? got : "(none)",
               want ? want : "(none)");
    free(got);
    return ok;
}

static struct bib *read_back(const struct strbuf *rec)
{
    struct strbuf err = {0};
    struct marc_reader *r = marc_reader_new("marc8s", holdings_map(HOLDINGS_KOHA952), "001", &err);
    const char *why = NULL;
    struct bib *b = r ? marc_reader_iso2709(r, rec->buf, rec->len, &why) : NULL;
    if (!b)
        printf("  read back: %s%s\n", strbuf_cstr(&err), why ? why : "");
    marc_reader_free(r);
    strbuf_free(&err);
    return b;
}

static char *subjects2[] = {"Fiction", "Paris (France) \xe2\x80\x94 Fiction"};

TEST(book_with_every_field)
{
    struct eval_title t = {.record = "b-1", .title = "L'\xc3\x89t\xc3\xa9", .author = "Colette",
                           .subjects = subjects2, .nsubjects = 2, .year = "1934",
                           .language = "fre", .audience = 'e', .format = FORMAT_BOOK};
    struct strbuf out = {0};
    const char *why = NULL;
    CHECK(eval_marc_record(&t, "MAIN", "E000000000001", "261204", &out, &why) == 0);
    CHECK(out.len == (size_t)atoi((char[]){out.buf[0], out.buf[1], out.buf[2], out.buf[3],
                                           out.buf[4], 0}));
    CHECK(out.buf[out.len - 1] == '\x1d');
    CHECK(strncmp(out.buf + 5, "nam a22", 7) == 0);         /* new, book, UTF-8 */
    CHECK(strncmp(out.buf + 17, "7i 4500", 7) == 0);
    CHECK(field_is(out.buf, "001", 0, "b-1"));
    CHECK(field_is(out.buf, "007", 0, NULL));
    char *f008 = field(out.buf, "008", 0);
    CHECK(f008 && strlen(f008) == 40);
    if (f008 && strlen(f008) == 40) {
        CHECK(strncmp(f008, "261204s1934", 11) == 0);
        CHECK(f008[22] == 'e');
        CHECK(strncmp(f008 + 35, "fre", 3) == 0);
    }
    free(f008);
    CHECK(field_is(out.buf, "041", 0, "  \x1f" "afre"));
    CHECK(field_is(out.buf, "100", 0, "1 \x1f" "aColette"));
    CHECK(field_is(out.buf, "245", 0, "10\x1f" "aL'\xc3\x89t\xc3\xa9"));
    CHECK(field_is(out.buf, "264", 0, " 1\x1f" "c1934"));
    CHECK(field_is(out.buf, "521", 0, "  \x1f" "aadult"));
    CHECK(field_is(out.buf, "650", 0, " 4\x1f" "aFiction"));
    CHECK(field_is(out.buf, "650", 1, " 4\x1f" "aParis (France) \xe2\x80\x94 Fiction"));
    CHECK(field_is(out.buf, "952", 0, "  \x1f" "aMAIN\x1f" "bMAIN\x1f" "pE000000000001\x1f" "yBK"));

    struct bib *b = read_back(&out);
    CHECK(b != NULL);
    if (b) {
        CHECK_STR(b->id, "b-1");
        CHECK_STR(b->title, "L'\xc3\x89t\xc3\xa9");
        CHECK_STR(b->author, "Colette");
        CHECK_STR(b->year, "1934");
        CHECK_STR(b->subjects[0], "Fiction");
        CHECK(b->ncopies == 1);
        if (b->ncopies == 1) {
            CHECK_STR(b->copies[0].branch, "MAIN");
            CHECK(b->copies[0].status == COPY_AVAILABLE);
        }
        CHECK(!b->text_repaired);
        bib_unref(b);
    }
    strbuf_free(&out);
}

TEST(bare_title_and_formats)
{
    struct eval_title t = {.record = "r1", .title = "Only a title"};
    struct strbuf out = {0};
    const char *why = NULL;
    CHECK(eval_marc_record(&t, "MAIN", "E1", "261204", &out, &why) == 0);
    char *f008 = field(out.buf, "008", 0);
    CHECK(f008 && strncmp(f008, "261204nuuuu", 11) == 0 && strncmp(f008 + 35, "und", 3) == 0);
    free(f008);
    CHECK(field_is(out.buf, "245", 0, "00\x1f" "aOnly a title"));
    CHECK(field_is(out.buf, "100", 0, NULL));       /* empty values make no field */
    CHECK(field_is(out.buf, "041", 0, NULL));
    CHECK(field_is(out.buf, "264", 0, NULL));
    CHECK(field_is(out.buf, "521", 0, NULL));
    CHECK(field_is(out.buf, "650", 0, NULL));
    struct bib *b = read_back(&out);
    CHECK(b && b->author == NULL && b->year == NULL && b->nsubjects == 0 && b->ncopies == 1);
    if (b)
        bib_unref(b);

    /* each format: leader/06-07, the item type, 007 for films only;
     * audience at 008/22 only where the type has one */
    static const struct {
        enum title_format f;
        const char *type, *itype;
        enum bib_format read;           /* what the daemon reads it as */
    } want[] = {
        {FORMAT_BOOK, "am", "BK", BIB_FORMAT_BOOK},
        {FORMAT_PERIODICAL, "as", "PER", BIB_FORMAT_PERIODICAL},
        {FORMAT_ARTICLE, "aa", "ART", BIB_FORMAT_BOOK},
        {FORMAT_FILM, "gm", "DVD", BIB_FORMAT_DVD},
        {FORMAT_AUDIOBOOK, "im", "AUD", BIB_FORMAT_AUDIOBOOK},
        {FORMAT_MUSIC, "jm", "MUS", BIB_FORMAT_MUSIC},
        {FORMAT_MAP, "em", "MAP", BIB_FORMAT_UNKNOWN},
        {FORMAT_EBOOK, "am", "EBK", BIB_FORMAT_EBOOK},
        {FORMAT_LARGE_PRINT, "am", "LP", BIB_FORMAT_LARGE_PRINT},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        struct eval_title f = {.record = "r2", .title = "T", .audience = 'j', .format = want[i].f};
        strbuf_reset(&out);
        CHECK(eval_marc_record(&f, "MAIN", "E2", "261204", &out, &why) == 0);
        CHECK(strncmp(out.buf + 6, want[i].type, 2) == 0);
        char *item = field(out.buf, "952", 0), *f7 = field(out.buf, "007", 0);
        char *f8 = field(out.buf, "008", 0);
        CHECK(item && strcmp(item + strlen(item) - strlen(want[i].itype), want[i].itype) == 0);
        CHECK((f7 != NULL) == (want[i].f == FORMAT_FILM));
        CHECK(f8 && strlen(f8) == 40);
        if (f8 && strlen(f8) == 40)
            CHECK((f8[22] == 'j') == (want[i].f != FORMAT_PERIODICAL && want[i].f != FORMAT_MAP));
        CHECK(f8 && (f8[23] == 'o') == (want[i].f == FORMAT_EBOOK));
        CHECK(f8 && (f8[23] == 'd') == (want[i].f == FORMAT_LARGE_PRINT));
        free(item);
        free(f7);
        free(f8);
        struct bib *rb = read_back(&out);
        CHECK(rb && rb->ncopies == 1 && rb->segment.format == want[i].read);
        if (rb)
            bib_unref(rb);
    }
    strbuf_free(&out);
}

TEST(iso2709_limits_refused)
{
    /* 245: indicators, $a, the value, the terminator: 9,999 bytes at most */
    size_t most = MARC_MAX_FIELD_BYTES - 5;
    char *title = malloc(most + 2);
    memset(title, 'x', most + 1);
    title[most] = '\0';
    struct eval_title t = {.record = "r1", .title = title};
    struct strbuf out = {0};
    const char *why = NULL;
    CHECK(eval_marc_record(&t, "MAIN", "E1", "261204", &out, &why) == 0);
    char *f245 = field(out.buf, "245", 0);
    CHECK(f245 && strlen(f245) == MARC_MAX_FIELD_BYTES - 1);
    free(f245);
    size_t before = out.len;
    title[most] = 'x';
    title[most + 1] = '\0';
    CHECK(eval_marc_record(&t, "MAIN", "E1", "261204", &out, &why) == -1);
    CHECK(why && strstr(why, "9,999") != NULL);
    CHECK(out.len == before);                               /* nothing appended */

    /* a record: 99,999 bytes at most, however its fields are */
    char *subjects[EVAL_MAX_SUBJECTS];
    for (int i = 0; i < EVAL_MAX_SUBJECTS; i++)
        subjects[i] = title + 8000;                     /* 1,995 bytes each: ~128 KB */
    title[most] = '\0';
    struct eval_title big = {.record = "r2", .title = "T", .subjects = subjects,
                             .nsubjects = EVAL_MAX_SUBJECTS};
    why = NULL;
    CHECK(eval_marc_record(&big, "MAIN", "E2", "261204", &out, &why) == -1);
    CHECK(why && strstr(why, "99,999") != NULL);
    CHECK(out.len == before);
    free(title);
    strbuf_free(&out);
}

int main(void)
{
    RUN(book_with_every_field);
    RUN(bare_title_and_formats);
    RUN(iso2709_limits_refused);
    return unit_failures != 0;
}
