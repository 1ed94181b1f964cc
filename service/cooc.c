/* cooc.c: see cooc.h. */
#include "cooc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dict.h"

void cooc_free(struct cooc_list *list)
{
    for (size_t i = 0; i < list->n; i++)
        free(list->e[i].record);
    free(list->e);
    memset(list, 0, sizeof *list);
}

int cooc_parse(struct cooc_list *list, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    struct dict *at = NULL;     /* record -> index + 1, once a record repeats */
    memset(list, 0, sizeof *list);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *sp = nl ? memchr(p, ' ', (size_t)(nl - p)) : NULL;
        if (!nl || !sp || sp == p || sp + 1 == nl)
            goto bad;
        char *num_end;
        errno = 0;
        unsigned long count = strtoul(sp + 1, &num_end, 10);
        if (num_end != nl || errno || count > UINT32_MAX || sp[1] == '-')
            goto bad;
        char *record = strndup(p, (size_t)(sp - p));
        if (!record)
            goto bad;
        /* Lists are mostly compacted (no repeats), so the index is built
         * only once a list has more lines than a quick scan can afford. */
        long found = -1;
        if (!at && list->n >= 32) {
            if (!(at = dict_new()))
                goto bad_record;
            for (size_t i = 0; i < list->n; i++)
                if (dict_set(at, list->e[i].record, (void *)(uintptr_t)(i + 1), NULL) < 0)
                    goto bad_record;
        }
        if (at) {
            uintptr_t i = (uintptr_t)dict_get(at, record);
            found = i ? (long)i - 1 : -1;
        } else {
            for (size_t i = 0; i < list->n && found < 0; i++)
                if (strcmp(list->e[i].record, record) == 0)
                    found = (long)i;
        }
        if (found >= 0) {
            uint64_t sum = (uint64_t)list->e[found].count + count;
            list->e[found].count = sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
            free(record);
        } else {
            if (list->n == list->cap) {
                size_t cap = list->cap ? list->cap * 2 : 16;
                struct cooc_entry *e = realloc(list->e, cap * sizeof *e);
                if (!e)
                    goto bad_record;
                list->e = e;
                list->cap = cap;
            }
            if (at && dict_set(at, record, (void *)(uintptr_t)(list->n + 1), NULL) < 0)
                goto bad_record;
            list->e[list->n++] = (struct cooc_entry){record, (uint32_t)count};
        }
        p = nl + 1;
        continue;
bad_record:
        free(record);
        goto bad;
    }
    dict_free(at, NULL);
    return 0;
bad:
    dict_free(at, NULL);
    cooc_free(list);
    return -1;
}

static int by_count(const void *x, const void *y)
{
    const struct cooc_entry *a = x, *b = y;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return strcmp(a->record, b->record);
}

void cooc_top(struct cooc_list *list, size_t keep)
{
    qsort(list->e, list->n, sizeof *list->e, by_count);
    while (list->n > keep)
        free(list->e[--list->n].record);
}

int cooc_encode(const struct cooc_list *list, struct strbuf *out)
{
    for (size_t i = 0; i < list->n; i++)
        if (strbuf_printf(out, "%s %u\n", list->e[i].record, list->e[i].count) < 0)
            return -1;
    return 0;
}
