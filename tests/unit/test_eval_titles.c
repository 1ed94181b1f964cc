/* test_eval_titles.c: TITLES.csv (eval_titles.h): the header, optional
 * columns, each value's rule, and problems naming line and column. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/eval_titles.h"
#include "core/strbuf.h"
#include "unit.h"

/* Parses text; report in *out (caller frees). */
static int parse(const char *text, size_t max_titles, size_t max_shown, struct eval_titles *ts,
                 char **report)
{
    struct strbuf err = {0};
    int rc = eval_titles_parse("t.csv", text, strlen(text), max_titles, 64, max_shown, ts, &err);
    *report = strbuf_cstr(&err)[0] ? strbuf_steal(&err) : strdup("");
    strbuf_free(&err);
    return rc;
}

/* One bad row after a good header: the one line of the report. */
static int bad_row(const char *header, const char *row, const char *want)
{
    struct strbuf text = {0};
    strbuf_printf(&text, "%s\n%s\n", header, row);
    struct eval_titles ts;
    char *report;
    int rc = parse(text.buf, 100, 5, &ts, &report);
    int ok = rc == -1 && strcmp(report, want) == 0 && ts.n == 0;
    if (!ok)
        printf("  row %s: rc %d, report \"%s\", want \"%s\"\n", row, rc, report, want);
    free(report);
    eval_titles_free(&ts);
    strbuf_free(&text);
    return ok;
}

static const char *const ALL = "record,title,author,subjects,year,language,audience,format";

/* A title's values of fixed size, as good_row finds them. */
struct fixed {
    enum title_format format;
    char audience;
    char year[5], language[4];
};

/* The row row_fmt with cell in it, after the header ALL, must be one good
 * title: its values in *out (all "" and 0 if it is not). */
static int good_row(const char *row_fmt, const char *cell, struct fixed *out)
{
    struct strbuf text = {0};
    strbuf_printf(&text, "%s\n", ALL);
    strbuf_printf(&text, row_fmt, cell);
    struct eval_titles ts;
    char *report;
    int ok = parse(text.buf, 100, 5, &ts, &report) == 0 && ts.n == 1;
    memset(out, 0, sizeof *out);
    if (ok) {
        out->format = ts.t[0].format;
        out->audience = ts.t[0].audience;
        memcpy(out->year, ts.t[0].year, sizeof out->year);
        memcpy(out->language, ts.t[0].language, sizeof out->language);
    } else {
        printf("  %s: %s", text.buf, report);
    }
    free(report);
    eval_titles_free(&ts);
    strbuf_free(&text);
    return ok;
}

TEST(every_column)
{
    const char *text = "\xEF\xBB\xBF" "format,record,title,author,subjects,year,language,audience\n"
                       "Film,f1, Toy Story ,,\"Animation; Children;;Comedy \",1995,eng,J\n"
                       "\n"
                       "book,b2,\"Ulysses, a novel\",\"Joyce, James\",Fiction,1922,eng,adult\n"
                       ",b3,Dubliners,,,,,\n";
    struct eval_titles ts;
    char *report;
    CHECK(parse(text, 100, 5, &ts, &report) == 0);
    CHECK_STR(report, "");
    CHECK(ts.n == 3);
    if (ts.n == 3) {
        const struct eval_title *t = &ts.t[0];
        CHECK_STR(t->record, "f1");
        CHECK_STR(t->title, "Toy Story");
        CHECK(t->author == NULL);
        CHECK(t->nsubjects == 3);
        if (t->nsubjects == 3) {
            CHECK_STR(t->subjects[0], "Animation");
            CHECK_STR(t->subjects[1], "Children");
            CHECK_STR(t->subjects[2], "Comedy");
        }
        CHECK_STR(t->year, "1995");
        CHECK_STR(t->language, "eng");
        CHECK(t->audience == 'j' && t->format == FORMAT_FILM && t->line == 2);
        t = &ts.t[1];
        CHECK_STR(t->title, "Ulysses, a novel");
        CHECK_STR(t->author, "Joyce, James");
        CHECK(t->audience == 'e' && t->format == FORMAT_BOOK && t->line == 4);
        t = &ts.t[2];
        CHECK(t->nsubjects == 0 && t->year[0] == '\0' && t->language[0] == '\0' &&
              t->audience == 0 && t->format == FORMAT_BOOK);
    }
    CHECK(eval_titles_find(&ts, "b2") == &ts.t[1]);
    CHECK(eval_titles_find(&ts, "b9") == NULL);
    CHECK_STR(eval_format_name(FORMAT_PERIODICAL), "periodical");
    CHECK_STR(eval_audience_name('c'), "pre-adolescent");
    free(report);
    eval_titles_free(&ts);
}

