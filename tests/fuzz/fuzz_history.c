/* fuzz_history.c: libFuzzer harness for a patron's history as read from
 * Redis (history.h), and the counting rule applied to it.
 *
 * The first byte picks the loan added (which title, how far in time from
 * the newest), the rest is the stored history. What history_parse takes
 * writes back (history_encode) as a text that reads back as the same
 * history; history_add then keeps the history's promises: newest
 * first, at most max_entries titles within ttl_s of the newest, each
 * title once; a new title's pairs are other titles of the history, each
 * once, at most pairs_per_loan of them, within window_s; what a forget
 * takes back of it (history_contributions) are pairs of two of its
 * titles, each pair once.
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

/* history_contributions(h): runs of a title of h and others of h, no
 * title with itself, no pair twice (either way round). */
static void check_contributions(const struct history *h)
{
    struct pair_table t = {0};
    if (history_contributions(h, &rules, &t) < 0) {
        pairs_free(&t);
        return;
    }
    uint64_t *seen = malloc((t.n ? t.n : 1) * sizeof *seen);
    size_t nseen = 0;
    for (size_t w = 0; seen && w < t.nwords; w += 2 + t.words[w + 1]) {
        uint32_t a = t.words[w];
        for (uint32_t k = 0; k < t.words[w + 1]; k++) {
            uint32_t b = t.words[w + 2 + k];
            int in_a = 0, in_b = 0;
            for (size_t i = 0; i < h->n; i++) {
                in_a |= h->e[i].record == a;
                in_b |= h->e[i].record == b;
            }
            if (a == b || !in_a || !in_b)
                abort();
            uint64_t key = a < b ? (uint64_t)a << 32 | b : (uint64_t)b << 32 | a;
            for (size_t j = 0; j < nseen; j++)
                if (seen[j] == key)
                    abort();
            seen[nseen++] = key;
        }
    }
    free(seen);
    pairs_free(&t);
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
    check_contributions(&h);
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
    int outcome = history_add(&h, rec, RECORD_IDS_NONE, when, &rules, pairs, &ps);
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
