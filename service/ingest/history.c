/* history.c: see history.h. */
#include "ingest/history.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int reserve(struct history *h, size_t n)
{
    if (n <= h->cap)
        return 0;
    size_t cap = h->cap ? h->cap : 16;
    while (cap < n)
        cap *= 2;
    struct history_entry *e = realloc(h->e, cap * sizeof *e);
    if (!e)
        return -1;
    h->e = e;
    h->cap = cap;
    return 0;
}

static int by_index(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return a < b ? -1 : a > b;
}

/* Whether a title is in h twice (sorted in h->paired, the scratch space
 * of history_add): history_add would pair a new loan with it twice, one
 * patron counting twice towards privacy.min_patrons. -1 out of memory. */
static int has_repeats(struct history *h)
{
    if (h->n < 2)
        return 0;
    if (h->n > h->cap_paired) {
        uint32_t *p = realloc(h->paired, h->n * sizeof *p);
        if (!p)
            return -1;
        h->paired = p;
        h->cap_paired = h->n;
    }
    for (size_t i = 0; i < h->n; i++)
        h->paired[i] = h->e[i].record;
    qsort(h->paired, h->n, sizeof *h->paired, by_index);
    for (size_t i = 1; i < h->n; i++)
        if (h->paired[i] == h->paired[i - 1])
            return 1;
    return 0;
}

int history_parse(struct history *h, const char *text, size_t len, struct record_ids *nm)
{
    const char *p = text, *end = text + len;
    h->n = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *sp = nl ? memchr(p, ' ', (size_t)(nl - p)) : NULL;
        if (!nl || !sp || sp == p || sp + 1 == nl || reserve(h, h->n + 1) < 0)
            goto bad;
        /* the record ends at the branch, if there is one */
        const char *rend = memchr(sp + 1, ' ', (size_t)(nl - sp - 1));
        if (!rend)
            rend = nl;
        else if (rend == sp + 1 || rend + 1 == nl || memchr(rend + 1, ' ', (size_t)(nl - rend - 1)))
            goto bad;
        /* digits as history_encode writes them (strtoll alone would take
         * blanks and a '+'), newest first as history_add relies on. The
         * first is checked before strtoll reads: from blanks it would read
         * on, over the newline and past len (found by fuzz_history). */
        if (!(*p >= '0' && *p <= '9') && !(*p == '-' && p[1] >= '0' && p[1] <= '9'))
            goto bad;
        char *num_end;
        errno = 0;
        long long when = strtoll(p, &num_end, 10);
        if (num_end != sp || errno || when < -HISTORY_MAX_WHEN || when > HISTORY_MAX_WHEN ||
            (h->n && when > h->e[h->n - 1].when))
            goto bad;
        /* a NUL no writer puts there, and history_encode could not write
         * back: the record would be another */
        if (memchr(sp + 1, '\0', (size_t)(nl - sp - 1)))
            goto bad;
        uint32_t rec = record_ids_intern(nm, sp + 1, (size_t)(rend - sp - 1));
        uint32_t branch = rend == nl ? RECORD_IDS_NONE
                                     : record_ids_intern(nm, rend + 1, (size_t)(nl - rend - 1));
        if (rec == RECORD_IDS_NONE || (rend != nl && branch == RECORD_IDS_NONE))
            goto bad;
        h->e[h->n++] = (struct history_entry){rec, branch, when};
        p = nl + 1;
    }
    if (has_repeats(h) != 0)
        goto bad;
    return 0;
bad:
    h->n = 0;
    return -1;
}

int history_encode(const struct history *h, const struct record_ids *nm, struct strbuf *out)
{
    for (size_t i = 0; i < h->n; i++) {
        const char *rec = record_ids_get(nm, h->e[i].record);
        if (strbuf_put_ll(out, h->e[i].when) < 0 || strbuf_append(out, " ", 1) < 0 ||
            strbuf_puts(out, rec) < 0)
            return -1;
        if (h->e[i].branch != RECORD_IDS_NONE &&
            (strbuf_append(out, " ", 1) < 0 || strbuf_puts(out, record_ids_get(nm, h->e[i].branch)) < 0))
            return -1;
        if (strbuf_append(out, "\n", 1) < 0)
            return -1;
    }
    return 0;
}

