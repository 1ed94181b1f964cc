/* cooc_list.c: see cooc_list.h. Compaction parses millions of lines, so records
 * stay in one copy of the text and repeats are found with a flat hash
 * table, not one allocation per line. */
#include "model/cooc_list.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/dict.h"

void cooc_free(struct cooc_list *list)
{
    free(list->e);
    free(list->text);
    memset(list, 0, sizeof *list);
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
        if (memchr(p, '\0', rlen))     /* the record would be cut short, and two one */
            goto bad;
        size_t j = (size_t)hash_bytes(p, rlen) & (nslots - 1);
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

static int by_last(const void *x, const void *y)
{
    const struct cooc_entry *a = x, *b = y;
    return a->last < b->last ? -1 : a->last > b->last;
}

/* Entries oldest first, their counts below a bound: a count histogram
 * does it all in linear time: the keep-th highest count t; every entry
 * above t and the newest at t; then a stable counting sort by count,
 * which keeps oldest first within one. Counts too large for a histogram
 * (a million and more) are sorted instead. */
long cooc_top_counts(const uint32_t *count, size_t n, size_t keep, uint32_t *order)
{
    if (keep == 0 || n == 0)
        return 0;
    if (n > UINT32_MAX)
        return -1;
    uint32_t max = 0;
    for (size_t i = 0; i < n; i++)
        max = count[i] > max ? count[i] : max;
    if (max >= (1u << 20)) {
        struct cooc_entry *e = malloc(n * sizeof *e);
        if (!e)
            return -1;
        for (size_t i = 0; i < n; i++)
            e[i] = (struct cooc_entry){NULL, count[i], (uint32_t)i};
        if (n > keep) {
            qsort(e, n, sizeof *e, by_count_newest);
            n = keep;
        }
        qsort(e, n, sizeof *e, by_count_oldest);
        for (size_t i = 0; i < n; i++)
            order[i] = e[i].last;
        free(e);
        return (long)n;
    }
    size_t *hist = calloc((size_t)max + 1, sizeof *hist);
    if (!hist)
        return -1;
    for (size_t i = 0; i < n; i++)
        hist[count[i]]++;
    uint32_t t = 0;                 /* entries below t go; at t, the oldest drop_ties */
    size_t drop_ties = 0, kept = n;
    if (n > keep) {
        size_t seen = hist[t = max];
        while (seen < keep)
            seen += hist[--t];
        drop_ties = seen - keep;
        kept = keep;
        memset(hist, 0, t * sizeof *hist);
        hist[t] -= drop_ties;
    }
    size_t at = 0;                  /* each count's place: after all higher ones */
    for (uint32_t c = max + 1; c-- > 0;) {
        size_t k = hist[c];
        hist[c] = at;
        at += k;
    }
    for (size_t i = 0; i < n; i++) {
        if (count[i] < t || (count[i] == t && drop_ties && drop_ties--))
            continue;
        order[hist[count[i]]++] = (uint32_t)i;
    }
    free(hist);
    return (long)kept;
}

void cooc_top(struct cooc_list *list, size_t keep)
{
    size_t n = list->n;
    if (keep == 0 || n == 0) {
        list->n = 0;
        return;
    }
    int ordered = 1;
    for (size_t i = 1; i < n && ordered; i++)
        ordered = list->e[i - 1].last <= list->e[i].last;
    if (!ordered)
        qsort(list->e, n, sizeof *list->e, by_last);
    size_t room = n < keep ? n : keep;
    uint32_t *count = malloc(n * sizeof *count), *order = malloc(room * sizeof *order);
    struct cooc_entry *kept = malloc(room * sizeof *kept);
    long k = count && order && kept ? 0 : -1;
    for (size_t i = 0; k == 0 && i < n; i++)
        count[i] = list->e[i].count;
    if (k == 0)
        k = cooc_top_counts(count, n, keep, order);
    if (k < 0) {            /* out of memory: the list stays as it was */
        free(count);
        free(order);
        free(kept);
        return;
    }
    for (long i = 0; i < k; i++)
        kept[i] = list->e[order[i]];
    memcpy(list->e, kept, (size_t)k * sizeof *kept);
    list->n = (size_t)k;
    free(count);
    free(order);
    free(kept);
}

unsigned long long cooc_next_gen(unsigned long long gen)
{
    return gen == ULLONG_MAX ? 1 : gen + 1;
}

int cooc_encode(const struct cooc_list *list, unsigned long long gen, struct strbuf *out)
{
    if (gen && strbuf_printf(out, "#%llu\n", gen) < 0)
        return -1;
    for (size_t i = 0; i < list->n; i++)
        if (strbuf_puts(out, list->e[i].record) < 0 || strbuf_append(out, " ", 1) < 0 ||
            strbuf_put_ll(out, list->e[i].count) < 0 || strbuf_append(out, "\n", 1) < 0)
            return -1;
    return 0;
}

unsigned long long cooc_subtract(struct cooc_list *list, const struct cooc_list *minus)
{
    unsigned long long missing = 0;
    for (size_t m = 0; m < minus->n; m++) {
        uint32_t take = minus->e[m].count;
        size_t i = 0;
        while (i < list->n && strcmp(list->e[i].record, minus->e[m].record) != 0)
            i++;
        uint32_t have = i < list->n ? list->e[i].count : 0;
        missing += take > have ? take - have : 0;
        if (i < list->n)
            list->e[i].count = take > have ? 0 : have - take;
    }
    size_t kept = 0;
    for (size_t i = 0; i < list->n; i++)
        if (list->e[i].count)
            list->e[kept++] = list->e[i];
    list->n = kept;
    return missing;
}