/* record and title are all a file needs; others come when named. */
TEST(optional_columns)
{
    struct eval_titles ts;
    char *report;
    CHECK(parse("title,record\nA title,r1\n", 100, 5, &ts, &report) == 0);
    CHECK(ts.n == 1 && ts.t[0].author == NULL && ts.t[0].nsubjects == 0);
    free(report);
    eval_titles_free(&ts);
    CHECK(parse("record,title,subjects\nr1,T,History\n", 100, 5, &ts, &report) == 0);
    CHECK(ts.n == 1 && ts.t[0].nsubjects == 1);
    free(report);
    eval_titles_free(&ts);
}

TEST(header_problems)
{
    struct eval_titles ts;
    char *report;
    CHECK(parse("record,title,genre\nr1,T,x\n", 100, 5, &ts, &report) == -1);
    CHECK_STR(report, "t.csv:1: header: \"genre\" is not a column of TITLES.csv (known: record, "
              "title, author, subjects, year, language, audience, format)\n");
    free(report);
    eval_titles_free(&ts);
    CHECK(parse("record,title,title\n", 100, 5, &ts, &report) == -1);
    CHECK_STR(report, "t.csv:1: header: \"title\" is named twice\n");
    free(report);
    eval_titles_free(&ts);
    CHECK(parse("record,author\nr1,x\n", 100, 5, &ts, &report) == -1);
    CHECK_STR(report, "t.csv:1: header: must name the columns record and title\n");
    free(report);
    eval_titles_free(&ts);
    CHECK(parse("\n\n", 100, 5, &ts, &report) == -1);
    CHECK_STR(report, "t.csv:0: header: no header: the file is empty\n");
    free(report);
    eval_titles_free(&ts);
    CHECK(parse("record,title,\"unclosed\n", 100, 5, &ts, &report) == -1);
    CHECK(strncmp(report, "t.csv:1: header: is not CSV of at most 8 columns", 48) == 0);
    free(report);
    eval_titles_free(&ts);
}

TEST(row_problems_name_line_and_column)
{
    CHECK(bad_row(ALL, "r1,T", "t.csv:2: line: wrong number of columns: 2, the header has 8\n"));
    CHECK(bad_row(ALL, "r1,\"T,,,,,,", "t.csv:2: line: malformed CSV (an unclosed quote, or more "
                  "columns than the header's)\n"));
    CHECK(bad_row(ALL, "r 1,T,,,,,,", "t.csv:2: record: must be 1 to 64 bytes of A-Z a-z 0-9 . "
                  "_ : -\n"));
    CHECK(bad_row(ALL, ",T,,,,,,", "t.csv:2: record: must be 1 to 64 bytes of A-Z a-z 0-9 . "
                  "_ : -\n"));
    CHECK(bad_row(ALL, "r1, ,,,,,,", "t.csv:2: title: must not be empty\n"));
    CHECK(bad_row(ALL, "r1,T\x1f" "a,,,,,,", "t.csv:2: title: contains a control character\n"));
    CHECK(bad_row(ALL, "r1,T,Jo\xff,,,,,", "t.csv:2: author: is not UTF-8\n"));
    CHECK(bad_row(ALL, "r1,T,,a;\x1e,,,,", "t.csv:2: subjects: contains a control character\n"));
    CHECK(bad_row(ALL, "r1,T,,,193,,,", "t.csv:2: year: \"193\" has no year of four digits "
                  "(1933, c1933, [1933])\n"));
    CHECK(bad_row(ALL, "r1,T,,,19--,,,", "t.csv:2: year: \"19--\" has no year of four digits "
                  "(1933, c1933, [1933])\n"));
    CHECK(bad_row(ALL, "r1,T,,,19330,,,", "t.csv:2: year: \"19330\" has no year of four digits "
                  "(1933, c1933, [1933])\n"));
    CHECK(bad_row(ALL, "r1,T,,,,English,,", "t.csv:2: language: \"English\" is not a MARC "
                  "language code (three letters a-z: eng, fre, ger)\n"));
    CHECK(bad_row(ALL, "r1,T,,,,,x,", "t.csv:2: audience: \"x\" is not a MARC 008/22 code "
                  "(a b c d e f g j) or the name of one (preschool, primary, pre-adolescent, "
                  "adolescent, adult, specialized, general, juvenile; children, young adult)\n"));
    CHECK(bad_row(ALL, "r1,T,,,,,,vinyl", "t.csv:2: format: \"vinyl\" is not one of book, "
                  "large_print, periodical, article, film (dvd), audiobook, music (cd), map, "
                  "ebook\n"));
    CHECK(bad_row(ALL, "r1,T,,,,,,dvdx", "t.csv:2: format: \"dvdx\" is not one of book, "
                  "large_print, periodical, article, film (dvd), audiobook, music (cd), map, "
                  "ebook\n"));
}