void history_clear(struct history *h)
{
    h->n = 0;
}

void history_free(struct history *h)
{
    free(h->e);
    free(h->paired);
    memset(h, 0, sizeof *h);
}

size_t history_recent(const struct history *h, uint32_t skip, size_t max, size_t *at)
{
    size_t n = 0;
    for (size_t i = 0; i < h->n && n < max; i++)
        if (h->e[i].record != skip)
            at[n++] = i;
    return n;
}

static long long distance(long long a, long long b)
{
    return a > b ? a - b : b - a;
}

int history_add(struct history *h, uint32_t record, uint32_t branch, long long when,
                const struct history_rules *rules, history_pairs_fn *pairs, void *arg)
{
    for (size_t i = 0; i < h->n; i++)
        if (h->e[i].record == record)
            return h->e[i].when == when ? LOAN_DUPLICATE : LOAN_REPEAT;
    if (h->n && ((h->n >= rules->max_entries && when < h->e[h->n - 1].when) ||
                 when < h->e[0].when - rules->ttl_s))
        return LOAN_STALE;
    size_t most = h->n < rules->pairs_per_loan ? h->n : rules->pairs_per_loan;
    if (reserve(h, h->n + 1) < 0)
        return -1;
    if (most > h->cap_paired) {
        uint32_t *p = realloc(h->paired, most * sizeof *p);
        if (!p)
            return -1;
        h->paired = p;
        h->cap_paired = most;
    }

    /* Where the loan goes: before the first entry not newer than it. */
    size_t at = 0;
    while (at < h->n && h->e[at].when > when)
        at++;

    /* Its pairs: walk outwards from there, nearest in time first (on a
     * tie, the newer one), while within the window and under the cap. */
    size_t newer = at, older = at, paired = 0;     /* next: e[newer-1], e[older] */
    while (paired < rules->pairs_per_loan) {
        int have_newer = newer > 0 && distance(h->e[newer - 1].when, when) <= rules->window_s;
        int have_older = older < h->n && distance(h->e[older].when, when) <= rules->window_s;
        size_t pick;
        if (have_newer && (!have_older || distance(h->e[newer - 1].when, when) <=
                                              distance(h->e[older].when, when)))
            pick = --newer;
        else if (have_older)
            pick = older++;
        else
            break;
        h->paired[paired++] = h->e[pick].record;
    }
    if (paired && pairs(arg, h->paired, paired) < 0)
        return -1;

    memmove(&h->e[at + 1], &h->e[at], (h->n - at) * sizeof *h->e);
    h->e[at] = (struct history_entry){record, branch, when};
    h->n++;
    if (h->n > rules->max_entries)
        h->n = rules->max_entries;
    while (h->n > 1 && h->e[h->n - 1].when < h->e[0].when - rules->ttl_s)
        h->n--;
    return LOAN_NEW;
}

/* The replay's pair callback: the title being added, then its pairs. */
struct replay {
    struct pair_table *out;
    uint32_t record;
};

static int replay_pairs(void *arg, const uint32_t *others, size_t n)
{
    struct replay *r = arg;
    return pairs_add_run(r->out, r->record, others, n);
}

int history_contributions(const struct history *h, const struct history_rules *rules,
                          struct pair_table *out)
{
    struct history again = {0};
    struct replay r = {out, 0};
    int rc = 0;
    for (size_t i = h->n; i-- > 0 && rc == 0;) {
        r.record = h->e[i].record;
        if (history_add(&again, h->e[i].record, h->e[i].branch, h->e[i].when, rules, replay_pairs,
                        &r) < 0)
            rc = -1;
    }
    history_free(&again);
    return rc;
}
