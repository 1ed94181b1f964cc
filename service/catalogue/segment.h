/* segment.h: who a title is for, from a MARC21 record's fixed fields:
 * its format (leader/06-07, 007/00, 008/23), audience (008/22) and
 * language (008/35-37). An alternative fits the patron who wanted a title
 * when it shares the dimensions the catalogue's `fit` names (config.h).
 *
 * Only the fixed fields as YAZ decoded them are read (holdings.c hands
 * them over); nothing here parses a record. A dimension a record does not
 * say (blank, fill or "und") is unknown, and an unknown dimension never
 * keeps a title out: a library that does not code audience still gets
 * alternatives. */
#ifndef ONLOAN_CATALOGUE_SEGMENT_H
#define ONLOAN_CATALOGUE_SEGMENT_H

#include <stddef.h>

#include "core/config.h"      /* FIT_* */

enum bib_format {
    BIB_FORMAT_UNKNOWN,
    BIB_FORMAT_BOOK,            /* leader/06 a or t */
    BIB_FORMAT_LARGE_PRINT,     /* ... with 008/23 d */
    BIB_FORMAT_EBOOK,           /* ... with 008/23 o, q or s, or 007/00 c */
    BIB_FORMAT_AUDIOBOOK,       /* leader/06 i: nonmusical sound recording */
    BIB_FORMAT_MUSIC,           /* leader/06 j: musical sound recording */
    BIB_FORMAT_DVD,             /* leader/06 g with 007/00 v (or no 007) */
    BIB_FORMAT_PERIODICAL,      /* leader/07 s: a serial, whatever its form */
};

enum bib_audience { AUDIENCE_UNKNOWN, AUDIENCE_JUVENILE, AUDIENCE_ADULT };

#define SEGMENT_LANGUAGE_BYTES 3

struct segment {
    enum bib_format format;
    enum bib_audience audience;
    char language[SEGMENT_LANGUAGE_BYTES + 1];  /* MARC code ("dut"), or "" unknown */
};

/* The segment of a record from its leader (leader_len bytes), its first
 * 007 and its 008 (either may be NULL or short: what is missing is
 * unknown). */
void segment_read(struct segment *out, const char *leader, size_t leader_len,
                  const char *f007, size_t f007_len, const char *f008, size_t f008_len);

/* Whether a candidate fits the wanted title on every dimension in fit
 * (FIT_* bits):
 * both say the same, or either does not say. */
int segment_fits(const struct segment *wanted, const struct segment *candidate, unsigned fit);

/* The answer's names: "book", "large_print", "ebook", "audiobook",
 * "music", "dvd", "periodical"; "juvenile", "adult"; NULL for unknown. */
const char *segment_format_name(enum bib_format f);
const char *segment_audience_name(enum bib_audience a);
/* The language code, or NULL when unknown. */
const char *segment_language(const struct segment *s);

#endif
