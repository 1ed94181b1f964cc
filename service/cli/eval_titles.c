/* eval_titles.c: see eval_titles.h. */
#include "cli/eval_titles.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/csv.h"
#include "core/ids.h"
#include "core/utf8.h"

enum column { COL_RECORD, COL_TITLE, COL_AUTHOR, COL_SUBJECTS, COL_YEAR, COL_LANGUAGE,
              COL_AUDIENCE, COL_FORMAT, NCOLUMNS };

static const char *const column_names[NCOLUMNS] = {
    "record", "title", "author", "subjects", "year", "language", "audience", "format",
};
#define KNOWN_COLUMNS "record, title, author, subjects, year, language, audience, format"
#define STR_(x) #x
#define STR(x) STR_(x)

static const char *const format_names[FORMAT_COUNT] = {
    "book", "periodical", "article", "film", "audiobook", "music", "map", "ebook", "large_print",
};

/* Other names a library's export may give a format: the answer's own
 * ("dvd", "large_print"), common English ones and Dutch ones. Compared
 * as same_name() does. */
static const struct { const char *name; enum title_format format; } format_aliases[] = {
    {"boek", FORMAT_BOOK},          {"print", FORMAT_BOOK},
    {"serial", FORMAT_PERIODICAL},  {"magazine", FORMAT_PERIODICAL},
    {"journal", FORMAT_PERIODICAL}, {"tijdschrift", FORMAT_PERIODICAL},
    {"dvd", FORMAT_FILM},           {"video", FORMAT_FILM},
    {"blu-ray", FORMAT_FILM},       {"videorecording", FORMAT_FILM},
    {"audio book", FORMAT_AUDIOBOOK}, {"spoken word", FORMAT_AUDIOBOOK},
    {"luisterboek", FORMAT_AUDIOBOOK}, {"cd", FORMAT_MUSIC},
    {"sound recording", FORMAT_MUSIC}, {"muziek", FORMAT_MUSIC},
    {"kaart", FORMAT_MAP},          {"large print", FORMAT_LARGE_PRINT},
    {"grote letter", FORMAT_LARGE_PRINT},
};
#define NFORMAT_ALIASES (sizeof format_aliases / sizeof format_aliases[0])

static const struct { char code; const char *name; } audiences[] = {
    {'a', "preschool"}, {'b', "primary"}, {'c', "pre-adolescent"}, {'d', "adolescent"},
    {'e', "adult"}, {'f', "specialized"}, {'g', "general"}, {'j', "juvenile"},
};
#define NAUDIENCES (sizeof audiences / sizeof audiences[0])

static const struct { const char *name; char code; } audience_aliases[] = {
    {"children", 'j'}, {"child", 'j'},       {"jeugd", 'j'},      {"kinderen", 'j'},
    {"young adult", 'd'}, {"ya", 'd'},       {"teen", 'd'},       {"teens", 'd'},
    {"adults", 'e'},   {"volwassenen", 'e'},
};
#define NAUDIENCE_ALIASES (sizeof audience_aliases / sizeof audience_aliases[0])

/* Whether a and b name the same thing: ASCII case, blanks, '-' and '_'
 * aside ("Large print" is "large_print", "E-book" is "ebook"). */
static int same_name(const char *a, const char *b)
{
    for (;;) {
        while (*a == ' ' || *a == '-' || *a == '_')
            a++;
        while (*b == ' ' || *b == '-' || *b == '_')
            b++;
        if (!*a || !*b)
            return !*a && !*b;
        if (tolower((unsigned char)*a++) != tolower((unsigned char)*b++))
            return 0;
    }
}

const struct eval_title *eval_titles_find(const struct eval_titles *ts, const char *record)
{
    uintptr_t i = ts->by_record ? (uintptr_t)dict_get(ts->by_record, record) : 0;
    return i ? &ts->t[i - 1] : NULL;
}

const char *eval_format_name(enum title_format f)
{
    return f < FORMAT_COUNT ? format_names[f] : "?";
}

const char *eval_audience_name(char code)
{
    for (size_t i = 0; i < NAUDIENCES; i++)
        if (audiences[i].code == code)
            return audiences[i].name;
    return NULL;
}

void eval_titles_free(struct eval_titles *ts)
{
    for (size_t i = 0; i < ts->n; i++) {
        struct eval_title *t = &ts->t[i];
        free(t->record);
        free(t->title);
        free(t->author);
        for (size_t k = 0; k < t->nsubjects; k++)
            free(t->subjects[k]);
        free(t->subjects);
    }
    free(ts->t);
    free(ts->name);
    dict_free(ts->by_record, NULL);
    memset(ts, 0, sizeof *ts);
}

