/* eval_marc.c: see eval_marc.h. */
#include "cli/eval_marc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define FIELD_END '\x1e'
#define SUBFIELD '\x1f'
#define RECORD_END '\x1d'
#define MAX_FIELDS (16 + EVAL_MAX_SUBJECTS)

struct marc_build {
    struct strbuf dir, data;
    size_t nfields;
    int too_long, no_memory;
};

/* Closes the field begun at data offset start under tag. */
static void end_field(struct marc_build *b, const char *tag, size_t start)
{
    if (strbuf_append(&b->data, (char[]){FIELD_END}, 1) < 0) {
        b->no_memory = 1;
        return;
    }
    size_t len = b->data.len - start;
    if (len > MARC_MAX_FIELD_BYTES || b->data.len > MARC_MAX_RECORD_BYTES) {
        b->too_long = 1;
        return;
    }
    if (strbuf_printf(&b->dir, "%.3s%04zu%05zu", tag, len, start) < 0)
        b->no_memory = 1;
    b->nfields++;
}

static void control(struct marc_build *b, const char *tag, const char *value)
{
    size_t start = b->data.len;
    if (strbuf_puts(&b->data, value) < 0)
        b->no_memory = 1;
    else
        end_field(b, tag, start);
}

/* A data field: indicators, then code/value pairs (NULL-terminated;
 * pairs whose value is NULL or empty are left out). Nothing when no
 * subfield has a value. */
static void datafield(struct marc_build *b, const char *tag, const char ind[2], ...)
{
    va_list ap;
    size_t start = b->data.len;
    int any = 0, bad = strbuf_append(&b->data, ind, 2) < 0;
    va_start(ap, ind);
    for (const char *code; !bad && (code = va_arg(ap, const char *));) {
        const char *value = va_arg(ap, const char *);
        if (!value || !*value)
            continue;
        bad = strbuf_append(&b->data, (char[]){SUBFIELD, code[0]}, 2) < 0 ||
              strbuf_puts(&b->data, value) < 0;
        any = 1;
    }
    va_end(ap);
    if (bad) {
        b->no_memory = 1;
    } else if (!any) {
        b->data.len = start;
        if (b->data.buf)
            b->data.buf[start] = '\0';
    } else {
        end_field(b, tag, start);
    }
}

static const struct {
    char type, level;
    int audience_at_22;                 /* 008/22 is the target audience */
    const char *material;               /* 008/18-34 (17 characters), 22 blank */
    const char *itype;
} formats[FORMAT_COUNT] = {
    [FORMAT_BOOK] = {'a', 'm', 1, "           000 | ", "BK"},
    [FORMAT_PERIODICAL] = {'a', 's', 0, "   p       0    0", "PER"},
    [FORMAT_ARTICLE] = {'a', 'a', 1, "           000 | ", "ART"},
    [FORMAT_FILM] = {'g', 'm', 1, "|||            v|", "DVD"},
    [FORMAT_AUDIOBOOK] = {'i', 'm', 1, "nnn            n ", "AUD"},
    [FORMAT_MUSIC] = {'j', 'm', 1, "||n            n ", "MUS"},
    [FORMAT_MAP] = {'e', 'm', 0, "       a     0   ", "MAP"},
    [FORMAT_EBOOK] = {'a', 'm', 1, "     o     000 | ", "EBK"},
    [FORMAT_LARGE_PRINT] = {'a', 'm', 1, "     d     000 | ", "LP"},
};

/* 008: 40 characters. */
static void field008(const struct eval_title *t, const char entered[7], char out[41])
{
    char material[18];
    snprintf(material, sizeof material, "%-17.17s", formats[t->format].material);
    if (formats[t->format].audience_at_22 && t->audience)
        material[22 - 18] = t->audience;
    snprintf(out, 41, "%.6s%c%-4s    xx %s%-3s d", entered, t->year[0] ? 's' : 'n',
             t->year[0] ? t->year : "uuuu", material, t->language[0] ? t->language : "und");
}

int eval_marc_record(const struct eval_title *t, const char *branch, const char *barcode,
                     const char entered[7], struct strbuf *out, const char **why)
{
    struct marc_build b = {0};
    char f008[41];
    field008(t, entered, f008);
    control(&b, "001", t->record);
    if (t->format == FORMAT_FILM)
        control(&b, "007", "vd cvaizq");
    control(&b, "008", f008);
    datafield(&b, "041", "  ", "a", t->language, (char *)NULL);
    datafield(&b, "100", "1 ", "a", t->author, (char *)NULL);
    datafield(&b, "245", t->author ? "10" : "00", "a", t->title, (char *)NULL);
    datafield(&b, "264", " 1", "c", t->year, (char *)NULL);
    datafield(&b, "521", "  ", "a", t->audience ? eval_audience_name(t->audience) : NULL,
              (char *)NULL);
    for (size_t i = 0; i < t->nsubjects; i++)
        datafield(&b, "650", " 4", "a", t->subjects[i], (char *)NULL);
    datafield(&b, "952", "  ", "a", branch, "b", branch, "p", barcode, "y",
              formats[t->format].itype, (char *)NULL);
    size_t base = 24 + b.dir.len + 1, total = base + b.data.len + 1;
    int rc = -1;
    if (b.no_memory) {
        *why = "out of memory";
    } else if (b.too_long || total > MARC_MAX_RECORD_BYTES) {
        *why = "too long for a MARC record (ISO 2709: a field of at most 9,999 bytes, a "
               "record of at most 99,999)";
    } else {
        size_t before = out->len;
        char leader[48];        /* 24: total and base are at most 99,999 (checked) */
        snprintf(leader, sizeof leader, "%05zun%c%c a22%05zu7i 4500", total,
                 formats[t->format].type, formats[t->format].level, base);
        if (strbuf_reserve(out, total) < 0 || strbuf_append(out, leader, 24) < 0 ||
            strbuf_append(out, b.dir.buf, b.dir.len) < 0 ||
            strbuf_append(out, (char[]){FIELD_END}, 1) < 0 ||
            strbuf_append(out, b.data.buf, b.data.len) < 0 ||
            strbuf_append(out, (char[]){RECORD_END}, 1) < 0) {
            out->len = before;
            if (out->buf)
                out->buf[before] = '\0';
            *why = "out of memory";
        } else {
            rc = 0;
        }
    }
    strbuf_free(&b.dir);
    strbuf_free(&b.data);
    return rc;
}
