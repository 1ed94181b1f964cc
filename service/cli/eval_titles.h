/* eval_titles.h: TITLES.csv, the catalogue onloan eval --titles serves
 * from.
 *
 * A CSV file (RFC 4180: a quoted value may hold commas, "" and line
 * breaks, each line break becoming one blank) whose header names its
 * columns, in any order: record and title are required; author,
 * subjects, year, language, audience and format are optional. Any other
 * column is an error (a misspelt one would quietly be no column). Per
 * row:
 *   record    the local id loans name: a record id (core/ids.h), once
 *   title     not empty
 *   author    the main entry (MARC 100); empty: none
 *   subjects  headings separated by ';' (MARC 650 each, blanks around
 *             them dropped; the first is the one the answer path
 *             searches); at most EVAL_MAX_SUBJECTS
 *   year      four digits, or empty (MARC 008/07-10 and 264 $c)
 *   language  a MARC language code, three letters a-z (008/35-37, 041)
 *   audience  a MARC 008/22 code (a b c d e f g j) or its name: preschool,
 *             primary, pre-adolescent, adolescent, adult, specialized,
 *             general, juvenile (either in any case)
 *   format    book (the default), periodical, article, film, audiobook,
 *             music, map or ebook (any case): the leader's type and level
 * Text is UTF-8 without control characters (MARC's delimiters are among
 * them), each value at most EVAL_TITLE_MAX_VALUE_BYTES. Every row is
 * checked; a problem names the line (a row's first) and the column. */
#ifndef ONLOAN_CLI_EVAL_TITLES_H
#define ONLOAN_CLI_EVAL_TITLES_H

#include <stddef.h>

#include "core/dict.h"
#include "core/strbuf.h"

#define EVAL_MAX_SUBJECTS 64
#define EVAL_TITLE_MAX_VALUE_BYTES 4000     /* a MARC field holds at most 9,999 bytes */
#define EVAL_MAX_TITLES 2000000

enum title_format {
    FORMAT_BOOK, FORMAT_PERIODICAL, FORMAT_ARTICLE, FORMAT_FILM, FORMAT_AUDIOBOOK,
    FORMAT_MUSIC, FORMAT_MAP, FORMAT_EBOOK, FORMAT_LARGE_PRINT, FORMAT_COUNT
};

struct eval_title {
    char *record, *title;           /* owned */
    char *author;                   /* owned; NULL: none */
    char **subjects;                /* owned */
    size_t nsubjects;
    char year[5];                   /* "" when not given */
    char language[4];               /* "" when not given */
    char audience;                  /* MARC 008/22 code, or 0 */
    enum title_format format;
    size_t line;                    /* in the file */
};

struct eval_titles {
    char *name;                     /* the file's, for messages (owned) */
    struct eval_title *t;           /* owned, in file order */
    size_t n, cap;
    struct dict *by_record;         /* record -> its index in t, plus 1 */
};

/* Reads every row of text (len bytes; name for messages) into out.
 * Returns 0; -1 with the problems in report, each "name:line: column:
 * what is wrong", the first max_shown of them then how many more; or -2
 * when memory ran out (said in report). At most max_titles rows
 * (EVAL_MAX_TITLES for the CLI). max_record_id_bytes: limits.max_record_id_bytes. */
int eval_titles_parse(const char *name, const char *text, size_t len, size_t max_titles,
                      int max_record_id_bytes, size_t max_shown, struct eval_titles *out,
                      struct strbuf *report);
void eval_titles_free(struct eval_titles *ts);
/* The title of record, or NULL. */
const struct eval_title *eval_titles_find(const struct eval_titles *ts, const char *record);

/* The format's name, and the name of an audience code ("adult"). */
const char *eval_format_name(enum title_format f);
const char *eval_audience_name(char code);

#endif