/* ---- the problems ------------------------------------------------------------ */

struct reader {
    const char *name;
    size_t max_shown, nprobs;
    struct strbuf *report;
    size_t line;
};

static void problem(struct reader *rd, const char *column, const char *fmt, const char *arg)
{
    if (rd->nprobs++ >= rd->max_shown)
        return;
    strbuf_printf(rd->report, "%s:%zu: %s: ", rd->name, rd->line, column);
    strbuf_printf(rd->report, fmt, arg ? arg : "");
    strbuf_puts(rd->report, "\n");
}

/* ---- values ------------------------------------------------------------------- */

/* s without blanks at either end (in place). */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* 1 when s is UTF-8 without control characters and not too long; else
 * the problem is told. */
static int text_ok(struct reader *rd, const char *column, const char *s)
{
    size_t n = strlen(s);
    if (n > EVAL_TITLE_MAX_VALUE_BYTES) {
        problem(rd, column, "longer than " STR(EVAL_TITLE_MAX_VALUE_BYTES) " bytes%s", NULL);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
            problem(rd, column, "contains a control character%s", NULL);
            return 0;
        }
    }
    if (!utf8_valid(s, n)) {
        problem(rd, column, "is not UTF-8%s", NULL);
        return 0;
    }
    return 1;
}

static int parse_subjects(struct reader *rd, char *s, struct eval_title *t)
{
    size_t most = 1;
    for (const char *p = s; *p; p++)
        most += *p == ';';
    if (!(t->subjects = calloc(most, sizeof *t->subjects)))
        return -1;
    for (char *next = s; next;) {
        char *one = next, *semi = strchr(next, ';');
        if (semi)
            *semi = '\0';
        next = semi ? semi + 1 : NULL;
        one = trim(one);
        if (!*one)
            continue;
        if (t->nsubjects == EVAL_MAX_SUBJECTS) {
            problem(rd, "subjects", "more than " STR(EVAL_MAX_SUBJECTS) " subjects%s", NULL);
            return 0;
        }
        if (!text_ok(rd, "subjects", one))
            return 0;
        if (!(t->subjects[t->nsubjects] = strdup(one)))
            return -1;
        t->nsubjects++;
    }
    return 0;
}

static void parse_audience(struct reader *rd, const char *s, struct eval_title *t)
{
    for (size_t i = 0; i < NAUDIENCES; i++) {
        char code[2] = {audiences[i].code, '\0'};
        if (strcasecmp(s, code) == 0 || same_name(s, audiences[i].name)) {
            t->audience = audiences[i].code;
            return;
        }
    }
    for (size_t i = 0; i < NAUDIENCE_ALIASES; i++) {
        if (same_name(s, audience_aliases[i].name)) {
            t->audience = audience_aliases[i].code;
            return;
        }
    }
    problem(rd, "audience", "\"%s\" is not a MARC 008/22 code (a b c d e f g j) or the name of "
            "one (preschool, primary, pre-adolescent, adolescent, adult, specialized, general, "
            "juvenile; children, young adult)", s);
}

static void parse_format(struct reader *rd, const char *s, struct eval_title *t)
{
    for (int f = 0; f < FORMAT_COUNT; f++) {
        if (same_name(s, format_names[f])) {
            t->format = (enum title_format)f;
            return;
        }
    }
    for (size_t i = 0; i < NFORMAT_ALIASES; i++) {
        if (same_name(s, format_aliases[i].name)) {
            t->format = format_aliases[i].format;
            return;
        }
    }
    problem(rd, "format", "\"%s\" is not one of book, large_print, periodical, article, "
            "film (dvd), audiobook, music (cd), map, ebook", s);
}

static int all_of(const char *s, size_t n, int (*cls)(int))
{
    if (strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!cls((unsigned char)s[i]))
            return 0;
    return 1;
}

