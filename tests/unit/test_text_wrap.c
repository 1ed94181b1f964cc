/* test_text_wrap.c: the receipt's layout (text_wrap.h, receipt.h): lines
 * of at most the width in display cells at 16, 32, 40, 48 and 80, Dutch
 * and Romanian diacritics precomposed and with combining marks, CJK wide
 * characters, words never cut but a word wider than a line. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"
#include "core/text_wrap.h"
#include "http/receipt.h"
#include "unit.h"

static const int widths[] = {16, 32, 40, 48, 80};

/* Romanian with comma-below letters and breves, precomposed (NFC) and
 * decomposed (s + U+0326, t + U+0326, a + U+0306, i + U+0302, a + U+0302). */
#define RO_NFC "Pictura murală din nordul Moldovei: ștergerea și țesătura; în fața întâlnirii"
#define RO_NFD "Pictura murala\xcc\x86 din nordul Moldovei: s\xcc\xa6tergerea s\xcc\xa6i " \
               "t\xcc\xa6""esa\xcc\x86tura; i\xcc\x82n fat\xcc\xa6""a i\xcc\x82nta\xcc\x82lnirii"
#define NL "Een geïnteresseerde lezer ziet een café met ruïnes en één reeënboek"
#define CJK "東京物語 小津安二郎 (Tokyo Story) 晚春 麦秋 東京暮色 秋刀魚の味"

/* Each line's cells (text_cells) at most width, and none ends in a space. */
static int lines_fit(const char *text, int width)
{
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        if (!nl)
            return 0;       /* every line ends in \n */
        long cells = text_cells(p, (size_t)(nl - p));
        if (cells < 0 || cells > width || (nl > p && nl[-1] == ' '))
            return 0;
        p = nl + 1;
    }
    return 1;
}

/* The words of text, in order, are the words of the wrapped lines (none
 * cut: the text's spaces and the line ends are the only places they
 * part). */
static int words_kept(const char *wrapped, const char *words)
{
    struct strbuf a = {0}, b = {0};
    for (const char *p = wrapped; *p; p++)
        strbuf_append(&a, *p == '\n' ? " " : p, 1);
    for (const char *p = words; *p; p++)
        strbuf_append(&b, p, 1);
    /* collapse runs of spaces in both */
    int same = 1;
    const char *x = a.buf, *y = b.buf;
    while (same) {
        while (*x == ' ')
            x++;
        while (*y == ' ')
            y++;
        if (!*x || !*y) {
            same = !*x && !*y;
            break;
        }
        while (*x && *x != ' ' && *x == *y)
            x++, y++;
        same = (*x == ' ' || !*x) && (*y == ' ' || !*y);
    }
    strbuf_free(&a);
    strbuf_free(&b);
    return same;
}

TEST(every_width_fits_and_keeps_words)
{
    const char *texts[] = {NL, RO_NFC, CJK};
    for (size_t t = 0; t < sizeof texts / sizeof *texts; t++)
        for (size_t i = 0; i < sizeof widths / sizeof *widths; i++) {
            struct strbuf out = {0};
            CHECK(text_wrap(&out, texts[t], strlen(texts[t]), widths[i], "", "") == TEXT_WRAP_OK);
            CHECK(lines_fit(out.buf, widths[i]));
            if (t < 2)
                CHECK(words_kept(out.buf, texts[t]));
            strbuf_free(&out);
        }
}

TEST(combining_marks_take_no_cells)
{
    CHECK(text_cells("ș", strlen("ș")) == 1);
    CHECK(text_cells("s\xcc\xa6", 3) == 1);
    CHECK(text_cells("a\xcc\x86", 3) == 1);
    CHECK(text_cells("東京", strlen("東京")) == 4);
    CHECK(text_cells("geïnteresseerd", strlen("geïnteresseerd")) == 14);
    CHECK(text_cells("\xff", 1) == -1);
    CHECK(text_cells(RO_NFC, strlen(RO_NFC)) == text_cells(RO_NFD, strlen(RO_NFD)));
}

