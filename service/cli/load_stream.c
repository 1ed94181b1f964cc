/* load_stream.c: see load_stream.h. */
#include "cli/load_stream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/loader.h"
#include "core/clock.h"
#include "ingest/record_ids.h"

#define BLOCK_BYTES (1u << 20)          /* read from a file at once */
#define FIRSTS_MIN_SLOTS 4096

_Static_assert(sizeof(struct load_rec) == 52, "a record on disk is 52 bytes");

struct first_slot {
    uint8_t patron[16];
    uint32_t first;                     /* seq of their first event */
    uint32_t used;
};

struct load_stream {
    const struct config *cfg;
    struct load_stream_options o;
    struct record_ids *names;           /* the records' ids */
    struct record_ids *branches;        /* the branches' codes */
    long long now;
    size_t events;                      /* good ones: the next seq */
    int bad;                            /* a problem anywhere: checking goes on, keeping stops */
    struct loan_batch one;              /* what loan_text_line takes an event into */
    /* each patron's first event, while they fit in memory / 4 */
    int mapped;
    struct first_slot *firsts;          /* open addressing; used == 0: empty */
    size_t nfirsts, nslots, max_slots;
    uint8_t cur[16];                    /* the patron of the last event, and their first */
    uint32_t cur_first;
    int have_cur;
    /* the sorters */
    struct extsort *by_first;           /* while mapped: the final order */
    struct extsort *early;              /* by_first's records when the map overflowed after a run */
    struct extsort *by_patron;          /* after that */
    struct extsort *final;              /* what the jobs are read from */
    struct load_rec peek;               /* the next record, read but not in a job */
    int have_peek;
    struct load_stream_stats stats;
};

