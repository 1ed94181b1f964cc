/* text_wrap.c: see text_wrap.h. libunistring does the Unicode: NFC
 * (uninorm.h), break opportunities (unilbrk.h) and widths (uniwidth.h);
 * this file only fills lines greedily with what it says. */
#include "core/text_wrap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unilbrk.h>
#include <uninorm.h>
#include <unistr.h>
#include <uniwidth.h>

/* The encoding uc_width disambiguates by: "UTF-8" counts East Asian
 * ambiguous characters as one cell, as western receipt printers do. */
static const char WIDTH_ENCODING[] = "UTF-8";

static int char_cells(ucs4_t uc)
{
    int w = uc_width(uc, WIDTH_ENCODING);
    return w < 0 ? 1 : w;      /* (controls are spaces by now) */
}

long text_cells(const char *s, size_t len)
{
    const uint8_t *p = (const uint8_t *)s, *end = p + len;
    long cells = 0;
    while (p < end) {
        ucs4_t uc;
        int n = u8_mbtoucr(&uc, p, (size_t)(end - p));
        if (n < 0)
            return -1;
        cells += char_cells(uc);
        p += n;
    }
    return cells;
}

/* The NFC form of text with control characters (C0, DEL, C1) as spaces,
 * in a new buffer (caller frees), *n bytes; NULL with errno. */
static uint8_t *clean_copy(const char *text, size_t len, size_t *n)
{
    if (u8_check((const uint8_t *)text, len)) {
        errno = EILSEQ;
        return NULL;
    }
    uint8_t *s = u8_normalize(UNINORM_NFC, (const uint8_t *)text, len, NULL, n);
    if (!s)
        return NULL;
    uint8_t *out = malloc(*n + 1), *o = out;
    if (!out) {
        free(s);
        errno = ENOMEM;
        return NULL;
    }
    for (size_t i = 0; i < *n;) {
        ucs4_t uc;
        int k = u8_mbtouc_unsafe(&uc, s + i, *n - i);
        if (uc < 0x20 || (uc >= 0x7f && uc < 0xa0)) {
            *o++ = ' ';         /* one byte for one or two: never longer */
        } else {
            memcpy(o, s + i, (size_t)k);
            o += k;
        }
        i += (size_t)k;
    }
    free(s);
    *n = (size_t)(o - out);
    return out;
}

/* The line being filled. */
struct line {
    struct strbuf *out;
    int width;
    const char *rest;
    int col;            /* cells used, the prefix's included */
    int has_text;       /* anything after the prefix */
    int bad;            /* an append failed */
};

static void line_add(struct line *l, const uint8_t *s, size_t n, int cells)
{
    l->bad |= strbuf_append(l->out, (const char *)s, n);
    l->col += cells;
    l->has_text = 1;
}

static void line_next(struct line *l)
{
    l->bad |= strbuf_append(l->out, "\n", 1) | strbuf_puts(l->out, l->rest);
    l->col = (int)strlen(l->rest);
    l->has_text = 0;
}

/* A word wider than a whole line, on a line of its own: the only text
 * ever cut, between characters; a combining mark (0 cells) stays with
 * the character before it. */
static void place_cut(struct line *l, const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        ucs4_t uc;
        int k = u8_mbtouc_unsafe(&uc, s + i, n - i);
        int cells = char_cells(uc);
        if (l->has_text && l->col + cells > l->width)
            line_next(l);
        line_add(l, s + i, (size_t)k, cells);
        i += (size_t)k;
    }
}

enum text_wrap_result text_wrap(struct strbuf *out, const char *text, size_t len, int width,
                                const char *first, const char *rest)
{
    if ((long)strlen(first) >= width || (long)strlen(rest) >= width)
        return TEXT_WRAP_TOO_NARROW;
    size_t n = 0;
    uint8_t *s = clean_copy(text, len, &n);
    if (!s)
        return errno == EILSEQ ? TEXT_WRAP_NOT_UTF8 : TEXT_WRAP_NO_MEMORY;
    char *brk = malloc(n ? n : 1);
    if (!brk) {
        free(s);
        return TEXT_WRAP_NO_MEMORY;
    }
    u8_possible_linebreaks(s, n, WIDTH_ENCODING, brk);
    size_t before = out->len;
    struct line l = {out, width, rest, (int)strlen(first), 0, 0};
    int started = 0, space = 0;
    for (size_t i = 0; i < n;) {
        /* a segment: up to the next break opportunity; its word is the
         * segment without its trailing spaces */
        size_t j = i + 1;
        while (j < n && brk[j] != UC_BREAK_POSSIBLE)
            j++;
        size_t k = j;
        while (k > i && s[k - 1] == ' ')
            k--;
        size_t w = i;
        while (w < k && s[w] == ' ')
            w++;
        if (w < k) {
            int cells = (int)text_cells((const char *)s + w, k - w);
            if (!started) {
                l.bad |= strbuf_puts(out, first);
                started = 1;
            }
            if (l.has_text && space && l.col + 1 + cells <= width) {
                line_add(&l, (const uint8_t *)" ", 1, 1);
                line_add(&l, s + w, k - w, cells);
            } else if (l.has_text && !space && l.col + cells <= width) {
                line_add(&l, s + w, k - w, cells);      /* after a hyphen, a slash... */
            } else {
                if (l.has_text)
                    line_next(&l);
                if (l.col + cells <= width)
                    line_add(&l, s + w, k - w, cells);
                else
                    place_cut(&l, s + w, k - w);
            }
            space = k < j;
        } else {
            space = space || (started && j > i);
        }
        i = j;
    }
    if (started)
        l.bad |= strbuf_append(out, "\n", 1);
    free(brk);
    free(s);
    if (l.bad) {
        out->len = before;
        if (out->buf)
            out->buf[before] = '\0';
        return TEXT_WRAP_NO_MEMORY;
    }
    return TEXT_WRAP_OK;
}