TEST(decomposed_romanian_lays_out_as_precomposed)
{
    for (size_t i = 0; i < sizeof widths / sizeof *widths; i++) {
        struct strbuf a = {0}, b = {0};
        CHECK(text_wrap(&a, RO_NFC, strlen(RO_NFC), widths[i], "", "") == TEXT_WRAP_OK);
        CHECK(text_wrap(&b, RO_NFD, strlen(RO_NFD), widths[i], "", "") == TEXT_WRAP_OK);
        CHECK_STR(b.buf, a.buf);       /* NFC: the same bytes for the printer */
        CHECK(lines_fit(b.buf, widths[i]));
        strbuf_free(&a);
        strbuf_free(&b);
    }
}

TEST(exact_lines_at_16)
{
    struct strbuf out = {0};
    CHECK(text_wrap(&out, NL, strlen(NL), 16, "", "") == TEXT_WRAP_OK);
    CHECK_STR(out.buf, "Een\ngeïnteresseerde\nlezer ziet een\ncafé met ruïnes\nen één reeënboek\n");
    /* "geïnteresseerde" is 15 cells: it fits on a line of its own */
    strbuf_reset(&out);
    CHECK(text_wrap(&out, CJK, strlen(CJK), 16, "", "") == TEXT_WRAP_OK);
    /* ideographs may part anywhere (UAX #14 class ID); wide ones count 2 */
    CHECK_STR(out.buf, "東京物語 小津安\n二郎 (Tokyo\nStory) 晚春 麦秋\n東京暮色 秋刀魚\nの味\n");
    strbuf_free(&out);
}

TEST(a_word_wider_than_a_line_is_cut_only_then)
{
    const char *url = "https://opac.example.org/cgi-bin/koha/opac-reserve.pl?biblionumber=f356";
    struct strbuf out = {0};
    CHECK(text_wrap(&out, url, strlen(url), 16, "", "") == TEXT_WRAP_OK);
    CHECK(lines_fit(out.buf, 16));
    struct strbuf joined = {0};
    for (const char *p = out.buf; *p; p++)
        if (*p != '\n')
            strbuf_append(&joined, p, 1);
    CHECK_STR(joined.buf, url);     /* every character kept, in order */
    strbuf_free(&joined);
    /* a wide character never straddles the edge; a mark stays with its base */
    strbuf_reset(&out);
    const char *wide = "東京物語東京物語東京物語東京物語東京物語";
    CHECK(text_wrap(&out, wide, strlen(wide), 17, "", "") == TEXT_WRAP_OK);
    CHECK(lines_fit(out.buf, 17));
    strbuf_reset(&out);
    const char *marks = "s\xcc\xa6s\xcc\xa6s\xcc\xa6s\xcc\xa6s\xcc\xa6s\xcc\xa6s\xcc\xa6s\xcc\xa6"
                        "s\xcc\xa6s\xcc\xa6s\xcc\xa6s\xcc\xa6s\xcc\xa6s\xcc\xa6s\xcc\xa6s\xcc\xa6t";
    CHECK(text_wrap(&out, marks, strlen(marks), 16, "", "") == TEXT_WRAP_OK);
    CHECK_STR(out.buf, "șșșșșșșșșșșșșșșș\nt\n");
    strbuf_free(&out);
}

TEST(prefixes_count_and_controls_are_spaces)
{
    struct strbuf out = {0};
    CHECK(text_wrap(&out, "Sleepless in Seattle, 1993", 26, 16, "* ", "  ") == TEXT_WRAP_OK);
    CHECK_STR(out.buf, "* Sleepless in\n  Seattle, 1993\n");
    strbuf_reset(&out);
    CHECK(text_wrap(&out, "a\tb\nc  \x01 d", 10, 16, "", "") == TEXT_WRAP_OK);
    CHECK_STR(out.buf, "a b c d\n");
    strbuf_reset(&out);
    CHECK(text_wrap(&out, "   ", 3, 16, "", "") == TEXT_WRAP_OK);
    CHECK(out.len == 0);
    CHECK(text_wrap(&out, "x", 1, 2, "--", "") == TEXT_WRAP_TOO_NARROW);
    CHECK(text_wrap(&out, "\xc3", 1, 16, "", "") == TEXT_WRAP_NOT_UTF8);
    CHECK(out.len == 0);
    strbuf_free(&out);
}

/* The receipt's text with its line ends (and the indents after them) as
 * single spaces, to look for phrases whatever the width (caller frees). */
