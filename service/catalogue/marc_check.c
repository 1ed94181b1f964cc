/* marc_check.c: the checks in front of YAZ; see marc_check.h. */
#include "catalogue/marc_check.h"

#include <string.h>

#include "core/ids.h"

#define RECORD_END '\x1d'
#define FIELD_END '\x1e'
#define DELIMITER '\x1f'
#define LEADER_LEN 24
#define ENTRY_LEN 12            /* tag 3, field length 4, start 5: entry map "450" */
#define MIN_RECORD_LEN (LEADER_LEN + 2)     /* an empty directory and the end */

/* The n digits at s as a number, or -1 when one is not a digit. */
static long digits(const char *s, size_t n)
{
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int printable(char c)
{
    return c >= 0x20 && c <= 0x7e;
}

/* A subfield code: one byte, a character in every character set YAZ may
 * read the record in, that is not a blank. */
static int code_char(char c)
{
    return c > 0x20 && c <= 0x7e;
}

static int alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* The field of n bytes at buf + at (inside the data area of a record of
 * reclen bytes); NULL when YAZ may read it. */
static const char *check_field(const char *buf, size_t reclen, size_t at, size_t n, int control)
{
    const char *f = buf + at;
    if (f[n - 1] != FIELD_END)
        return "ISO 2709: a field does not end with a field terminator";
    if (memchr(f, FIELD_END, n - 1))
        return "ISO 2709: a field holds a field terminator before its end";
    if (memchr(f, RECORD_END, n - 1))
        return "ISO 2709: a field holds a record terminator";
    if (control) {
        if (memchr(f, DELIMITER, n - 1))
            return "ISO 2709: a control field holds a subfield delimiter";
        /* YAZ takes a 00X field for a DanMARC one with subfields when its
         * 3rd or 4th byte is a delimiter, and looks without bounds */
        if (at + 4 > reclen || f[2] == DELIMITER || f[3] == DELIMITER)
            return "ISO 2709: a control field ends the record too closely";
        return NULL;
    }
    if (n < 3)
        return "ISO 2709: a data field is shorter than its indicators";
    if (!printable(f[0]) || !printable(f[1]))
        return "ISO 2709: an indicator is not a printable ASCII character";
    if (f[2] != DELIMITER && f[2] != FIELD_END)
        return "ISO 2709: a data field has no subfield delimiter after its indicators";
    for (size_t i = 2; i + 1 < n; i++)
        if (f[i] == DELIMITER && f[i + 1] != DELIMITER && f[i + 1] != FIELD_END &&
            !code_char(f[i + 1]))
            return "ISO 2709: a subfield code is not a printable ASCII character";
    return NULL;
}

/* The reason buf (len bytes) may not go to YAZ, or NULL with the record's
 * length in *reclen. */
static const char *check_iso2709(const char *buf, size_t len, long *reclen)
{
    if (len < LEADER_LEN)
        return "ISO 2709: shorter than a leader";
    long rl = digits(buf, 5);
    if (rl < 0)
        return "ISO 2709: the record length (leader/00-04) is not a number";
    if (rl < MIN_RECORD_LEN)
        return "ISO 2709: the record length (leader/00-04) is too small";
    if ((size_t)rl > len)
        return "ISO 2709: the record length (leader/00-04) is more than the bytes received";
    for (size_t i = 0; i < LEADER_LEN; i++)
        if (!printable(buf[i]))
            return "ISO 2709: the leader holds a byte that is not printable ASCII";
    if (buf[10] != '2' || buf[11] != '2')
        return "ISO 2709: indicator count and subfield code length (leader/10-11) are not 22";
    if (memcmp(buf + 20, "450", 3) != 0)
        return "ISO 2709: the entry map (leader/20-22) is not 450";
    long base = digits(buf + 12, 5);
    if (base < 0)
        return "ISO 2709: the base address (leader/12-16) is not a number";
    if (base < LEADER_LEN + 1 || base > rl - 1)
        return "ISO 2709: the base address (leader/12-16) is outside the record";
    if ((base - 1 - LEADER_LEN) % ENTRY_LEN != 0 || buf[base - 1] != FIELD_END)
        return "ISO 2709: the directory does not end where the base address says";
    if (buf[rl - 1] != RECORD_END)
        return "ISO 2709: the record does not end with a record terminator";
    for (long e = LEADER_LEN; e < base - 1; e += ENTRY_LEN) {
        const char *ent = buf + e;
        long flen = digits(ent + 3, 4), start = digits(ent + 7, 5);
        if (!alnum(ent[0]) || !alnum(ent[1]) || !alnum(ent[2]))
            return "ISO 2709: a directory entry's tag is not alphanumeric";
        if (flen < 0 || start < 0)
            return "ISO 2709: a directory entry's length or start is not a number";
        if (flen == 0)
            return "ISO 2709: a directory entry gives a field of length 0";
        if (start + flen > rl - 1 - base)
            return "ISO 2709: a field lies outside the data area";
        const char *bad = check_field(buf, (size_t)rl, (size_t)(base + start), (size_t)flen,
                                      ent[0] == '0' && ent[1] == '0');
        if (bad)
            return bad;
    }
    *reclen = rl;
    return NULL;
}

int marc_check_iso2709(const char *buf, size_t len, size_t *reclen, const char **why)
{
    long rl = 0;
    const char *bad = check_iso2709(buf, len, &rl);
    if (bad) {
        *why = bad;
        return -1;
    }
    *reclen = (size_t)rl;
    return 0;
}

static int element_named(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* The text YAZ takes for a leader element: its last text child. */
static const char *leader_text(const xmlNode *leader)
{
    const char *text = NULL;
    for (const xmlNode *p = leader->children; p; p = p->next)
        if (p->type == XML_TEXT_NODE)
            text = (const char *)p->content;
    return text;
}

/* A subfield's code as YAZ reads it: the code attribute's first child,
 * which must be its only one and text. */
static int subfield_code_ok(const xmlNode *subfield)
{
    const xmlNode *v = NULL;
    for (const xmlAttr *a = subfield->properties; a; a = a->next)
        if (strcmp((const char *)a->name, "code") == 0)
            v = a->children;
    if (!v || v->type != XML_TEXT_NODE || v->next || !v->content)
        return 0;
    const char *code = (const char *)v->content;
    return code_char(code[0]) && code[1] == '\0';
}

int marc_check_marcxml(const xmlNode *root, const char **why)
{
    if (!root || !element_named(root, "record")) {
        *why = "MARCXML: the document is not a record";
        return -1;
    }
    const xmlNode *first = root->children;
    while (first && first->type != XML_ELEMENT_NODE)
        first = first->next;
    const char *leader = first && first->name[0] == 'l' ? leader_text(first) : NULL;
    if (leader && strlen(leader) != LEADER_LEN) {
        *why = "MARCXML: the leader is not 24 bytes";
        return -1;
    }
    if (leader && (leader[10] != '2' || leader[11] != '2')) {
        *why = "MARCXML: indicator count and subfield code length (leader/10-11) are not 22";
        return -1;
    }
    for (const xmlNode *f = root->children; f; f = f->next) {
        if (!element_named(f, "datafield"))
            continue;
        for (const xmlNode *s = f->children; s; s = s->next)
            if (element_named(s, "subfield") && !subfield_code_ok(s)) {
                *why = "MARCXML: a subfield code is not one printable ASCII character";
                return -1;
            }
    }
    return 0;
}

/* ---- ids of refused records ---------------------------------------------- */

/* Appends s[0 .. n) without blanks at either end when it is a valid id. */
static int put_id(const char *s, size_t n, struct strbuf *out)
{
    while (n && *s == ' ') {
        s++;
        n--;
    }
    while (n && s[n - 1] == ' ')
        n--;
    char id[MARC_REFUSED_ID_MAX + 1];
    if (n == 0 || n > MARC_REFUSED_ID_MAX || memchr(s, '\0', n))
        return -1;
    memcpy(id, s, n);
    id[n] = '\0';
    if (!record_id_valid(id, MARC_REFUSED_ID_MAX))
        return -1;
    return strbuf_append(out, id, n);
}

/* id_field as a tag and a subfield code (0 for a control field). */
static int id_parts(const char *id_field, char tag[4], char *code)
{
    size_t n = strlen(id_field);
    if (n != 3 && !(n == 5 && id_field[3] == '$'))
        return -1;
    memcpy(tag, id_field, 3);
    tag[3] = '\0';
    *code = n == 5 ? id_field[4] : 0;
    return 0;
}

int marc_refused_id_iso2709(const char *buf, size_t len, const char *id_field,
                            struct strbuf *out)
{
    char tag[4], code;
    long base = len >= LEADER_LEN ? digits(buf + 12, 5) : -1;
    if (base < 0 || id_parts(id_field, tag, &code) < 0)
        return -1;
    for (size_t e = LEADER_LEN; e + ENTRY_LEN <= len && e + ENTRY_LEN < (size_t)base &&
                                buf[e] != FIELD_END; e += ENTRY_LEN) {
        long flen = digits(buf + e + 3, 4), start = digits(buf + e + 7, 5);
        if (flen < 0 || start < 0)
            break;
        if (memcmp(buf + e, tag, 3) != 0 || flen < 2 || (size_t)(base + start + flen) > len)
            continue;
        const char *f = buf + base + start, *end = f + flen - 1;   /* less its terminator */
        if (code) {                     /* the first subfield code ... */
            const char *d = f;
            while ((d = memchr(d, DELIMITER, (size_t)(end - d))) && d + 1 < end && d[1] != code)
                d++;
            if (!d || d + 1 >= end)
                continue;
            f = d + 2;
        }
        const char *stop = f;           /* ... up to a delimiter or terminator */
        while (stop < end && *stop != DELIMITER && *stop != FIELD_END && *stop != RECORD_END)
            stop++;
        return put_id(f, (size_t)(stop - f), out);
    }
    return -1;
}

static const xmlAttr *attribute(const xmlNode *n, const char *name)
{
    for (const xmlAttr *a = n->properties; a; a = a->next)
        if (strcmp((const char *)a->name, name) == 0)
            return a;
    return NULL;
}

/* The text of an element or attribute when it is one text node. */
static const char *only_text(const xmlNode *first_child)
{
    if (!first_child || first_child->type != XML_TEXT_NODE || first_child->next)
        return NULL;
    return (const char *)first_child->content;
}

static int attribute_is(const xmlNode *n, const char *name, const char *value)
{
    const xmlAttr *a = attribute(n, name);
    const char *v = a ? only_text(a->children) : NULL;
    return v && strcmp(v, value) == 0;
}

int marc_refused_id_marcxml(const xmlNode *root, const char *id_field, struct strbuf *out)
{
    char tag[4], code;
    if (!root || id_parts(id_field, tag, &code) < 0)
        return -1;
    const char *field = code ? "datafield" : "controlfield";
    for (const xmlNode *f = root->children; f; f = f->next) {
        if (!element_named(f, field) || !attribute_is(f, "tag", tag))
            continue;
        if (!code) {
            const char *v = only_text(f->children);
            return v ? put_id(v, strlen(v), out) : -1;
        }
        for (const xmlNode *s = f->children; s; s = s->next)
            if (element_named(s, "subfield") && attribute_is(s, "code", (char[2]){code, 0})) {
                const char *v = only_text(s->children);
                return v ? put_id(v, strlen(v), out) : -1;
            }
    }
    return -1;
}
