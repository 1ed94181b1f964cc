/* holdings.c: MARC record -> struct bib; see holdings.h. */
#include "catalogue/holdings.h"

#include <ctype.h>
#include <limits.h>
#include <libxml/parser.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaz/marcdisp.h>
#include <yaz/wrbuf.h>
#include <yaz/yaz-iconv.h>

#include "catalogue/marc_check.h"
#include "core/strbuf.h"
#include "core/utf8.h"

static const struct holdings_map holdings_maps[] = {
    /* Koha: $a home branch, $b holding branch, $o call number, $c shelving
     * location, $q date due, $7 not for loan, $1 lost, $0 withdrawn. */
    [HOLDINGS_KOHA952] = {"952", 'b', 'a', 'o', 'c', 'q', '7', '1', '0', 0},
    /* SirsiDynix item export: $m library, $a call number, $l home location,
     * $k current location (sirsi_locations: CHECKEDOUT, HOLDS, LOST, ...).
     * No due date. */
    [HOLDINGS_SIRSI949] = {"949", 'm', 0, 'a', 'l', 0, 0, 0, 0, 'k'},
};

const struct holdings_map *holdings_map(enum holdings_mapping m)
{
    return &holdings_maps[m];
}

const char *copy_status_name(enum copy_status s)
{
    switch (s) {
    case COPY_AVAILABLE: return "available";
    case COPY_ON_LOAN: return "on_loan";
    case COPY_NOT_FOR_LOAN: return "not_for_loan";
    case COPY_UNAVAILABLE: return "unavailable";
    case COPY_HELD: return "held";
    }
    return "unknown";
}

/* ---- one record, as YAZ writes it in its "line" format --------------------
 *
 * yaz_marc_write_line writes the leader and a newline, then each field as
 * its tag, a blank and either the control field's data or the indicators
 * followed by every subfield (subfield_str, the code, a blank, the data),
 * each field ended by endline_str; a comment it adds about a damaged record
 * is a line "(...)" of its own. With the ISO 2709 delimiters as subfield_str
 * and endline_str, which no decoded data can contain, the text splits
 * without ambiguity. */

#define MARC_SUBFIELD '\x1f'
#define MARC_FIELD_END '\x1e'

/* A span of the rendered text (not NUL-terminated). */
struct span {
    const char *s;
    size_t n;
};

struct field {
    char tag[4];
    struct span body;       /* control data, or indicators and subfields */
};

static int span_is(struct span v, const char *lit)
{
    size_t n = strlen(lit);
    return v.s && v.n == n && memcmp(v.s, lit, n) == 0;
}

static int field_is_control(const struct field *f)
{
    return !memchr(f->body.s, MARC_SUBFIELD, f->body.n);
}

/* First subfield `code` of a data field; .s is NULL when there is none. */
static struct span subfield(const struct field *f, char code)
{
    struct span none = {NULL, 0};
    const char *p = f->body.s, *end = p + f->body.n;
    if (!code)
        return none;
    while ((p = memchr(p, MARC_SUBFIELD, (size_t)(end - p)))) {
        const char *c = ++p;
        const char *next = memchr(p, MARC_SUBFIELD, (size_t)(end - p));
        if (!next)
            next = end;
        /* a one-byte code, then the blank YAZ puts before the data */
        if (next - c >= 2 && c[0] == code && c[1] == ' ')
            return (struct span){c + 2, (size_t)(next - c - 2)};
        p = next;
    }
    return none;
}

/* The next field from *p (before end), skipping YAZ's comment lines.
 * Returns 0 when there is none left. */
static int next_field(const char **p, const char *end, struct field *f)
{
    while (*p < end) {
        const char *s = *p;
        const char *e = memchr(s, MARC_FIELD_END, (size_t)(end - s));
        if (!e)
            return 0;       /* only the final newline (or a comment) is left */
        *p = e + 1;
        while (s < e && *s == '(') {        /* "(comment)\n" */
            const char *nl = memchr(s, '\n', (size_t)(e - s));
            if (!nl)
                break;
            s = nl + 1;
        }
        if (e - s < 4 || s[3] != ' ')
            continue;
        memcpy(f->tag, s, 3);
        f->tag[3] = '\0';
        f->body = (struct span){s + 4, (size_t)(e - s - 4)};
        return 1;
    }
    return 0;
}

/* ISBD punctuation that ends a title or name element ("Title /",
 * "Heylin, Clinton."), but not the full stop of an initial ("J.K."). */
