/* utf8.c: see utf8.h. */
#include "core/utf8.h"

#include <stdlib.h>
#include <string.h>

/* The length of the valid sequence at s (n bytes left), or 0. */
static size_t sequence_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned lo = 0x80, hi = 0xBF;      /* the second byte's range */
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;                  /* overlong */
        else if (c == 0xED)
            hi = 0x9F;                  /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;                  /* overlong */
        else if (c == 0xF4)
            hi = 0x8F;                  /* past U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

int utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t len = sequence_len(p + i, n - i);
        if (!len)
            return 0;
        i += len;
    }
    return 1;
}

char *utf8_repaired(const char *s)
{
    static const char replacement[] = "\xEF\xBF\xBD";   /* U+FFFD */
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    char *out = malloc(3 * n + 1), *o = out;           /* every byte may be replaced */
    if (!out)
        return NULL;
    for (size_t i = 0; i < n;) {
        size_t len = sequence_len(p + i, n - i);
        if (len) {
            memcpy(o, s + i, len);
            o += len;
            i += len;
        } else {
            memcpy(o, replacement, 3);
            o += 3;
            i++;
        }
    }
    *o = '\0';
    return out;
}