/* A library's export names formats and audiences its own way: the
 * answer's names (dvd, large_print), English and Dutch ones, in any case,
 * with blanks, '-' or '_' between words; and writes years as catalogues
 * do. */
TEST(names_and_years_of_exports)
{
    static const struct { const char *cell; enum title_format format; } formats[] = {
        {"DVD", FORMAT_FILM},           {"Blu-ray", FORMAT_FILM},
        {"large_print", FORMAT_LARGE_PRINT}, {"Large print", FORMAT_LARGE_PRINT},
        {"grote letter", FORMAT_LARGE_PRINT}, {"E-book", FORMAT_EBOOK},
        {"e book", FORMAT_EBOOK},       {"Audio book", FORMAT_AUDIOBOOK},
        {"luisterboek", FORMAT_AUDIOBOOK}, {"CD", FORMAT_MUSIC},
        {"Magazine", FORMAT_PERIODICAL}, {"tijdschrift", FORMAT_PERIODICAL},
        {"Boek", FORMAT_BOOK},
    };
    static const struct { const char *cell; char audience; } audiences[] = {
        {"Children", 'j'}, {"jeugd", 'j'}, {"Young adult", 'd'}, {"young-adult", 'd'},
        {"YA", 'd'}, {"Adults", 'e'}, {"volwassenen", 'e'}, {"PRE_ADOLESCENT", 'c'},
    };
    struct fixed t;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        CHECK(good_row("r1,T,,,,,,%s", formats[i].cell, &t) && t.format == formats[i].format);
    for (size_t i = 0; i < sizeof audiences / sizeof audiences[0]; i++)
        CHECK(good_row("r1,T,,,,,%s,", audiences[i].cell, &t) &&
              t.audience == audiences[i].audience);
    CHECK_STR(eval_format_name(FORMAT_LARGE_PRINT), "large_print");

    /* years as catalogues write them; a language code in capitals */
    static const struct { const char *cells, *want_year, *want_language; } ys[] = {
        {"c1933,ENG", "1933", "eng"}, {"[1933?],Fre", "1933", "fre"},
        {"1933-1935,dut", "1933", "dut"}, {"\xc2\xa9" "1999,", "1999", ""},
    };
    for (size_t i = 0; i < sizeof ys / sizeof ys[0]; i++) {
        CHECK(good_row("r1,T,,,%s,,", ys[i].cells, &t));
        CHECK_STR(t.year, ys[i].want_year);
        CHECK_STR(t.language, ys[i].want_language);
    }
}

TEST(duplicate_record_names_the_first_line)
{
    struct eval_titles ts;
    char *report;
    CHECK(parse("record,title\nr1,A\nr2,B\n\nr1,C\n", 100, 5, &ts, &report) == -1);
    CHECK_STR(report, "t.csv:5: record: the same record as on line 2\n");
    free(report);
    eval_titles_free(&ts);
}