int load_rec_by_patron(const void *x, const void *y)
{
    const struct load_rec *a = x, *b = y;
    int c = memcmp(a->patron, b->patron, sizeof a->patron);
    if (c)
        return c;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

int load_rec_by_first(const void *x, const void *y)
{
    const struct load_rec *a = x, *b = y;
    if (a->first != b->first)
        return a->first < b->first ? -1 : 1;
    if (a->when != b->when)
        return a->when < b->when ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

struct load_stream *load_stream_new(const struct config *cfg, const struct load_stream_options *o)
{
    struct load_stream *ls = calloc(1, sizeof *ls);
    if (!ls)
        return NULL;
    ls->cfg = cfg;
    ls->o = *o;
    if (ls->o.max_shown > LOADER_MAX_SHOWN_PROBLEMS)
        ls->o.max_shown = LOADER_MAX_SHOWN_PROBLEMS;
    ls->mapped = 1;
    ls->max_slots = o->memory / 4 / sizeof *ls->firsts;
    ls->names = record_ids_new();
    ls->branches = record_ids_new();
    ls->by_first = extsort_new(sizeof(struct load_rec), load_rec_by_first, o->memory, o->tmpdir);
    if (!ls->names || !ls->branches || !ls->by_first) {
        load_stream_free(ls);
        return NULL;
    }
    return ls;
}

void load_stream_free(struct load_stream *ls)
{
    if (!ls)
        return;
    if (ls->final != ls->by_first && ls->final != ls->by_patron)
        extsort_free(ls->final);
    extsort_free(ls->by_first);
    extsort_free(ls->early);
    extsort_free(ls->by_patron);
    record_ids_free(ls->names);
    record_ids_free(ls->branches);
    loan_batch_free(&ls->one);
    free(ls->firsts);
    free(ls);
}

/* ---- each patron's first event -------------------------------------------- */

static size_t first_slot_of(const struct first_slot *slots, size_t nslots, const uint8_t patron[16])
{
    uint64_t h;
    memcpy(&h, patron, sizeof h);       /* a keyed hash: already uniform */
    size_t j = (size_t)h & (nslots - 1);
    while (slots[j].used && memcmp(slots[j].patron, patron, 16) != 0)
        j = (j + 1) & (nslots - 1);
    return j;
}

/* The seq of the patron's first event: *first, 0; a patron not met
 * before is given seq. -1 when the map would outgrow memory / 4 (or
 * memory ran out). */
static int first_of(struct load_stream *ls, const uint8_t patron[16], uint32_t seq, uint32_t *first)
{
    if (2 * (ls->nfirsts + 1) > ls->nslots) {
        size_t nslots = ls->nslots ? 2 * ls->nslots : FIRSTS_MIN_SLOTS;
        struct first_slot *slots = nslots <= ls->max_slots ? calloc(nslots, sizeof *slots) : NULL;
        if (!slots)
            return -1;
        for (size_t i = 0; i < ls->nslots; i++)
            if (ls->firsts[i].used)
                slots[first_slot_of(slots, nslots, ls->firsts[i].patron)] = ls->firsts[i];
        free(ls->firsts);
        ls->firsts = slots;
        ls->nslots = nslots;
    }
    struct first_slot *f = &ls->firsts[first_slot_of(ls->firsts, ls->nslots, patron)];
    if (!f->used) {
        memcpy(f->patron, patron, 16);
        f->first = seq;
        f->used = 1;
        ls->nfirsts++;
    }
    *first = f->first;
    return 0;
}

/* The patrons outgrew their memory: what by_first holds is sorted by
 * pseudonym too, and so is the rest; their first events are found from
 * that order. */
static int unmap(struct load_stream *ls, struct strbuf *err)
{
    ls->mapped = 0;
    ls->stats.patrons_mapped = ls->nfirsts;
    free(ls->firsts);
    ls->firsts = NULL;
    ls->nfirsts = ls->nslots = 0;
    if (extsort_set_cmp(ls->by_first, load_rec_by_patron) == 0) {
        ls->by_patron = ls->by_first;   /* nothing on disk yet: sorted again in memory */
        ls->by_first = NULL;
        return 0;
    }
    if (extsort_spill(ls->by_first, err) < 0)
        return -1;
    ls->early = ls->by_first;
    ls->by_first = NULL;
    ls->by_patron = extsort_new(sizeof(struct load_rec), load_rec_by_patron, ls->o.memory,
                                ls->o.tmpdir);
    if (!ls->by_patron) {
        strbuf_puts(err, "out of memory\n");
        return -1;
    }
    return 0;
}

/* ---- the first pass -------------------------------------------------------- */

static int hex_value(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void from_hex(const char *hex, uint8_t out[16])
{
    for (int i = 0; i < 16; i++)
        out[i] = (uint8_t)(hex_value(hex[2 * i]) << 4 | hex_value(hex[2 * i + 1]));
}

static void to_hex(const uint8_t in[16], char out[PSEUDONYM_HEX_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[PSEUDONYM_HEX_LEN] = '\0';
}

/* The event loan_text_line took: kept as a record, 0; 1 when it is
 * refused (its branch one more than LOAD_MAX_BRANCHES: a problem of its
 * line); -1 when the load cannot go on (said in err). */
static int keep_event(struct load_stream *ls, const struct loan_event *e, struct strbuf *err)
{
    struct load_rec r;
    memset(&r, 0, sizeof r);
    if (e->when < 0 || e->when > (long long)UINT32_MAX) {
        /* loan_event.c refuses times before 1970 and after tomorrow */
        strbuf_printf(err, "a time beyond 2106 passed the checks: %lld\n", e->when);
        return -1;
    }
    r.when = (uint32_t)e->when;
    r.seq = (uint32_t)ls->events;
    r.type = (uint8_t)e->type;
    from_hex(e->patron, r.patron);
    if (e->id[0]) {
        r.has_id = 1;
        from_hex(e->id, r.id);
    }
    if ((r.record = record_ids_intern(ls->names, e->record, strlen(e->record))) == RECORD_IDS_NONE) {
        strbuf_puts(err, "out of memory\n");
        return -1;
    }
    if (e->branch) {
        uint32_t b = record_ids_intern(ls->branches, e->branch, strlen(e->branch));
        if (b == RECORD_IDS_NONE) {
            strbuf_puts(err, "out of memory\n");
            return -1;
        }
        if (b >= LOAD_MAX_BRANCHES)
            return 1;           /* r.branch is 16 bits, 0 for none */
        r.branch = (uint16_t)(b + 1);
    }
    if (ls->mapped && (!ls->have_cur || memcmp(ls->cur, r.patron, sizeof r.patron) != 0)) {
        if (first_of(ls, r.patron, r.seq, &ls->cur_first) < 0 && unmap(ls, err) < 0)
            return -1;
        memcpy(ls->cur, r.patron, sizeof r.patron);
        ls->have_cur = 1;
    }
    ls->events++;
    if (ls->mapped) {
        r.first = ls->cur_first;
        return extsort_add(ls->by_first, &r, err);
    }
    return extsort_add(ls->by_patron, &r, err);
}

/* One line of a file: checked, and kept if everything so far was good.
 * -1 when the load cannot go on (out of memory, the temporary file). */
static int take_line(struct load_stream *ls, struct loan_text *t, const char *line, size_t n,
                     struct strbuf *err)
{
    enum loans_status st = loan_text_line(t, line, n, ls->cfg, ls->now,
                                          LOAD_MAX_EVENTS - ls->events, &ls->one);
    if (st == LOANS_NO_MEMORY) {
        strbuf_puts(err, "out of memory\n");
        return -1;
    }
    if (st == LOANS_INVALID)
        ls->bad = 1;
    int rc = 0;
    if (ls->one.n) {
        if (!ls->bad)
            rc = keep_event(ls, &ls->one.ev[0], err);
        if (rc == 1) {
            /* the first line past the limit is named; nothing is kept
             * after it, so no other branch is counted */
            loan_text_refuse(t, "branch", "more than " PSEUDO_STR(LOAD_MAX_BRANCHES)
                             " branches in one load: load the files in parts");
            ls->bad = 1;
            rc = 0;
        }
        free(ls->one.ev[0].record);
        ls->one.n = 0;
    }
    return rc;
}

/* Reads one file in blocks, a line at a time. 0; -1 when it cannot be
 * read (said in report); -2 when the load cannot go on (said in err). */
static int read_one(struct load_stream *ls, const char *path, struct strbuf *report,
                    struct strbuf *err)
{
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!in) {
        strbuf_printf(report, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    struct loan_problem probs[LOADER_MAX_SHOWN_PROBLEMS];
    struct loan_text t;
    loan_text_init(&t, probs, ls->o.max_shown);
    struct strbuf carry = {0};          /* a line that goes on in the next block */
    int skipping = 0;                   /* in a line too long to keep */
    int rc = 0;
    char *block = malloc(BLOCK_BYTES);
    if (!block) {
        strbuf_puts(err, "out of memory\n");
        rc = -2;
    }
    size_t got;
    while (rc == 0 && (got = fread(block, 1, BLOCK_BYTES, in)) > 0) {
        const char *p = block, *end = block + got;
        while (rc == 0 && p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
            if (skipping) {
                /* nothing of it kept */
            } else if (carry.len + n > LOAD_MAX_LINE_BYTES) {
                loan_text_skip(&t, "line", "longer than " PSEUDO_STR(LOAD_MAX_LINE_BYTES) " bytes");
                ls->bad = 1;
                strbuf_reset(&carry);
                skipping = 1;
            } else if (!nl || carry.len) {
                if (strbuf_append(&carry, p, n) < 0) {
                    strbuf_puts(err, "out of memory\n");
                    rc = -2;
                    break;
                }
            }
            if (nl) {
                if (!skipping && carry.len)
                    rc = take_line(ls, &t, carry.buf, carry.len, err) < 0 ? -2 : 0;
                else if (!skipping)
                    rc = take_line(ls, &t, p, n, err) < 0 ? -2 : 0;
                strbuf_reset(&carry);
                skipping = 0;
            }
            p = nl ? nl + 1 : end;
        }
    }
    if (rc == 0 && ferror(in)) {
        strbuf_printf(report, "%s: read error\n", path);
        rc = -1;
    }
    if (rc == 0 && carry.len && !skipping)    /* the last line, without a newline */
        rc = take_line(ls, &t, carry.buf, carry.len, err) < 0 ? -2 : 0;
    if (rc == 0) {
        if (loan_text_end(&t) != LOANS_OK)
            ls->bad = 1;
        for (size_t k = 0; k < t.nprobs && k < ls->o.max_shown; k++)
            strbuf_printf(report, "%s:%zu: %s: %s\n", path, probs[k].line, probs[k].field,
                          probs[k].message);
        if (t.nprobs > ls->o.max_shown)
            strbuf_printf(report, "%s: %zu more problems not shown\n", path,
                          t.nprobs - ls->o.max_shown);
        if (t.nprobs)
            rc = -1;
    }
    loan_text_free(&t);
    strbuf_free(&carry);
    free(block);
    if (in != stdin)
        fclose(in);
    return rc;
}

/* ---- the sorts --------------------------------------------------------- */

/* Every record of from into to. */
static int drain(struct extsort *from, struct extsort *to, struct strbuf *err)
{
    if (extsort_finish(from, err) < 0)
        return -1;
    const void *rec;
    int got;
    while ((got = extsort_next(from, &rec, err)) == 1)
        if (extsort_add(to, rec, err) < 0)
            return -1;
    return got;
}

/* Sets each record's first, given them by pseudonym and seq. */
struct first_of_patron {
    uint8_t patron[16];
    uint32_t first;
    int have;
};

static void set_first(void *rec, void *arg)
{
    struct load_rec *r = rec;
    struct first_of_patron *fp = arg;
    if (!fp->have || memcmp(fp->patron, r->patron, sizeof r->patron) != 0) {
        memcpy(fp->patron, r->patron, sizeof r->patron);
        fp->first = r->seq;
        fp->have = 1;
    }
    r->first = fp->first;
}

/* The records sorted by pseudonym into the final order: each patron's
 * first record (by pseudonym, then seq) has their first seq. */
static int by_first_appearance(struct load_stream *ls, struct strbuf *err)
{
    if (ls->early) {
        if (drain(ls->early, ls->by_patron, err) < 0)
            return -1;
        extsort_free(ls->early);
        ls->early = NULL;
    }
    if (extsort_finish(ls->by_patron, err) < 0)
        return -1;
    extsort_get_stats(ls->by_patron, &ls->stats.sort[0]);
    struct first_of_patron fp = {0};
    if (extsort_reorder(ls->by_patron, load_rec_by_first, set_first, &fp) == 0) {
        ls->final = ls->by_patron;      /* all in memory: sorted again in place */
        ls->by_patron = NULL;
        return 0;
    }
    struct extsort *out = extsort_new(sizeof(struct load_rec), load_rec_by_first, ls->o.memory,
                                      ls->o.tmpdir);
    if (!out) {
        strbuf_puts(err, "out of memory\n");
        return -1;
    }
    const void *p;
    int got;
    struct load_rec r, last;
    int have_last = 0;
    while ((got = extsort_next(ls->by_patron, &p, err)) == 1) {
        memcpy(&r, p, sizeof r);
        if (!have_last || memcmp(last.patron, r.patron, sizeof r.patron) != 0) {
            last = r;
            have_last = 1;
        }
        r.first = last.seq;
        if (extsort_add(out, &r, err) < 0) {
            got = -1;
            break;
        }
    }
    extsort_free(ls->by_patron);
    ls->by_patron = NULL;
    ls->final = out;
    return got < 0 ? -1 : extsort_finish(out, err);
}

int load_stream_read(struct load_stream *ls, char *const *paths, int npaths, struct strbuf *report)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ls->now = (long long)time(NULL);
    struct strbuf err = {0};
    int failed = 0;
    for (int i = 0; i < npaths; i++) {
        int rc = read_one(ls, paths[i], report, &err);
        if (rc == -2) {
            strbuf_printf(report, "%s: reading stopped (not a problem of the file): %s", paths[i],
                          strbuf_cstr(&err));
            strbuf_free(&err);
            return -1;
        }
        failed |= rc < 0;
    }
    if (failed || ls->bad)
        return -1;
    ls->stats.read_s = seconds_since(&t0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ls->stats.events = ls->events;
    int rc;
    if (ls->mapped) {
        ls->stats.patrons_mapped = ls->nfirsts;
        free(ls->firsts);
        ls->firsts = NULL;
        rc = extsort_finish(ls->by_first, &err);
        ls->final = ls->by_first;
        ls->by_first = NULL;
        extsort_get_stats(ls->final, &ls->stats.sort[1]);
        ls->stats.sorts = ls->stats.sort[1].buffers_sorted ? 1 : 0;
    } else {
        rc = by_first_appearance(ls, &err);
        if (ls->final)
            extsort_get_stats(ls->final, &ls->stats.sort[1]);
        ls->stats.sorts = 2;
    }
    ls->stats.sort_s = seconds_since(&t0);
    if (rc < 0) {
        strbuf_printf(report, "sorting the events: %s", strbuf_cstr(&err));
        strbuf_free(&err);
        return -1;
    }
    strbuf_free(&err);
    return 0;
}

/* ---- the second pass ------------------------------------------------------- */

static int push_event(struct load_stream *ls, struct loan_batch *job, const struct load_rec *r)
{
    if (job->n == job->cap) {
        size_t cap = job->cap ? 2 * job->cap : ls->o.job_events + 64;
        struct loan_event *ev = realloc(job->ev, cap * sizeof *ev);
        if (!ev)
            return -1;
        job->ev = ev;
        job->cap = cap;
    }
    struct loan_event *e = &job->ev[job->n];
    memset(e, 0, sizeof *e);
    /* the record and its branch in one block (loan_event.h) */
    const char *record = record_ids_get(ls->names, r->record);
    const char *branch = r->branch ? record_ids_get(ls->branches, r->branch - 1u) : NULL;
    size_t rlen = strlen(record) + 1, blen = branch ? strlen(branch) + 1 : 0;
    if (!(e->record = malloc(rlen + blen)))
        return -1;
    memcpy(e->record, record, rlen);
    if (branch)
        e->branch = memcpy(e->record + rlen, branch, blen);
    to_hex(r->patron, e->patron);
    if (r->has_id)
        to_hex(r->id, e->id);
    e->type = (enum loan_event_type)r->type;
    e->when = r->when;
    e->seq = r->seq;
    job->n++;
    return 0;
}

int load_stream_next_job(void *src, struct loan_batch *job, struct strbuf *err)
{
    struct load_stream *ls = src;
    uint32_t last_first = 0;
    for (;;) {
        if (!ls->have_peek) {
            const void *p;
            int got = extsort_next(ls->final, &p, err);
            if (got < 0) {
                loan_batch_free(job);
                return -1;
            }
            if (got == 0)
                break;
            memcpy(&ls->peek, p, sizeof ls->peek);
            ls->have_peek = 1;
        }
        if (job->n >= ls->o.job_events && ls->peek.first != last_first)
            break;
        if (push_event(ls, job, &ls->peek) < 0) {
            loan_batch_free(job);
            strbuf_puts(err, "out of memory\n");
            return -1;
        }
        last_first = ls->peek.first;
        ls->have_peek = 0;
    }
    job->ordered = 1;                   /* the final order is loan_order_by_patron's */
    return job->n > 0;
}

void load_stream_get_stats(const struct load_stream *ls, struct load_stream_stats *st)
{
    *st = ls->stats;
}