static int isbd_end(const char *s, size_t n)
{
    char c = s[n - 1];
    if (c == '/' || c == ':' || c == ';' || c == ',' || c == '=')
        return 1;
    return c == '.' && !(n >= 2 && isupper((unsigned char)s[n - 2]) &&
                         (n == 2 || s[n - 3] == ' ' || s[n - 3] == '.'));
}

/* Copies v without blanks at either end and, with isbd, without ISBD
 * punctuation at its end (caller frees). NULL for none or nothing left. */
static char *copy_trimmed(struct span v, int isbd)
{
    if (!v.s)
        return NULL;
    const char *s = v.s;
    size_t n = v.n;
    while (n && *s == ' ') {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || (isbd && isbd_end(s, n))))
        n--;
    return n ? strndup(s, n) : NULL;
}

/* Titles and names lose ISBD punctuation; call numbers and locations stay
 * exactly as catalogued. */
static char *trimmed(struct span v)
{
    return copy_trimmed(v, 1);
}

static char *stripped(struct span v)
{
    return copy_trimmed(v, 0);
}

static int truthy(struct span v)
{
    while (v.n && *v.s == ' ') {
        v.s++;
        v.n--;
    }
    return v.n && !span_is(v, "0");
}

/* A date due as Koha writes it ("2026-12-03" or "2026-12-03 23:59:00"). */
static void copy_due(struct copy *c, struct span v)
{
    if (v.n >= 10 && isdigit((unsigned char)v.s[0]) && v.s[4] == '-' && v.s[7] == '-') {
        memcpy(c->due, v.s, 10);
        c->due[10] = '\0';
    }
}

/* SirsiDynix current locations ($k) of copies not on the shelf. Any
 * other location is a shelf, or a temporary one (DISPLAY, NEWBOOKS...),
 * where the copy can be taken; "LOST-..." (LOST-ASSUM, LOST-CLAIM, ...)
 * is lost as LOST is. */
static const struct {
    const char *code;
    enum copy_status status;
} sirsi_locations[] = {
    {"CHECKEDOUT", COPY_ON_LOAN},
    {"HOLDS", COPY_HELD},           /* on the hold shelf, waiting for its holder */
    {"LOST", COPY_UNAVAILABLE},
    {"MISSING", COPY_UNAVAILABLE},
    {"DISCARD", COPY_UNAVAILABLE},
    {"WITHDRAWN", COPY_UNAVAILABLE},
    {"DAMAGE", COPY_UNAVAILABLE},
    {"DAMAGED", COPY_UNAVAILABLE},
    {"BINDERY", COPY_UNAVAILABLE},
    {"REPAIR", COPY_UNAVAILABLE},
    {"INTRANSIT", COPY_UNAVAILABLE},    /* on its way between branches */
    {"TRANSIT", COPY_UNAVAILABLE},
    {"ON-ORDER", COPY_NOT_FOR_LOAN},
    {"INPROCESS", COPY_NOT_FOR_LOAN},
    {"REFERENCE", COPY_NOT_FOR_LOAN},
};

static enum copy_status sirsi_status(struct span current)
{
    for (size_t i = 0; i < sizeof sirsi_locations / sizeof *sirsi_locations; i++)
        if (span_is(current, sirsi_locations[i].code))
            return sirsi_locations[i].status;
    if (current.n > 5 && memcmp(current.s, "LOST-", 5) == 0)
        return COPY_UNAVAILABLE;
    return COPY_AVAILABLE;
}

static int add_copy(struct bib *b, const struct field *f, const struct holdings_map *map)
{
    struct span branch = subfield(f, map->branch);
    if (!branch.n)
        branch = subfield(f, map->branch_fallback);
    if (!branch.n)
        return 0;           /* an item nobody can fetch: not a copy */
    struct copy *copies = realloc(b->copies, (b->ncopies + 1) * sizeof *copies);
    if (!copies)
        return -1;
    b->copies = copies;
    struct copy *c = &copies[b->ncopies++];
    memset(c, 0, sizeof *c);
    c->branch = strndup(branch.s, branch.n);
    c->call_number = stripped(subfield(f, map->call_number));
    c->location = stripped(subfield(f, map->location));
    c->status = COPY_AVAILABLE;
    struct span due = subfield(f, map->due);
    if (truthy(subfield(f, map->lost)) || truthy(subfield(f, map->withdrawn)))
        c->status = COPY_UNAVAILABLE;
    else if (truthy(subfield(f, map->not_for_loan)))
        c->status = COPY_NOT_FOR_LOAN;
    else if (due.n) {
        c->status = COPY_ON_LOAN;
        copy_due(c, due);
    } else if (map->status)
        c->status = sirsi_status(subfield(f, map->status));
    return c->branch ? 0 : -1;
}