/* Every limit, at it and past it. */
TEST(limits)
{
    struct strbuf text = {0};
    strbuf_puts(&text, "record,title,subjects\nr1,T,");
    for (int i = 0; i < EVAL_MAX_SUBJECTS; i++)
        strbuf_printf(&text, "%ss%d", i ? ";" : "", i);
    strbuf_puts(&text, "\n");
    struct eval_titles ts;
    char *report;
    CHECK(parse(text.buf, 100, 5, &ts, &report) == 0 && ts.n == 1 &&
          ts.t[0].nsubjects == EVAL_MAX_SUBJECTS);
    free(report);
    eval_titles_free(&ts);
    text.len--;                             /* the newline */
    strbuf_puts(&text, ";one more\n");
    CHECK(parse(text.buf, 100, 5, &ts, &report) == -1);
    CHECK_STR(report, "t.csv:2: subjects: more than 64 subjects\n");
    free(report);
    eval_titles_free(&ts);

    strbuf_reset(&text);
    strbuf_puts(&text, "record,title\nr1,");
    for (int i = 0; i < EVAL_TITLE_MAX_VALUE_BYTES; i++)
        strbuf_puts(&text, "x");
    strbuf_puts(&text, "\n");
    CHECK(parse(text.buf, 100, 5, &ts, &report) == 0 && ts.n == 1);
    free(report);
    eval_titles_free(&ts);
    text.len--;
    strbuf_puts(&text, "x\n");
    CHECK(parse(text.buf, 100, 5, &ts, &report) == -1);
    CHECK_STR(report, "t.csv:2: title: longer than 4000 bytes\n");
    free(report);
    eval_titles_free(&ts);

    CHECK(parse("record,title\nr1,A\nr2,B\n", 2, 5, &ts, &report) == 0 && ts.n == 2);
    free(report);
    eval_titles_free(&ts);
    CHECK(parse("record,title\nr1,A\nr2,B\nr3,C\n", 2, 5, &ts, &report) == -1);
    CHECK_STR(report, "t.csv:4: line: more than 2 titles\n");
    free(report);
    eval_titles_free(&ts);
    strbuf_free(&text);
}

/* Every row is checked; the first max_shown are told, then how many more. */
TEST(problems_shown_then_counted)
{
    struct eval_titles ts;
    char *report;
    CHECK(parse("record,title,year\nr1,A,x\nr2,B,y\nr3,C,z\nr4,D,1999\nr5,,w\n", 100, 2, &ts,
                &report) == -1);
    CHECK_STR(report, "t.csv:2: year: \"x\" has no year of four digits (1933, c1933, [1933])\n"
              "t.csv:3: year: \"y\" has no year of four digits (1933, c1933, [1933])\n"
              "t.csv: 3 more problems not shown\n");
    free(report);
    eval_titles_free(&ts);
    CHECK(parse("record,title\nr1,A\0B\n", 100, 5, &ts, &report) == 0);   /* strlen stops */
    free(report);
    eval_titles_free(&ts);
    const char nul[] = "record,title\nr1,A\0B\n";
    struct strbuf err = {0};
    CHECK(eval_titles_parse("t.csv", nul, sizeof nul - 1, 100, 64, 5, &ts, &err) == -1);
    CHECK_STR(strbuf_cstr(&err), "t.csv:2: line: contains a NUL byte\n");
    strbuf_free(&err);
    eval_titles_free(&ts);
}

TEST(quoted_line_breaks)
{
    /* a value over two lines (LF, then CR LF): one blank each; the line
     * numbers after it are the file's */
    const char *text = "record,title\r\n"
                       "r1,\"Paris,\nParis\"\r\n"
                       "r2,\"Two\r\nlines, \"\"quoted\"\"\"\r\n"
                       "r3,Three\r\n"
                       "bad record,Four\r\n";
    struct eval_titles ts;
    char *report;
    CHECK(parse(text, 100, 5, &ts, &report) == -1);
    CHECK_STR(report, "t.csv:7: record: must be 1 to 64 bytes of A-Z a-z 0-9 . _ : -\n");
    CHECK(ts.n == 3);
    if (ts.n == 3) {
        CHECK_STR(ts.t[0].title, "Paris, Paris");
        CHECK_STR(ts.t[1].title, "Two lines, \"quoted\"");
        CHECK(ts.t[0].line == 2 && ts.t[1].line == 4 && ts.t[2].line == 6);
        CHECK_STR(ts.t[2].title, "Three");
    }
    free(report);
    eval_titles_free(&ts);
    /* a quote never closed runs to the end: one problem, at its first line */
    CHECK(parse("record,title\nr1,\"open\nr2,Two\n", 100, 5, &ts, &report) == -1);
    CHECK_STR(report, "t.csv:2: line: malformed CSV (an unclosed quote, or more columns than "
              "the header's)\n");
    free(report);
    eval_titles_free(&ts);
}

int main(void)
{
    RUN(every_column);
    RUN(names_and_years_of_exports);
    RUN(optional_columns);
    RUN(header_problems);
    RUN(row_problems_name_line_and_column);
    RUN(duplicate_record_names_the_first_line);
    RUN(limits);
    RUN(problems_shown_then_counted);
    RUN(quoted_line_breaks);
    return unit_failures != 0;
}
