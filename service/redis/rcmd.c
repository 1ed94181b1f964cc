/* rcmd.c: see rcmd.h. */
#include "redis/rcmd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A block of copied arguments: the first holds RCMD_BLOCK_MIN bytes, each
 * next one twice the last, up to RCMD_BLOCK_MAX; a larger argument gets a
 * block of its own size. */
enum { RCMD_BLOCK_MIN = 128, RCMD_BLOCK_MAX = 16384 };

struct rcmd_block {
    struct rcmd_block *next;
    size_t used, cap;
    char data[];
};

static int rcmd_room(struct rcmd *c)
{
    if (c->argc == c->cap) {
        int cap = c->cap ? c->cap * 2 : 16;
        char **argv = realloc(c->argv, (size_t)cap * sizeof *argv);
        if (!argv)
            return -1;
        c->argv = argv;
        size_t *len = realloc(c->len, (size_t)cap * sizeof *len);
        if (!len)
            return -1;
        c->len = len;
        c->cap = cap;
    }
    return 0;
}

int rcmd_take(struct rcmd *c, char *s, size_t n)
{
    if (c->ntaken == c->captaken) {
        int cap = c->captaken ? c->captaken * 2 : 4;
        char **taken = realloc(c->taken, (size_t)cap * sizeof *taken);
        if (!taken) {
            free(s);
            return -1;
        }
        c->taken = taken;
        c->captaken = cap;
    }
    c->taken[c->ntaken++] = s;      /* ours now, whatever happens next */
    if (rcmd_room(c) < 0)
        return -1;
    c->argv[c->argc] = s;
    c->len[c->argc++] = n;
    return 0;
}

/* Room for n bytes in the newest block, or a new block. */
static char *rcmd_copy_room(struct rcmd *c, size_t n)
{
    struct rcmd_block *b = c->blocks;
    if (!b || b->cap - b->used < n) {
        size_t cap = b ? 2 * b->cap : RCMD_BLOCK_MIN;
        if (cap > RCMD_BLOCK_MAX)
            cap = RCMD_BLOCK_MAX;
        if (cap < n)
            cap = n;
        if (!(b = malloc(sizeof *b + cap)))
            return NULL;
        b->used = 0;
        b->cap = cap;
        b->next = c->blocks;
        c->blocks = b;
    }
    char *p = b->data + b->used;
    b->used += n;
    return p;
}

int rcmd_add(struct rcmd *c, const char *s, size_t n)
{
    if (rcmd_room(c) < 0)
        return -1;
    char *copy = rcmd_copy_room(c, n + 1);
    if (!copy)
        return -1;
    memcpy(copy, s, n);
    copy[n] = '\0';
    c->argv[c->argc] = copy;
    c->len[c->argc++] = n;
    return 0;
}

int rcmd_addstr(struct rcmd *c, const char *s)
{
    return rcmd_add(c, s, strlen(s));
}

int rcmd_addjoin(struct rcmd *c, const char *a, const char *b, const char *d)
{
    const char *parts[] = {a, b, d};
    return rcmd_addparts(c, parts, 3, "");
}

int rcmd_addparts(struct rcmd *c, const char *const *parts, size_t n, const char *sep)
{
    size_t total = 0, lsep = strlen(sep);
    for (size_t i = 0; i < n; i++)
        total += strlen(parts[i]) + lsep;
    if (rcmd_room(c) < 0)
        return -1;
    char *copy = rcmd_copy_room(c, total + 1), *p = copy;
    if (!copy)
        return -1;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(parts[i]);
        memcpy(p, parts[i], l);
        memcpy(p + l, sep, lsep);
        p += l + lsep;
    }
    *p = '\0';
    c->argv[c->argc] = copy;
    c->len[c->argc++] = total;
    return 0;
}

int rcmd_addu(struct rcmd *c, unsigned long long v)
{
    char digits[20], *p = digits + sizeof digits;
    do
        *--p = (char)('0' + v % 10);
    while (v /= 10);
    return rcmd_add(c, p, (size_t)(digits + sizeof digits - p));
}

int rcmd_addf(struct rcmd *c, const char *fmt, ...)
{
    char small[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if ((size_t)n < sizeof small)
        return rcmd_add(c, small, (size_t)n);
    char *s = NULL;             /* too long for small: format it again */
    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    int rc = rcmd_add(c, s, (size_t)n);
    free(s);
    return rc;
}

void rcmd_free(struct rcmd *c)
{
    for (int i = 0; i < c->ntaken; i++)
        free(c->taken[i]);
    for (struct rcmd_block *b = c->blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(c->taken);
    free(c->argv);
    free(c->len);
    memset(c, 0, sizeof *c);
}

/* ---- lists of commands ------------------------------------------------------- */

struct rcmd *rcmd_list_next(struct rcmd_list *cs)
{
    if (cs->n == cs->cap) {
        size_t cap = cs->cap ? cs->cap * 2 : 16;
        struct rcmd *c = realloc(cs->c, cap * sizeof *c);
        if (!c) {
            cs->failed = 1;
            return NULL;
        }
        cs->c = c;
        cs->cap = cap;
    }
    memset(&cs->c[cs->n], 0, sizeof cs->c[cs->n]);
    return &cs->c[cs->n++];
}

struct rcmd *rcmd_list_key(struct rcmd_list *cs, const char *verb, const char *prefix,
                           const char *kind, const char *name)
{
    struct rcmd *c = rcmd_list_next(cs);
    if (c)
        cs->failed |= rcmd_addstr(c, verb) | rcmd_addjoin(c, prefix, kind, name);
    return c;
}

void rcmd_list_arg(struct rcmd_list *cs, struct rcmd *c, const char *arg)
{
    if (c)
        cs->failed |= rcmd_addstr(c, arg);
    else
        cs->failed = 1;
}

void rcmd_list_free(struct rcmd_list *cs)
{
    for (size_t i = 0; i < cs->n; i++)
        rcmd_free(&cs->c[i]);
    free(cs->c);
    memset(cs, 0, sizeof *cs);
}