static char *flat(const char *text)
{
    struct strbuf sb = {0};
    for (const char *p = text; *p; p++) {
        if (*p == '\n') {
            while (p[1] == ' ')
                p++;
            strbuf_append(&sb, " ", 1);
        } else {
            strbuf_append(&sb, p, 1);
        }
    }
    return strbuf_steal(&sb);
}

/* An answer as the API sends it (fields the receipt reads). */
#define ANSWER "{\"record\":\"f356\",\"status\":\"on_loan\",\"title\":\"" RO_NFC "\"," \
    "\"author\":\"Dina, Anca\",\"year\":\"2007\"," \
    "\"copies\":[{\"branch\":\"ZUI\",\"status\":\"on_loan\",\"due\":\"2026-12-03\"}]," \
    "\"expected_back\":\"2026-12-03\"," \
    "\"reserve_url\":\"https://opac.example.org/cgi-bin/koha/opac-reserve.pl?biblionumber=f356\"," \
    "\"alternatives\":[" \
    "{\"record\":\"f1\",\"title\":\"Elsewhere one\",\"year\":\"1990\",\"at_branch\":false," \
    " \"available_at\":[{\"branch\":\"ZUI\",\"call_number\":\"DVD ELSE\",\"location\":\"VOLW\"}]}," \
    "{\"record\":\"f539\",\"title\":\"" CJK "\",\"year\":\"1953\",\"at_branch\":true," \
    " \"available_at\":[{\"branch\":\"CEN\",\"call_number\":\"DVD TOKY\",\"location\":\"VOLW\"}]}]," \
    "\"degraded\":[]}"

TEST(receipt_in_order_and_in_width)
{
    json_t *ans = json_loads(ANSWER, 0, NULL);
    CHECK(ans != NULL);
    for (size_t i = 0; ans && i < sizeof widths / sizeof *widths; i++) {
        for (int nl = 0; nl < 2; nl++) {
            struct strbuf out = {0};
            CHECK(receipt_render(ans, nl ? "nl" : "en", widths[i], &out) == 0);
            CHECK(lines_fit(out.buf, widths[i]));
            char *f = flat(out.buf);
            const char *here = strstr(f, "DVD TOKY, VOLW");
            const char *there = strstr(f, "ZUI: DVD ELSE, VOLW");
            CHECK(here && there && here < there);     /* this branch first */
            CHECK(strstr(f, nl ? "Verwacht terug rond 3 december 2026."
                               : "Expected back around 3 December 2026.") != NULL);
            CHECK(strstr(f, nl ? "Reserveren? Scan de QR-code" : "To reserve, scan") != NULL);
            CHECK(strstr(f, "Dina, Anca, 2007") != NULL);
            free(f);
            strbuf_free(&out);
        }
    }
    json_decref(ans);
}

TEST(receipt_of_an_unknown_title_is_calm)
{
    json_t *ans = json_loads("{\"record\":\"f356\",\"status\":\"unknown\",\"title\":null,"
                             "\"copies\":[],\"expected_back\":null,\"reserve_url\":\"https://x/r\","
                             "\"alternatives\":[],\"degraded\":[\"catalogue_unavailable\"]}",
                             0, NULL);
    struct strbuf out = {0};
    CHECK(receipt_render(ans, "nl", 32, &out) == 0);
    CHECK(lines_fit(out.buf, 32));
    CHECK(strstr(out.buf, "Titelnummer f356") != NULL);
    CHECK(strstr(out.buf, "balie") != NULL);
    CHECK(strstr(out.buf, "uitgeleend") == NULL);     /* nothing it does not know */
    strbuf_reset(&out);
    CHECK(receipt_render(ans, "en", 16, &out) == 0);
    CHECK(lines_fit(out.buf, 16));
    char *f = flat(out.buf);
    CHECK(strstr(f, "Please ask at the desk") != NULL);
    free(f);
    strbuf_free(&out);
    json_decref(ans);
}

int main(void)
{
    RUN(every_width_fits_and_keeps_words);
    RUN(combining_marks_take_no_cells);
    RUN(decomposed_romanian_lays_out_as_precomposed);
    RUN(exact_lines_at_16);
    RUN(a_word_wider_than_a_line_is_cut_only_then);
    RUN(prefixes_count_and_controls_are_spaces);
    RUN(receipt_in_order_and_in_width);
    RUN(receipt_of_an_unknown_title_is_calm);
    return unit_failures != 0;
}
