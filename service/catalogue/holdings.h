/* holdings.h: a catalogue record as onloan needs it, and how copies are
 * read from the item fields of a MARC21 record.
 *
 * Records arrive as ISO 2709 (Z39.50) or MARCXML (SRU). YAZ decodes them
 * and converts their characters to UTF-8 (MARC-8 composed, per
 * record_charset), writing each in its plain "line" format; this module
 * only picks fields out of that text. Item fields differ per library
 * system, so a holdings mapping names the tag and the subfield codes:
 * "koha952" (Koha), "sirsi949" (SirsiDynix exports); an 852/876 mapping
 * slots in the same way. */
#ifndef ONLOAN_CATALOGUE_HOLDINGS_H
#define ONLOAN_CATALOGUE_HOLDINGS_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "catalogue/segment.h"
#include "core/strbuf.h"

enum copy_status {
    COPY_AVAILABLE,
    COPY_ON_LOAN,
    COPY_NOT_FOR_LOAN,   /* reference only, in processing, ... */
    COPY_UNAVAILABLE,    /* lost, withdrawn, missing */
    COPY_HELD,           /* on the hold shelf for another patron: not to be offered */
};

struct copy {
    char *branch;
    char *call_number;      /* may be NULL */
    char *location;         /* shelving location; may be NULL */
    enum copy_status status;
    char due[11];           /* YYYY-MM-DD when on loan and known, else "" */
};

/* The subject headings a bib keeps, at most: the first are the record's
 * most specific in most catalogues, and each may cost the answer a search. */
#define BIB_MAX_SUBJECTS 3

/* One bibliographic record with its copies. Shared (the catalogue cache and
 * requests hold references): use bib_ref/bib_unref, never free directly. */
struct bib {
    int refs;
    uint64_t fetched_ms;    /* monotonic time the catalogue said this */
    char *id;               /* local id, from the catalogue's id_field */
    char *title;
    char *author;           /* may be NULL */
    char *isbn;             /* may be NULL */
    char *year;             /* may be NULL */
    char *subjects[BIB_MAX_SUBJECTS];   /* 650 $a in order, then 655 $a; distinct */
    size_t nsubjects;
    struct segment segment;  /* format, audience, language (segment.h) */
    struct copy *copies;
    size_t ncopies;
    int text_repaired;      /* text that was not valid UTF-8 was repaired (U+FFFD) */
};

struct holdings_map {
    const char *tag;
    char branch, branch_fallback, call_number, location;
    char due;               /* date due: present means on loan */
    char not_for_loan;      /* non-zero value: not for loan */
    char lost, withdrawn;   /* non-zero value: unavailable */
    char status;            /* free-text current status (Sirsi $k) */
};

const struct holdings_map *holdings_map(enum holdings_mapping m);

/* Turns a catalogue's records into bibs: one per catalogue (it keeps a
 * YAZ decoder, a character converter and a buffer, reused for every
 * record). map is borrowed and must outlive the reader. Returns NULL with
 * the reason in err (out of memory, or a record_charset YAZ cannot
 * convert). */
struct marc_reader;
struct marc_reader *marc_reader_new(const char *record_charset, const struct holdings_map *map,
                                    const char *id_field, struct strbuf *err);
void marc_reader_free(struct marc_reader *r);
/* Builds a bib from one ISO 2709 record in record_charset (a MARC-8
 * catalogue's records that say UTF-8 in leader/09 are read as UTF-8), or
 * from one MARCXML record. Returns NULL with a reason in *why when the
 * record cannot be read or has no id or no title. A record goes to YAZ
 * only when marc_check.h passes it; one that does not is refused as
 * malformed, as is one YAZ cannot read. Caller owns the result (one
 * reference). */
struct bib *marc_reader_iso2709(struct marc_reader *r, const char *buf, size_t len,
                                const char **why);
struct bib *marc_reader_marcxml(struct marc_reader *r, const char *xml, size_t len,
                                const char **why);
/* Whether the last record these refused was malformed (not a MARC record
 * onloan can read: see marc_check.h), rather than one without an id or a
 * title. */
int marc_reader_malformed(const struct marc_reader *r);
/* The id such a record gives itself, when one can be read from it without
 * YAZ (marc_check.h), else NULL; valid until the reader's next record. */
const char *marc_reader_refused_id(const struct marc_reader *r);
struct bib *bib_ref(struct bib *b);
void bib_unref(struct bib *b);
/* Drops a reference to each of bibs[0 .. n) and frees the array. */
void bib_array_free(struct bib **bibs, size_t n);

/* At least one copy available now (optionally: at this branch). */
int bib_available(const struct bib *b, const char *branch);
/* Earliest due date of the copies on loan, or NULL. */
const char *bib_expected_back(const struct bib *b);
const char *copy_status_name(enum copy_status s);

#endif