static int letter_ascii(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int digit_ascii(int c)
{
    return c >= '0' && c <= '9';
}

/* The first run of exactly four digits in s, as catalogues write a year
 * ("1933", "c1933", "[1933?]", "1933-1935"), or NULL ("193-", "19--"). */
static const char *first_year(const char *s)
{
    for (const char *p = s; *p;) {
        size_t n = 0;
        while (digit_ascii((unsigned char)p[n]))
            n++;
        if (n == 4)
            return p;
        p += n ? n : 1;
    }
    return NULL;
}

/* One row, its fields f[] in the header's columns col[]. Returns -1 when
 * out of memory; problems are counted in rd. */
static int parse_row(struct reader *rd, char **f, const int *col, int max_record_id_bytes,
                     struct eval_titles *out)
{
    size_t before = rd->nprobs;
    struct eval_title t = {.line = rd->line};
    char *record = trim(f[col[COL_RECORD]]), *title = trim(f[col[COL_TITLE]]);
    char buf[16];
    if (!record_id_valid(record, max_record_id_bytes)) {
        snprintf(buf, sizeof buf, "%d", max_record_id_bytes);
        problem(rd, "record", "must be 1 to %s bytes of A-Z a-z 0-9 . _ : -", buf);
    } else {
        const struct eval_title *seen = eval_titles_find(out, record);
        if (seen) {
            snprintf(buf, sizeof buf, "%zu", seen->line);
            problem(rd, "record", "the same record as on line %s", buf);
        }
    }
    if (!*title)
        problem(rd, "title", "must not be empty%s", NULL);
    else
        text_ok(rd, "title", title);
    int rc = 0;
    if (col[COL_AUTHOR] >= 0) {
        char *a = trim(f[col[COL_AUTHOR]]);
        if (*a && text_ok(rd, "author", a) && !(t.author = strdup(a)))
            rc = -1;
    }
    if (rc == 0 && col[COL_SUBJECTS] >= 0)
        rc = parse_subjects(rd, f[col[COL_SUBJECTS]], &t);
    if (col[COL_YEAR] >= 0) {
        char *y = trim(f[col[COL_YEAR]]);
        const char *at = first_year(y);
        if (*y && !at)
            problem(rd, "year", "\"%s\" has no year of four digits (1933, c1933, [1933])", y);
        else if (at) {
            memcpy(t.year, at, 4);
            t.year[4] = '\0';
        }
    }
    if (col[COL_LANGUAGE] >= 0) {
        char *l = trim(f[col[COL_LANGUAGE]]);
        if (*l && !all_of(l, 3, letter_ascii))
            problem(rd, "language", "\"%s\" is not a MARC language code (three letters a-z: "
                    "eng, fre, ger)", l);
        else {
            memcpy(t.language, l, strlen(l) + 1);      /* 3 letters or none */
            for (char *c = t.language; *c; c++)
                *c = (char)tolower((unsigned char)*c);  /* "ENG" is eng */
        }
    }
    if (col[COL_AUDIENCE] >= 0 && *trim(f[col[COL_AUDIENCE]]))
        parse_audience(rd, trim(f[col[COL_AUDIENCE]]), &t);
    if (col[COL_FORMAT] >= 0 && *trim(f[col[COL_FORMAT]]))
        parse_format(rd, trim(f[col[COL_FORMAT]]), &t);
    if (rc == 0 && rd->nprobs == before) {
        if (out->n == out->cap) {
            size_t cap = out->cap ? out->cap * 2 : 1024;
            struct eval_title *grown = realloc(out->t, cap * sizeof *grown);
            if (!grown)
                rc = -1;
            else
                out->t = grown, out->cap = cap;
        }
        if (rc == 0 && (!(t.record = strdup(record)) || !(t.title = strdup(title))))
            rc = -1;
        if (rc == 0) {
            out->t[out->n++] = t;
            return 0;
        }
    }
    free(t.record);
    free(t.title);
    free(t.author);
    for (size_t k = 0; k < t.nsubjects; k++)
        free(t.subjects[k]);
    free(t.subjects);
    return rc;
}

/* The header's columns: col[c] the field index of column c, or -1. */
static void parse_header(struct reader *rd, char *line, int *col, int *ncol)
{
    char *f[NCOLUMNS + 1];
    for (int c = 0; c < NCOLUMNS; c++)
        col[c] = -1;
    int n = csv_split(line, f, NCOLUMNS + 1);
    *ncol = n;
    if (n < 0) {
        problem(rd, "header", "is not CSV of at most 8 columns (an unclosed quote, or a column "
                "too many: known are " KNOWN_COLUMNS ")%s", NULL);
        return;
    }
    for (int i = 0; i < n; i++) {
        char *name = trim(f[i]);
        int c = 0;
        while (c < NCOLUMNS && strcmp(name, column_names[c]) != 0)
            c++;
        if (c == NCOLUMNS)
            problem(rd, "header", "\"%s\" is not a column of TITLES.csv (known: " KNOWN_COLUMNS ")",
                    name);
        else if (col[c] >= 0)
            problem(rd, "header", "\"%s\" is named twice", name);
        else
            col[c] = i;
    }
    if (col[COL_RECORD] < 0 || col[COL_TITLE] < 0)
        problem(rd, "header", "must name the columns record and title%s", NULL);
}

/* The length of the row at p: up to the first line break outside double
 * quotes (RFC 4180 lets a quoted value hold line breaks). *inner: how
 * many it holds inside, for the line numbers after it. */
static size_t row_extent(const char *p, const char *end, size_t *inner)
{
    int quoted = 0;
    size_t breaks = 0;
    const char *q = p;
    for (; q < end && (quoted || *q != '\n'); q++) {
        if (*q == '"')
            quoted = !quoted;
        else if (*q == '\n')
            breaks++;
    }
    *inner = breaks;
    return (size_t)(q - p);
}

/* A line break inside quotes (CR LF or LF) becomes one blank: a MARC
 * field holds no line breaks. Returns the row's new length. */
static size_t join_lines(char *row, size_t n)
{
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (row[i] == '\r' && i + 1 < n && row[i + 1] == '\n')
            continue;
        row[j++] = row[i] == '\n' ? ' ' : row[i];
    }
    row[j] = '\0';
    return j;
}