/* Replaces *s by its repaired copy when it is not valid UTF-8. */
static int repair_text(char **s, int *repaired)
{
    if (!*s || utf8_valid(*s, strlen(*s)))
        return 0;
    char *fixed = utf8_repaired(*s);
    if (!fixed)
        return -1;
    free(*s);
    *s = fixed;
    *repaired = 1;
    return 0;
}

/* A record that says it is UTF-8 (leader/09 "a") need not be: its text
 * is made valid, the bad bytes shown as U+FFFD, and the bib says so. */
static int bib_repair_text(struct bib *b)
{
    int rc = repair_text(&b->id, &b->text_repaired) | repair_text(&b->title, &b->text_repaired) |
             repair_text(&b->author, &b->text_repaired) | repair_text(&b->isbn, &b->text_repaired) |
             repair_text(&b->year, &b->text_repaired);
    for (size_t i = 0; i < b->nsubjects; i++)
        rc |= repair_text(&b->subjects[i], &b->text_repaired);
    for (size_t i = 0; i < b->ncopies; i++) {
        struct copy *c = &b->copies[i];
        rc |= repair_text(&c->branch, &b->text_repaired) |
              repair_text(&c->call_number, &b->text_repaired) |
              repair_text(&c->location, &b->text_repaired);
    }
    return rc;
}

/* Appends v to spans (*n of them, room for BIB_MAX_SUBJECTS) if it is
 * there and there is room. */
static void keep_span(struct span *spans, size_t *n, struct span v)
{
    if (v.s && *n < BIB_MAX_SUBJECTS)
        spans[(*n)++] = v;
}

/* Keeps s (owned) as b's next subject heading, unless it is empty or one
 * b has already. */
static void add_subject(struct bib *b, char *s)
{
    for (size_t i = 0; s && i < b->nsubjects; i++)
        if (strcmp(b->subjects[i], s) == 0) {
            free(s);
            return;
        }
    if (s)
        b->subjects[b->nsubjects++] = s;
}

