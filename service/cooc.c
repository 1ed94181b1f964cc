/* cooc.c: see cooc.h. Compaction parses millions of lines, so records
 * stay in one copy of the text and repeats are found with a flat hash
 * table, not one allocation per line. */
#include "cooc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void cooc_free(struct cooc_list *list)
{
    free(list->e);
    free(list->text);
    memset(list, 0, sizeof *list);
}

static uint64_t hash_str(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;            /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

int cooc_parse(struct cooc_list *list, const char *text, size_t len)
{
    size_t lines = 0, nslots = 16;
    uint32_t *slots = NULL;     /* entry index + 1; 0 = empty */
    memset(list, 0, sizeof *list);
    for (const char *p = text; (p = memchr(p, '\n', (size_t)(text + len - p))); p++)
        lines++;
    while (nslots < lines * 2)
        nslots *= 2;
    if (!(list->text = malloc(len + 1)) || !(list->e = malloc((lines + 1) * sizeof *list->e)) ||
        !(slots = calloc(nslots, sizeof *slots)))
        goto bad;
    memcpy(list->text, text, len);
    list->text[len] = '\0';
    char *p = list->text, *end = list->text + len;
    if (p < end && *p == '#') {
        char *nl = memchr(p, '\n', (size_t)(end - p)), *num_end;
        errno = 0;
        list->gen = strtoull(p + 1, &num_end, 10);
        if (!nl || num_end != nl || p[1] < '0' || p[1] > '9' || errno)
            goto bad;
        list->header_len = (size_t)(nl + 1 - p);
        p = nl + 1;
    }
    size_t line = 0;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *sp = nl ? memchr(p, ' ', (size_t)(nl - p)) : NULL;
        if (!nl || !sp || sp == p || sp + 1 == nl || sp[1] == '-')
            goto bad;
        uint64_t count = 0;     /* digits only: no sign, no blanks */
        for (const char *d = sp + 1; d < nl; d++) {
            if (*d < '0' || *d > '9' || (count = count * 10 + (uint64_t)(*d - '0')) > UINT32_MAX)
                goto bad;
        }
        *sp = '\0';
        size_t rlen = (size_t)(sp - p);
        size_t j = (size_t)hash_str(p, rlen) & (nslots - 1);
        while (slots[j] && strcmp(list->e[slots[j] - 1].record, p) != 0)
            j = (j + 1) & (nslots - 1);
        if (slots[j]) {
            struct cooc_entry *e = &list->e[slots[j] - 1];
            uint64_t sum = (uint64_t)e->count + count;
            e->count = sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
            e->last = (uint32_t)line;
        } else {
            list->e[list->n] = (struct cooc_entry){p, (uint32_t)count, (uint32_t)line};
            slots[j] = (uint32_t)++list->n;
        }
        line++;
        p = nl + 1;
    }
    free(slots);
    return 0;
bad:
    free(slots);
    cooc_free(list);
    return -1;
}

static int by_count_newest(const void *x, const void *y)
{
    const struct cooc_entry *a = x, *b = y;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return a->last > b->last ? -1 : a->last < b->last;
}

static int by_count_oldest(const void *x, const void *y)
{
    const struct cooc_entry *a = x, *b = y;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return a->last < b->last ? -1 : a->last > b->last;
}

static int u32_desc(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return a > b ? -1 : a < b;
}

/* The keep-th highest count (1 <= keep <= n). Counts are small numbers,
 * so a histogram does it in two passes; sorting is the fallback. */
static int kth_highest(const struct cooc_entry *e, size_t n, size_t keep, uint32_t *out)
{
    uint32_t max = 0;
    for (size_t i = 0; i < n; i++)
        max = e[i].count > max ? e[i].count : max;
    if (max < (1u << 20)) {
        size_t *hist = calloc((size_t)max + 1, sizeof *hist), seen = 0;
        if (!hist)
            return -1;
        for (size_t i = 0; i < n; i++)
            hist[e[i].count]++;
        uint32_t c = max;
        while ((seen += hist[c]) < keep)
            c--;
        free(hist);
        *out = c;
        return 0;
    }
    uint32_t *tmp = malloc(n * sizeof *tmp);
    if (!tmp)
        return -1;
    for (size_t i = 0; i < n; i++)
        tmp[i] = e[i].count;
    qsort(tmp, n, sizeof *tmp, u32_desc);
    *out = tmp[keep - 1];
    free(tmp);
    return 0;
}

void cooc_top(struct cooc_list *list, size_t keep)
{
    if (keep == 0) {
        list->n = 0;
        return;
    }
    uint32_t t;
    if (list->n > keep && kth_highest(list->e, list->n, keep, &t) == 0) {
        /* Above the threshold count: all kept; at it: the newest win the
         * last places (sorted out below). */
        size_t kept = 0;
        for (size_t i = 0; i < list->n; i++)
            if (list->e[i].count >= t)
                list->e[kept++] = list->e[i];
        list->n = kept;
    }
    if (list->n > keep) {
        qsort(list->e, list->n, sizeof *list->e, by_count_newest);
        list->n = keep;
    }
    if (list->n)
        qsort(list->e, list->n, sizeof *list->e, by_count_oldest);
}

int cooc_encode(const struct cooc_list *list, unsigned long long gen, struct strbuf *out)
{
    if (gen && strbuf_printf(out, "#%llu\n", gen) < 0)
        return -1;
    for (size_t i = 0; i < list->n; i++) {
        char num[16], *p = num + sizeof num;
        uint32_t c = list->e[i].count;
        *--p = '\n';
        do
            *--p = (char)('0' + c % 10);
        while (c /= 10);
        *--p = ' ';
        if (strbuf_puts(out, list->e[i].record) < 0 ||
            strbuf_append(out, p, (size_t)(num + sizeof num - p)) < 0)
            return -1;
    }
    return 0;
}
