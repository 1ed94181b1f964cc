/* catalogue_query.c: see catalogue_query.h. */
#include "catalogue/catalogue_query.h"

#include <stddef.h>
#include <string.h>

/* Over Z39.50 ids are looked up with structure "key" (4=3), which Zebra
 * answers from an index without normalisation (type 0 in onloan.idx, where
 * the .abs files put the local number besides its word and phrase forms):
 * an exact match, and about half the cost per term of the ICU phrase index.
 *
 * With id_query "regex" the ids are the alternatives of a regular
 * expression (Bib-1 truncation 102), f1|f2|f356: Zebra matches whole
 * terms, so f1 does not find f10, and it looks the alternatives up in one
 * pass over its dictionary instead of one per id: a batch of 50 costs it
 * about 60 % of the ORed terms' time, and its query is shorter to
 * build, send and parse. Of the characters an id may have (params.h), '.'
 * and '-' mean something in a regular expression and go in brackets.
 * Zebra cuts a term longer than REGEX_TERM_MAX short without a word (it
 * then matches nothing), so a long batch is split into several terms,
 * ORed, and an id too long for a term of its own in that form (up to
 * max_record_id_bytes of '.' and '-', three bytes each) is asked as the
 * plain key term that "or" writes. */
enum { REGEX_TERM_MAX = 511 };      /* Zebra's IT_MAX_WORD - 1 */

static size_t regex_id_len(const char *id)
{
    size_t len = 0;
    for (; *id; id++)
        len += (*id == '.' || *id == '-') ? 3 : 1;
    return len;
}

/* The term that starts at ids[from]: how many ids it takes (at least
 * one), and whether it is the one id as a plain key term. */
static size_t regex_term_ids(const char *const *ids, size_t from, size_t n, int *plain)
{
    size_t len = regex_id_len(ids[from]), k = 1;
    *plain = len > REGEX_TERM_MAX;
    while (!*plain && from + k < n && len + 1 + regex_id_len(ids[from + k]) <= REGEX_TERM_MAX)
        len += 1 + regex_id_len(ids[from + k++]);
    return k;
}

static int put_regex_id(struct strbuf *out, const char *id)
{
    int rc = 0;
    for (const char *c = id; *c; c++) {
        char bracketed[3] = {'[', *c, ']'};
        rc |= (*c == '.' || *c == '-') ? strbuf_append(out, bracketed, 3) : strbuf_append(out, c, 1);
    }
    return rc;
}

/* One id, exactly, from the key index. */
static int put_key_term(struct strbuf *out, const char *id)
{
    return strbuf_puts(out, "@attr 1=12 @attr 4=3 \"") | strbuf_puts(out, id) |
           strbuf_append(out, "\"", 1);
}

static int build_regex_query(const char *const *ids, size_t n, struct strbuf *out)
{
    int rc = 0, plain;
    size_t terms = 0;
    for (size_t i = 0; i < n; i += regex_term_ids(ids, i, n, &plain))
        terms++;
    for (size_t t = 1; t < terms; t++)
        rc |= strbuf_puts(out, "@or ");
    for (size_t i = 0; i < n;) {
        size_t k = regex_term_ids(ids, i, n, &plain);
        if (i)
            rc |= strbuf_append(out, " ", 1);
        if (plain) {
            rc |= put_key_term(out, ids[i++]);
            continue;
        }
        rc |= strbuf_puts(out, "@attr 1=12 @attr 4=3 @attr 5=102 \"");
        for (size_t j = i; j < i + k; j++) {
            if (j > i)
                rc |= strbuf_append(out, "|", 1);
            rc |= put_regex_id(out, ids[j]);
        }
        rc |= strbuf_append(out, "\"", 1);
        i += k;
    }
    return rc;
}

int catalogue_build_query(enum catalogue_protocol proto, enum id_query form,
                          const char *const *ids, size_t n, struct strbuf *out)
{
    int rc = 0;
    if (proto == CATALOGUE_Z3950 && form == ID_QUERY_REGEX)
        return build_regex_query(ids, n, out) ? -1 : 0;
    for (size_t i = 0; proto == CATALOGUE_Z3950 && i + 1 < n; i++)
        rc |= strbuf_puts(out, "@or ");
    for (size_t i = 0; i < n; i++) {
        if (i)
            rc |= strbuf_puts(out, proto == CATALOGUE_Z3950 ? " " : " or ");
        rc |= proto == CATALOGUE_Z3950 ? put_key_term(out, ids[i])
                                       : strbuf_printf(out, "rec.id==\"%s\"", ids[i]);
    }
    return rc ? -1 : 0;
}

/* A search term goes between double quotes: quotes and backslashes, which
 * could end it early, become blanks (they carry no meaning in a name or
 * subject heading). With max_hits (Z39.50 only), Zebra's global approximate
 * limit (Bib-1 extension attribute 12) stops counting past max_hits and
 * estimates the rest: a subject in thousands of records costs it the walk
 * over max_hits of them instead of all (about 100 us instead of 220 us
 * here), and the estimate is still above max_hits, so the search is still
 * seen as too broad. Up to max_hits the count is exact. */
int catalogue_build_search(enum catalogue_protocol proto, enum search_field field,
                           const char *term, size_t max_hits, struct strbuf *out)
{
    struct strbuf t = {0};
    for (const char *p = term; *p; p++)
        if (strbuf_append(&t, *p == '"' || *p == '\\' ? " " : p, 1) < 0) {
            strbuf_free(&t);
            return -1;
        }
    int rc;
    if (proto == CATALOGUE_Z3950)
        rc = (max_hits ? strbuf_printf(out, "@attr 12=%zu ", max_hits) : 0) |
             strbuf_printf(out, "@attr 1=%d @attr 4=1 \"%s\"", field == SEARCH_AUTHOR ? 1003 : 21,
                           strbuf_cstr(&t));
    else
        rc = strbuf_printf(out, "%s=\"%s\"", field == SEARCH_AUTHOR ? "dc.creator" : "dc.subject",
                           strbuf_cstr(&t));
    strbuf_free(&t);
    return rc;
}