/* Builds a bib from one record in YAZ's line format (see above). */
static struct bib *bib_from_lines(const char *text, size_t len, const struct holdings_map *map,
                                  const char *id_field, const char **why)
{
    struct bib *b = calloc(1, sizeof *b);
    if (!b) {
        *why = "out of memory";
        return NULL;
    }
    b->refs = 1;
    struct span none = {NULL, 0};
    struct span title_a = none, title_b = none, author = none, added = none;
    struct span isbn = none, year = none;
    struct span topics[BIB_MAX_SUBJECTS], genres[BIB_MAX_SUBJECTS];
    size_t ntopics = 0, ngenres = 0;
    char id_code = id_field[3] == '$' ? id_field[4] : 0;
    struct span f007 = none, f008 = none;
    const char *p = text, *end = text + len;
    const char *nl = memchr(p, '\n', len);     /* the leader's line */
    struct span leader = {text, nl ? (size_t)(nl - text) : 0};
    p = nl ? nl + 1 : end;
    struct field f;
    while (next_field(&p, end, &f)) {
        const char *tag = f.tag;
        if (field_is_control(&f) && strcmp(tag, "007") == 0 && !f007.s)
            f007 = f.body;
        else if (field_is_control(&f) && strcmp(tag, "008") == 0 && !f008.s)
            f008 = f.body;
        if (strncmp(tag, id_field, 3) == 0 && !b->id) {
            if (id_code && !field_is_control(&f))
                b->id = stripped(subfield(&f, id_code));
            else if (!id_code && field_is_control(&f))
                b->id = stripped(f.body);
        }
        if (field_is_control(&f))
            continue;
        if (strcmp(tag, "245") == 0 && !title_a.s) {
            title_a = subfield(&f, 'a');
            title_b = subfield(&f, 'b');
        } else if ((strcmp(tag, "100") == 0 || strcmp(tag, "110") == 0) && !author.s)
            author = subfield(&f, 'a');
        else if (strcmp(tag, "700") == 0 && !added.s)
            added = subfield(&f, 'a');
        else if (strcmp(tag, "020") == 0 && !isbn.s)
            isbn = subfield(&f, 'a');
        else if ((strcmp(tag, "264") == 0 || strcmp(tag, "260") == 0) && !year.s)
            year = subfield(&f, 'c');
        else if (strcmp(tag, "650") == 0)
            keep_span(topics, &ntopics, subfield(&f, 'a'));
        else if (strcmp(tag, "655") == 0)
            keep_span(genres, &ngenres, subfield(&f, 'a'));
        else if (strcmp(tag, map->tag) == 0 && add_copy(b, &f, map) < 0) {
            *why = "out of memory";
            bib_unref(b);
            return NULL;
        }
    }
    if (!b->id || !title_a.s) {
        *why = b->id ? "record has no title (245 $a)" : "record has no local id";
        bib_unref(b);
        return NULL;
    }
    struct strbuf t = {0};
    char *a = trimmed(title_a), *bpart = trimmed(title_b);
    strbuf_puts(&t, a ? a : "");
    if (bpart) {
        strbuf_puts(&t, ": ");
        strbuf_puts(&t, bpart);
    }
    free(a);
    free(bpart);
    b->title = strbuf_steal(&t);
    segment_read(&b->segment, leader.s, leader.n, f007.s, f007.n, f008.s, f008.n);
    b->author = trimmed(author.s ? author : added);
    for (size_t i = 0; i < ntopics + ngenres && b->nsubjects < BIB_MAX_SUBJECTS; i++)
        add_subject(b, trimmed(i < ntopics ? topics[i] : genres[i - ntopics]));
    if (isbn.s) {
        size_t n = 0;
        while (n < isbn.n && !strchr(" (:;", isbn.s[n]))
            n++;
        b->isbn = n ? strndup(isbn.s, n) : NULL;
    }
    if (year.s) {
        size_t i = 0, n = 0;
        while (i < year.n && !isdigit((unsigned char)year.s[i]))
            i++;
        while (i + n < year.n && n < 4 && isdigit((unsigned char)year.s[i + n]))
            n++;
        b->year = n == 4 ? strndup(year.s + i, 4) : NULL;
    }
    if (!b->title || bib_repair_text(b) < 0) {
        *why = "out of memory";
        bib_unref(b);
        return NULL;
    }
    return b;
}

/* ---- the reader ---------------------------------------------------------- */

struct marc_reader {
    const struct holdings_map *map;
    char *id_field;
    char *charset;          /* of the records; MARC-8 ones may say UTF-8 in leader/09 */
    yaz_iconv_t to_utf8;    /* from charset; NULL when charset is UTF-8 */
    yaz_marc_t mt;
    WRBUF text;
    int malformed;          /* the last record refused could not be read as MARC */
    struct strbuf refused_id;   /* ... and the id it gives itself, if any */
};

static int charset_is_utf8(const char *cs)
{
    return strcasecmp(cs, "utf-8") == 0 || strcasecmp(cs, "utf8") == 0;
}

struct marc_reader *marc_reader_new(const char *record_charset, const struct holdings_map *map,
                                    const char *id_field, struct strbuf *err)
{
    struct marc_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->id_field = strdup(id_field)) || !(r->charset = strdup(record_charset)) ||
        !(r->mt = yaz_marc_create()) || !(r->text = wrbuf_alloc())) {
        strbuf_puts(err, "out of memory");
        marc_reader_free(r);
        return NULL;
    }
    r->map = map;
    if (!charset_is_utf8(record_charset) &&
        !(r->to_utf8 = yaz_iconv_open("utf-8", record_charset))) {
        strbuf_printf(err, "record_charset %s: YAZ cannot convert it to UTF-8", record_charset);
        marc_reader_free(r);
        return NULL;
    }
    yaz_marc_xml(r->mt, YAZ_MARC_LINE);
    yaz_marc_subfield_str(r->mt, (const char[]){MARC_SUBFIELD, '\0'});
    yaz_marc_endline_str(r->mt, (const char[]){MARC_FIELD_END, '\0'});
    return r;
}

void marc_reader_free(struct marc_reader *r)
{
    if (!r)
        return;
    if (r->to_utf8)
        yaz_iconv_close(r->to_utf8);
    if (r->mt)
        yaz_marc_destroy(r->mt);
    if (r->text)
        wrbuf_destroy(r->text);
    strbuf_free(&r->refused_id);
    free(r->charset);
    free(r->id_field);
    free(r);
}