int eval_titles_parse(const char *name, const char *text, size_t len, size_t max_titles,
                      int max_record_id_bytes, size_t max_shown, struct eval_titles *out,
                      struct strbuf *report)
{
    memset(out, 0, sizeof *out);
    struct reader rd = {name, max_shown, 0, report, 0};
    const char *p = text, *end = text + len;
    char *line = NULL, *f[NCOLUMNS];
    size_t cap = 0;
    int col[NCOLUMNS], ncol = -1, have_header = 0, rc = 0;
    if (!(out->by_record = dict_new()) || !(out->name = strdup(name)))
        rc = -2;
    size_t prev_inner = 0, inner;   /* line breaks inside the last row's quotes, this one's */
    while (rc == 0 && p < end) {
        size_t n = row_extent(p, end, &inner);
        const char *nl = p + n < end ? p + n : NULL;
        rd.line += 1 + prev_inner;      /* the row's first line */
        prev_inner = inner;
        if (n + 1 > cap) {
            cap = n + 1 > 256 ? n + 1 : 256;
            char *grown = realloc(line, cap);
            if (!grown) {
                rc = -2;
                break;
            }
            line = grown;
        }
        memcpy(line, p, n);
        line[n] = '\0';
        p = nl ? nl + 1 : end;
        if (memchr(line, '\0', n)) {
            problem(&rd, "line", "contains a NUL byte%s", NULL);
            continue;
        }
        n = join_lines(line, n);
        /* a byte order mark, as spreadsheets write, is not part of the header */
        if (rd.line == 1 && n >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0)
            memmove(line, line + 3, n - 2);
        if (line[strspn(line, " \t\r")] == '\0')
            continue;
        if (!have_header) {
            have_header = 1;
            parse_header(&rd, line, col, &ncol);
            if (rd.nprobs)
                break;
            continue;
        }
        if (out->n >= max_titles) {
            char buf[24];
            snprintf(buf, sizeof buf, "%zu", max_titles);
            problem(&rd, "line", "more than %s titles", buf);
            break;
        }
        int nf = csv_split(line, f, NCOLUMNS);
        if (nf != ncol) {
            char buf[64];
            snprintf(buf, sizeof buf, "%d, the header has %d", nf, ncol);
            if (nf < 0)
                problem(&rd, "line", "malformed CSV (an unclosed quote, or more columns than the "
                        "header's)%s", NULL);
            else
                problem(&rd, "line", "wrong number of columns: %s", buf);
            continue;
        }
        if (parse_row(&rd, f, col, max_record_id_bytes, out) < 0) {
            rc = -2;
            break;
        }
        /* the index + 1: t moves as it grows */
        if (out->n && out->t[out->n - 1].line == rd.line &&
            dict_set(out->by_record, out->t[out->n - 1].record, (void *)(uintptr_t)out->n,
                     NULL) < 0)
            rc = -2;
    }
    free(line);
    if (rc == 0 && !have_header) {
        rd.line = 0;
        problem(&rd, "header", "no header: the file is empty%s", NULL);
    }
    if (rc == 0 && rd.nprobs > max_shown)
        strbuf_printf(report, "%s: %zu more problems not shown\n", name, rd.nprobs - max_shown);
    if (rc == -2)
        strbuf_printf(report, "%s: out of memory while reading it (not a problem of the file)\n",
                      name);
    else if (rd.nprobs)
        rc = -1;
    return rc;
}
