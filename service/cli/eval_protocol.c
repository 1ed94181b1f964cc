/* eval_protocol.c: see eval_protocol.h. */
#include "cli/eval_protocol.h"

#include <stdlib.h>
#include <string.h>

#include "core/dict.h"
#include "ingest/record_ids.h"

/* The index (in ev[from .. to)) of the patron's last first loan of a
 * title, and how many distinct titles they borrowed; -1 when out of
 * memory. seen is emptied for the next patron. */
static long last_new(const struct loan_event *ev, size_t from, size_t to, struct dict *seen,
                     size_t *distinct)
{
    long last = -1;
    *distinct = 0;
    for (size_t k = from; k < to; k++) {
        if (dict_get(seen, ev[k].record))
            continue;
        if (dict_set(seen, ev[k].record, (void *)1, NULL) < 0)
            return -1;
        (*distinct)++;
        last = (long)k;
    }
    for (size_t k = from; k < to; k++)
        dict_del(seen, ev[k].record);
    return last;
}

/* Fills t from the patron's loans ev[from .. to), the hidden one at h:
 * its distinct training titles (every title but the hidden one). */
static int make_test(struct eval_test *t, const struct loan_event *ev, size_t from, size_t to,
                     size_t h, struct dict *seen)
{
    memcpy(t->patron, ev[from].patron, sizeof t->patron);
    if (!(t->hidden = strdup(ev[h].record)) || !(t->query = strdup(ev[h - 1].record)) ||
        !(t->borrowed = calloc(to - from, sizeof *t->borrowed)))
        return -1;
    int rc = 0;
    for (size_t k = from; k < to && rc == 0; k++) {
        if (strcmp(ev[k].record, t->hidden) == 0 || dict_get(seen, ev[k].record))
            continue;
        if (dict_set(seen, ev[k].record, (void *)1, NULL) < 0 ||
            !(t->borrowed[t->nborrowed] = strdup(ev[k].record)))
            rc = -1;
        else
            t->nborrowed++;
    }
    for (size_t k = from; k < to; k++)
        dict_del(seen, ev[k].record);
    return rc;
}

int eval_split(struct loan_batch *all, struct eval_split *out)
{
    memset(out, 0, sizeof *out);
    size_t loans = 0;
    for (size_t i = 0; i < all->n; i++) {
        if (all->ev[i].type == LOAN_EVENT_LOAN) {
            all->ev[loans++] = all->ev[i];
        } else {
            free(all->ev[i].record);        /* and its branch, in the same block */
            out->holds++;
        }
    }
    all->n = loans;
    if (all->n)
        qsort(all->ev, all->n, sizeof *all->ev, loan_event_order);
    out->tests = calloc(all->n / EVAL_MIN_TITLES + 1, sizeof *out->tests);
    struct dict *seen = dict_new();
    struct record_ids *records = record_ids_new();
    int rc = out->tests && seen && records ? 0 : -1;
    size_t kept = 0, i = 0;
    while (rc == 0 && i < all->n) {
        size_t end = i, distinct;
        while (end < all->n && strcmp(all->ev[end].patron, all->ev[i].patron) == 0)
            end++;
        long h = last_new(all->ev, i, end, seen, &distinct);
        const char *hidden = NULL;
        if (h < 0) {
            rc = -1;
        } else if (distinct >= EVAL_MIN_TITLES) {
            /* h > i: the other titles' first loans all came before it */
            struct eval_test *t = &out->tests[out->ntests++];
            rc = make_test(t, all->ev, i, end, (size_t)h, seen);
            hidden = t->hidden;
            out->repeat_after += (size_t)h != end - 1;
        }
        for (size_t k = i; k < end; k++) {
            struct loan_event *e = &all->ev[k];
            if (hidden && strcmp(e->record, hidden) == 0) {
                free(e->record);        /* and its branch, in the same block */
                out->held_out++;
                continue;
            }
            if (rc == 0 && record_ids_intern(records, e->record, strlen(e->record)) ==
                           RECORD_IDS_NONE)
                rc = -1;
            all->ev[kept++] = *e;
        }
        i = end;
    }
    /* what was not reached (out of memory) stays, and is freed with all */
    while (i < all->n)
        all->ev[kept++] = all->ev[i++];
    all->n = kept;
    out->training_records = records ? record_ids_count(records) : 0;
    record_ids_free(records);
    dict_free(seen, NULL);
    return rc;
}

void eval_split_free(struct eval_split *s)
{
    for (size_t i = 0; i < s->ntests; i++) {
        struct eval_test *t = &s->tests[i];
        free(t->query);
        free(t->hidden);
        for (size_t k = 0; k < t->nborrowed; k++)
            free(t->borrowed[k]);
        free(t->borrowed);
        for (size_t k = 0; k < t->nrecent; k++)
            free(t->recent[k]);
        free(t->recent);
    }
    free(s->tests);
    memset(s, 0, sizeof *s);
}