int marc_reader_malformed(const struct marc_reader *r)
{
    return r->malformed;
}

const char *marc_reader_refused_id(const struct marc_reader *r)
{
    return r->malformed && r->refused_id.len ? strbuf_cstr(&r->refused_id) : NULL;
}

/* Every record starts out malformed until YAZ has read it. */
static void reader_start(struct marc_reader *r)
{
    r->malformed = 1;
    strbuf_reset(&r->refused_id);
}

struct bib *marc_reader_iso2709(struct marc_reader *r, const char *buf, size_t len,
                                const char **why)
{
    /* YAZ sees only what marc_check passes, and only the record's bytes */
    size_t reclen;
    reader_start(r);
    if (marc_check_iso2709(buf, len, &reclen, why) < 0) {
        marc_refused_id_iso2709(buf, len, r->id_field, &r->refused_id);
        return NULL;
    }
    /* A MARC-8 catalogue may hold UTF-8 records (leader/09 "a"): those pass
     * unchanged, as YAZ's own record rendering does. */
    int utf8 = !r->to_utf8 || yaz_marc_check_marc21_coding(r->charset, buf, (int)reclen);
    yaz_marc_iconv(r->mt, utf8 ? NULL : r->to_utf8);
    wrbuf_rewind(r->text);
    if (yaz_marc_decode_wrbuf(r->mt, buf, (int)reclen, r->text) <= 0) {
        *why = "not an ISO 2709 record";
        marc_refused_id_iso2709(buf, reclen, r->id_field, &r->refused_id);
        return NULL;
    }
    r->malformed = 0;
    return bib_from_lines(wrbuf_buf(r->text), wrbuf_len(r->text), r->map, r->id_field, why);
}

struct bib *marc_reader_marcxml(struct marc_reader *r, const char *xml, size_t len,
                                const char **why)
{
    reader_start(r);
    if (len > INT_MAX) {
        *why = "record too large";
        return NULL;
    }
    xmlDocPtr doc = xmlReadMemory(xml, (int)len, NULL, NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR |
                                      XML_PARSE_NOWARNING);
    if (!doc) {
        *why = "not an XML document";
        return NULL;
    }
    xmlNode *root = xmlDocGetRootElement(doc);
    int rc = marc_check_marcxml(root, why);
    if (rc == 0) {
        yaz_marc_iconv(r->mt, NULL);        /* XML is read as UTF-8 already */
        wrbuf_rewind(r->text);
        rc = yaz_marc_read_xml(r->mt, root);
        if (rc == 0)
            rc = yaz_marc_write_line(r->mt, r->text);
        if (rc != 0)
            *why = "not a MARCXML record";
    }
    if (rc != 0)
        marc_refused_id_marcxml(root, r->id_field, &r->refused_id);
    xmlFreeDoc(doc);
    if (rc != 0)
        return NULL;
    r->malformed = 0;
    return bib_from_lines(wrbuf_buf(r->text), wrbuf_len(r->text), r->map, r->id_field, why);
}

struct bib *bib_ref(struct bib *b)
{
    b->refs++;
    return b;
}

void bib_unref(struct bib *b)
{
    if (!b || --b->refs > 0)
        return;
    for (size_t i = 0; i < b->ncopies; i++) {
        free(b->copies[i].branch);
        free(b->copies[i].call_number);
        free(b->copies[i].location);
    }
    free(b->copies);
    free(b->id);
    free(b->title);
    free(b->author);
    free(b->isbn);
    free(b->year);
    for (size_t i = 0; i < b->nsubjects; i++)
        free(b->subjects[i]);
    free(b);
}

void bib_array_free(struct bib **bibs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        bib_unref(bibs[i]);
    free(bibs);
}

int bib_available(const struct bib *b, const char *branch)
{
    for (size_t i = 0; i < b->ncopies; i++)
        if (b->copies[i].status == COPY_AVAILABLE &&
            (!branch || strcmp(b->copies[i].branch, branch) == 0))
            return 1;
    return 0;
}

const char *bib_expected_back(const struct bib *b)
{
    const char *best = NULL;
    for (size_t i = 0; i < b->ncopies; i++) {
        const struct copy *c = &b->copies[i];
        if (c->status == COPY_ON_LOAN && c->due[0] && (!best || strcmp(c->due, best) < 0))
            best = c->due;
    }
    return best;
}
