/* fuzz_history.c: libFuzzer harness for a patron's history as read from
 * Redis (history.h), and the counting rule applied to it.
 *
 * The first byte picks the loan added (which title, how far in time from
 * the newest), the rest is the stored history. What history_parse takes
 * writes back (history_encode) as a text that reads back as the same
 * history; history_add then keeps the history's promises: newest
 * first, at most max_entries titles within ttl_s of the newest, each
 * title once; a new title's pairs are other titles of the history, each
 * once, at most pairs_per_loan of them, within window_s.
 *
 * Built and run by `make fuzz` (clang); seeds from tests/fuzz/seeds.py. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/history.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct history_rules rules = {
    .max_entries = 40, .ttl_s = 400LL * 86400, .window_s = 365LL * 86400, .pairs_per_loan = 8};

struct pairs_seen {
    const struct history *h;
    uint32_t record;
    long long when;
    int called;
};

static int pairs(void *arg, const uint32_t *others, size_t n)
{
    struct pairs_seen *ps = arg;
    if (ps->called++ || n == 0 || n > rules.pairs_per_loan)
        abort();
    for (size_t i = 0; i < n; i++) {
        int found = 0;
        if (others[i] == ps->record)
            abort();
        for (size_t j = 0; j < i; j++)
            if (others[j] == others[i])
                abort();
        for (size_t k = 0; k < ps->h->n; k++) {
            const struct history_entry *e = &ps->h->e[k];
            if (e->record == others[i]) {
                long long d = e->when > ps->when ? e->when - ps->when : ps->when - e->when;
                if (d > rules.window_s)
                    abort();
                found = 1;
            }
        }
        if (!found)
            abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct record_ids *nm = record_ids_new();
    struct history h = {0}, again = {0};
    struct strbuf text = {0};
    if (!nm)
        return 0;
    const char *stored = (const char *)data + 1;
    if (history_parse(&h, stored, size - 1, nm) < 0)
        goto done;
    if (history_encode(&h, nm, &text) < 0)
        goto done;
    if (history_parse(&again, text.buf ? text.buf : "", text.len, nm) < 0 || again.n != h.n)
        abort();
    for (size_t i = 0; i < h.n; i++)
        if (again.e[i].record != h.e[i].record || again.e[i].when != h.e[i].when)
            abort();
    /* the loan: a title of the history (by the selector's low bits) or a new one */
    uint8_t sel = data[0];
    uint32_t rec = h.n && (sel & 1) ? h.e[(sel >> 1) % h.n].record
                                    : record_ids_intern(nm, "fuzz-new-title", 14);
    long long newest = h.n ? h.e[0].when : 1795437192LL;
    long long when = newest + ((long long)(sel >> 4) - 8) * 30 * 86400;
    when = when < 0 ? 0 : when > HISTORY_MAX_WHEN ? HISTORY_MAX_WHEN : when;   /* a loan's */
    if (rec == RECORD_IDS_NONE)
        goto done;
    struct pairs_seen ps = {&h, rec, when, 0};
    int outcome = history_add(&h, rec, when, &rules, pairs, &ps);
    if (outcome < 0)
        goto done;
    if (outcome == LOAN_NEW && h.n == 0)
        abort();
    for (size_t i = 0; i < h.n; i++) {
        if (i && h.e[i].when > h.e[i - 1].when)
            abort();                /* newest first */
        for (size_t j = 0; j < i; j++)
            if (h.e[j].record == h.e[i].record)
                abort();            /* each title once */
    }
    if (outcome == LOAN_NEW && (h.n > rules.max_entries ||
                                (h.n && h.e[0].when - h.e[h.n - 1].when > rules.ttl_s)))
        abort();
done:
    strbuf_free(&text);
    history_free(&h);
    history_free(&again);
    record_ids_free(nm);
    return 0;
}
