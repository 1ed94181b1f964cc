/* ingest.c: see ingest.h. */
#include "ingest/ingest.h"

#include <stdlib.h>
#include <string.h>

#include "core/dict.h"
#include "core/log.h"
#include "ingest/history.h"
#include "ingest/pairs.h"
#include "ingest/record_ids.h"
#include "model/cooc_list.h"
#include "redis/forget_feed.h"

enum job_kind { JOB_EVENTS, JOB_FORGET };

/* A job's write: its commands, run only if every history it read is
 * still as read. Another process (onloan load beside onloand, or a second
 * onloand) may have changed one since; then nothing is written, 0 comes
 * back and the job reads and applies again, so that no loan is counted
 * twice or lost from a history. ARGV: g; g triples of a history key, "1"
 * if it was there ("0" if not) and what it held; then each command as its
 * argument count and arguments. */
static const char guarded_write_script[] =
    "local g, at = tonumber(ARGV[1]), 2\n"
    "for i = 1, g do\n"
    "  local cur = redis.call('GET', ARGV[at])\n"
    "  if ARGV[at + 1] == '1' then\n"
    "    if cur ~= ARGV[at + 2] then return 0 end\n"
    "  elseif cur then return 0 end\n"
    "  at = at + 3\n"
    "end\n"
    "while at <= #ARGV do\n"
    "  local argc = tonumber(ARGV[at])\n"
    "  redis.call(unpack(ARGV, at + 1, at + argc))\n"
    "  at = at + argc + 1\n"
    "end\n"
    "return 1\n";

/* A job whose histories changed under it this many times in a row fails
 * ("write_conflict": nothing applied, send again). */
#define MAX_WRITE_CONFLICTS 8

/* Event ids per ZADD (Lua's unpack takes some 8000 values at most). */
#define IDS_PER_ZADD 1000

struct patron_group {
    const char *pseudonym;      /* borrowed from the job's events (or forget_pseudonym) */
    size_t first, n;            /* in the job's order[] */
    int seen_at;                /* index of its ZMSCORE seen: in the read's reply (or -1);
                                 * its history is the group's element of the MGET */
};

struct waiter {
    ingest_done_cb *cb;
    void *arg;
    struct waiter *next;
};

/* Record counts (distinct borrowers) and totals, kept until a flush
 * writes them with the pair counts. */
enum total { TOTAL_LOANS, TOTAL_REPEATS, TOTAL_DUPLICATES, TOTAL_STALE, TOTAL_PATRONS, NTOTALS };
static const char *const total_field[NTOTALS] = {"loans", "repeats", "duplicates", "stale", "patrons"};

struct counts {
    uint32_t *pop;                  /* per record index: new borrowers */
    size_t cap;
    uint32_t *touched;              /* indexes with pop > 0 */
    size_t ntouched, captouched;
    long long total[NTOTALS];
};

static int counts_add(struct counts *c, uint32_t record, uint32_t n)
{
    if (record >= c->cap) {
        size_t cap = c->cap ? c->cap : 1024;
        while (cap <= record)
            cap *= 2;
        uint32_t *pop = realloc(c->pop, cap * sizeof *pop);
        if (!pop)
            return -1;
        memset(pop + c->cap, 0, (cap - c->cap) * sizeof *pop);
        c->pop = pop;
        c->cap = cap;
    }
    if (!c->pop[record]) {
        if (c->ntouched == c->captouched) {
            size_t cap = c->captouched ? c->captouched * 2 : 256;
            uint32_t *t = realloc(c->touched, cap * sizeof *t);
            if (!t)
                return -1;
            c->touched = t;
            c->captouched = cap;
        }
        c->touched[c->ntouched++] = record;
    }
    c->pop[record] += n;
    return 0;
}

static int counts_add_record(struct counts *c, uint32_t record)
{
    return counts_add(c, record, 1);
}

static int counts_empty(const struct counts *c)
{
    for (int i = 0; i < NTOTALS; i++)
        if (c->total[i])
            return 0;
    return c->ntouched == 0;
}

static void counts_clear(struct counts *c)
{
    for (size_t i = 0; i < c->ntouched; i++)
        c->pop[c->touched[i]] = 0;
    c->ntouched = 0;
    memset(c->total, 0, sizeof c->total);
}

/* Adds src to dst (a flush that failed gives its counts back). */
static void counts_merge(struct counts *dst, const struct counts *src)
{
    for (size_t i = 0; i < src->ntouched; i++)
        if (counts_add(dst, src->touched[i], src->pop[src->touched[i]]) < 0)
            log_msg(LOG_ERROR, "ingest: out of memory: a borrower count dropped");
    for (int i = 0; i < NTOTALS; i++)
        dst->total[i] += src->total[i];
}

static void counts_free(struct counts *c)
{
    free(c->pop);
    free(c->touched);
    memset(c, 0, sizeof *c);
}

struct ingest {
    struct event_base *base;
    struct redis_client *st;               /* jobs: histories and seen ids */
    struct redis_client *bulk;             /* flushes: pair counts, record counts, totals */
    const struct config *cfg;
    struct history_rules rules;
    struct record_ids *names;
    struct pair_log pending;        /* counted, not yet written: the jobs' logs */
    struct counts counts;           /* likewise: record counts and totals */
    struct counts counts_flushing;  /* those the running flush writes */
    uint64_t *retry;                /* directed counts a failed flush did not write */
    size_t nretry;
    int flush_running;
    struct pair_groups groups[2];   /* the running flush's counts by record: pending, retried */
    size_t next_record;             /* records [0, next_record) sent */
    size_t units_unwritten;         /* directed counts not known to be written (stats) */
    uint32_t *fallback;             /* records whose fresh list lost the race: APPENDed after */
    size_t nfallback, capfallback, next_fallback;
    uint8_t *listed;                /* per record: co:<record> known to exist (a write went through) */
    size_t caplisted;
    uint32_t *scratch;              /* the entries kept of a record's fresh list */
    size_t capscratch;
    struct flush_chunk {
        struct ingest *ing;
        int fallback;               /* [first, end) index fallback[], else records */
        size_t first, end;
        size_t units;               /* their directed counts */
        struct fresh_try {          /* a SET NX of a fresh list: its reply's index */
            size_t at;
            uint32_t record;
            size_t units;
        } *tries;
        size_t ntries;
        struct redis_op *op;        /* NULL: slot free */
    } chunks[4];                    /* written at once, in order */
    size_t chunks_in_flight;
    const char *flush_error;        /* the running flush's first failure of pair counts */
    const char *counts_error;       /* its record counts' failure (they go back to counts) */
    struct waiter *waiters;         /* for the next flush */
    struct waiter *flush_waiters;   /* for the running one */
    struct event *flush_timer;
    struct dict *busy;              /* pseudonym -> number of running jobs holding it */
    struct ingest_job *waiting_head, *waiting_tail;
    struct ingest_job *running;     /* started, not finished (prev/next) */
    struct redis_op *flush_op;
    struct ingest_job *open;        /* live: gathering this loop pass's requests */
    struct event *seal_event;       /* live: sends the open job at the end of the pass */
    struct ingest_stats stats;
};

/* One caller of a job: a POST, a chunk of a file, a forget. A live job
 * gathers the requests that arrive in one pass of the event loop. */
struct job_request {
    ingest_cb *cb;                  /* events */
    ingest_done_cb *done_cb;        /* forget */
    void *arg;
    size_t first, n;                /* its events: b.ev[first, first + n) */
    struct ingest_result res;
};

struct ingest_job {
    struct ingest *ing;
    enum job_kind kind;
    struct loan_batch b;            /* the requests' events, one after the other */
    struct loan_event **order;      /* by patron, then time, then arrival */
    struct patron_group *groups;
    size_t ngroups;
    char forget_pseudonym[PSEUDONYM_HEX_LEN + 1];
    struct job_request *reqs;
    size_t nreqs, capreqs;
    int answered;                   /* the callers have their answer (see job_late) */
    struct redis_op *op;
    size_t sent;                    /* commands in the last redis_exec */
    struct ingest_job *next;        /* while waiting, or in running */
    struct ingest_job *prev;        /* in running */
    uint32_t cur_record;            /* the record being applied (pair callback) */
    struct pair_table pairs;        /* counted by this job: the loan's record first */
    uint32_t *fresh;                /* records with a new borrower */
    size_t nfresh, capfresh;
    struct ingest_result res;       /* the requests' results summed (stats, totals) */
    int conflicts;                  /* writes refused because a history changed */
};

/* ---- jobs: waiting for patrons ---------------------------------------------- */

static void job_free(struct ingest_job *job)
{
    loan_batch_free(&job->b);
    free(job->order);
    free(job->groups);
    pairs_free(&job->pairs);
    free(job->fresh);
    free(job->reqs);
    free(job);
}

/* The request an event came with (requests hold consecutive events). */
static struct job_request *request_of(struct ingest_job *job, const struct loan_event *e)
{
    size_t at = (size_t)(e - job->b.ev), lo = 0, hi = job->nreqs;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (job->reqs[mid].first <= at)
            lo = mid;
        else
            hi = mid;
    }
    return &job->reqs[lo];
}

static void job_answer(struct ingest_job *job, const char *error)
{
    for (size_t r = 0; r < job->nreqs; r++) {
        struct job_request *req = &job->reqs[r];
        if (job->kind == JOB_EVENTS)
            req->cb(error ? NULL : &req->res, error, req->arg);
        else
            req->done_cb(error, req->arg);
    }
}

static int job_blocked(const struct ingest_job *job, const struct dict *busy,
                       const struct dict *claimed)
{
    for (size_t g = 0; g < job->ngroups; g++)
        if (dict_get(busy, job->groups[g].pseudonym) ||
            (claimed && dict_get(claimed, job->groups[g].pseudonym)))
            return 1;
    return 0;
}

static void busy_mark(struct ingest *ing, struct ingest_job *job, int delta)
{
    for (size_t g = 0; g < job->ngroups; g++) {
        const char *p = job->groups[g].pseudonym;
        uintptr_t n = (uintptr_t)dict_get(ing->busy, p);
        if (delta > 0) {
            if (dict_set(ing->busy, p, (void *)(n + 1), NULL) < 0)
                abort();    /* a few bytes; the busy set must stay exact */
        } else if (n <= 1) {
            dict_del(ing->busy, p);
        } else {
            dict_set(ing->busy, p, (void *)(n - 1), NULL);
        }
    }
}

static void job_start(struct ingest_job *job);
static void forget_deleted(redisReply *reply, const char *error, void *arg);

/* Starts, in order, every waiting job that no running job and no earlier
 * waiting job shares a patron with. */
static void start_waiting(struct ingest *ing)
{
    struct dict *claimed = NULL;
    struct ingest_job **link = &ing->waiting_head, *prev = NULL;
    while (*link) {
        struct ingest_job *job = *link;
        if (!job_blocked(job, ing->busy, claimed)) {
            *link = job->next;
            if (ing->waiting_tail == job)
                ing->waiting_tail = prev;
            job->next = NULL;
            ing->stats.waiting_jobs--;
            job_start(job);
            continue;
        }
        int full = !claimed && !(claimed = dict_new());
        for (size_t g = 0; g < job->ngroups && !full; g++)
            full = dict_set(claimed, job->groups[g].pseudonym, (void *)1, NULL) < 0;
        if (full)
            break;          /* out of memory: the rest is retried when the next job ends */
        prev = job;
        link = &job->next;
    }
    dict_free(claimed, NULL);
}

static void job_finish(struct ingest_job *job, const char *error)
{
    struct ingest *ing = job->ing;
    busy_mark(ing, job, -1);
    ing->stats.running_jobs--;
    if (job->prev)
        job->prev->next = job->next;
    else
        ing->running = job->next;
    if (job->next)
        job->next->prev = job->prev;
    if (!job->answered)
        job_answer(job, error);
    job_free(job);
    start_waiting(ing);
}

/* A write past redis.timeout_ms: the caller is told it is not confirmed
 * (and may send again: what was applied comes back as duplicates); the
 * job waits for the real outcome and counts the events if they were
 * applied after all. */
static void job_late(void *arg)
{
    struct ingest_job *job = arg;
    if (job->answered)
        return;
    job->answered = 1;
    log_msg(LOG_WARN, "ingest: a write of %zu events is not confirmed after %d ms; still waiting",
            job->b.n, job->ing->cfg->redis_timeout_ms);
    job_answer(job, "write_unconfirmed");
}

static void job_enqueue(struct ingest *ing, struct ingest_job *job)
{
    if (!ing->waiting_head && !job_blocked(job, ing->busy, NULL)) {
        job_start(job);
        return;
    }
    if (ing->waiting_tail)
        ing->waiting_tail->next = job;
    else
        ing->waiting_head = job;
    ing->waiting_tail = job;
    ing->stats.waiting_jobs++;
}

/* ---- events: read, apply, write -------------------------------------------- */

static void write_done(redisReply *reply, const char *error, void *arg);

static int add_pairs(void *arg, const uint32_t *others, size_t n)
{
    struct ingest_job *job = arg;
    /* one run: the loan's record, then the titles it pairs with (pairs.h) */
    return pairs_add_run(&job->pairs, job->cur_record, others, n);
}

static int add_fresh(struct ingest_job *job, uint32_t record)
{
    if (job->nfresh == job->capfresh) {
        size_t cap = job->capfresh ? job->capfresh * 2 : 64;
        uint32_t *f = realloc(job->fresh, cap * sizeof *f);
        if (!f)
            return -1;
        job->fresh = f;
        job->capfresh = cap;
    }
    job->fresh[job->nfresh++] = record;
    return 0;
}

/* Commands are collected in a growing array. */
struct cmds {
    struct rcmd *c;
    size_t n, cap;
    int failed;
};

static struct rcmd *cmds_next(struct cmds *cs)
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

static void cmds_free(struct cmds *cs)
{
    for (size_t i = 0; i < cs->n; i++)
        rcmd_free(&cs->c[i]);
    free(cs->c);
    memset(cs, 0, sizeof *cs);
}

/* Starts "<verb> <prefix><kind><name>"; add arguments with cmd_arg. */
static struct rcmd *cmd_key(struct cmds *cs, const char *verb, const char *pfx,
                            const char *kind, const char *name)
{
    struct rcmd *c = cmds_next(cs);
    if (c)
        cs->failed |= rcmd_addstr(c, verb) | rcmd_addjoin(c, pfx, kind, name);
    return c;
}

static void cmd_arg(struct cmds *cs, struct rcmd *c, const char *arg)
{
    if (c)
        cs->failed |= rcmd_addstr(c, arg);
}

static void meta_incr(struct cmds *cs, const char *pfx, const char *field, long long by)
{
    char num[32];
    if (!by)
        return;
    snprintf(num, sizeof num, "%lld", by);
    struct rcmd *c = cmd_key(cs, "HINCRBY", pfx, "meta", "");
    cmd_arg(cs, c, field);
    cmd_arg(cs, c, num);
}

static int id_seen_before(struct loan_event **ev, size_t upto, const char *id)
{
    for (size_t i = 0; i < upto; i++)
        if (strcmp(ev[i]->id, id) == 0)
            return 1;
    return 0;
}

/* Applies one patron's events to their history; queues the writes. */
static int apply_group(struct ingest_job *job, struct patron_group *g, const redisReply *hist,
                       const redisReply *seen, struct history *h, struct cmds *cs)
{
    struct ingest *ing = job->ing;
    const struct config *cfg = ing->cfg;
    const char *pfx = cfg->redis_prefix;
    struct loan_event **ev = &job->order[g->first];
    int existed = hist && hist->type == REDIS_REPLY_STRING && hist->len > 0;
    history_clear(h);
    if (existed && history_parse(h, hist->str, hist->len, ing->names) < 0)
        log_msg(LOG_WARN, "history of %s is malformed: started afresh", g->pseudonym);
    size_t changed = 0, seen_at = 0, nids = 0;
    struct rcmd *ids = NULL;
    struct ingest_result *first_new = NULL;     /* the request that brought the patron in */
    for (size_t i = 0; i < g->n; i++) {
        struct loan_event *e = ev[i];
        struct ingest_result *res = &request_of(job, e)->res;
        if (e->id[0]) {
            const redisReply *s = seen && seen->type == REDIS_REPLY_ARRAY &&
                                  seen_at < seen->elements ? seen->element[seen_at] : NULL;
            seen_at++;
            if ((s && s->type == REDIS_REPLY_STRING) || id_seen_before(ev, i, e->id)) {
                res->duplicates++;
                continue;
            }
        }
        uint32_t rec = record_ids_intern(ing->names, e->record, strlen(e->record));
        if (rec == RECORD_IDS_NONE)
            return -1;
        job->cur_record = rec;
        int outcome = history_add(h, rec, e->when, &ing->rules, add_pairs, job);
        if (outcome < 0)
            return -1;
        if (outcome == LOAN_NEW) {
            res->new_loans++;
            if (!changed++)
                first_new = res;
            if (add_fresh(job, rec) < 0)
                return -1;
        } else if (outcome == LOAN_REPEAT) {
            res->repeats++;
        } else if (outcome == LOAN_STALE) {
            res->stale++;
        } else {
            res->duplicates++;
        }
        if (e->id[0]) {
            if (nids++ % IDS_PER_ZADD == 0) {
                ids = cmd_key(cs, "ZADD", pfx, "seen:", g->pseudonym);
                if (!ids)
                    return -1;
            }
            char when[32];
            snprintf(when, sizeof when, "%lld", e->when);
            cmd_arg(cs, ids, when);
            cmd_arg(cs, ids, e->id);
        }
    }
    char ttl[32];
    snprintf(ttl, sizeof ttl, "%lld", (long long)cfg->history_ttl_days * 86400);
    if (ids) {
        /* Keep the newest 4 * history_max ids: enough to recognise a
         * replay of anything the history still remembers. */
        char keep[32];
        snprintf(keep, sizeof keep, "%d", -(4 * cfg->history_max) - 1);
        struct rcmd *c = cmd_key(cs, "ZREMRANGEBYRANK", pfx, "seen:", g->pseudonym);
        cmd_arg(cs, c, "0");
        cmd_arg(cs, c, keep);
        c = cmd_key(cs, "EXPIRE", pfx, "seen:", g->pseudonym);
        cmd_arg(cs, c, ttl);
    }
    if (changed) {
        struct strbuf text = {0};
        struct rcmd *c = cmd_key(cs, "SET", pfx, "h:", g->pseudonym);
        if (!c || history_encode(h, ing->names, &text) < 0) {
            strbuf_free(&text);
            return -1;
        }
        cs->failed |= rcmd_add(c, text.buf ? text.buf : "", text.len);
        cmd_arg(cs, c, "EX");
        cmd_arg(cs, c, ttl);
        strbuf_free(&text);
        if (!existed)
            first_new->new_patrons++;
    }
    return cs->failed ? -1 : 0;
}

/* The job's writes as one guarded_write_script call (their arguments
 * copied into it). hists: the histories as read, one per group. */
static int guarded_write(const struct ingest_job *job, const redisReply *hists, struct cmds *cs,
                         struct rcmd *out)
{
    const char *pfx = job->ing->cfg->redis_prefix;
    int failed = rcmd_addstr(out, "EVAL") | rcmd_addstr(out, guarded_write_script) |
                 rcmd_addstr(out, "0") | rcmd_addf(out, "%zu", job->ngroups);
    for (size_t g = 0; g < job->ngroups && !failed; g++) {
        const redisReply *h = hists->element[g];
        int was = h->type == REDIS_REPLY_STRING;
        failed |= rcmd_addjoin(out, pfx, "h:", job->groups[g].pseudonym) |
                  rcmd_addstr(out, was ? "1" : "0") | rcmd_add(out, was ? h->str : "", was ? h->len : 0);
    }
    for (size_t i = 0; i < cs->n && !failed; i++) {
        struct rcmd *c = &cs->c[i];
        failed |= rcmd_addf(out, "%d", c->argc);
        for (int a = 0; a < c->argc && !failed; a++)
            failed |= rcmd_add(out, c->argv[a], c->len[a]);
    }
    return failed ? -1 : 0;
}

static void read_done(redisReply *reply, const char *error, void *arg)
{
    struct ingest_job *job = arg;
    struct ingest *ing = job->ing;
    job->op = NULL;
    if (error) {
        job_finish(job, error);
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != job->sent ||
        reply->element[0]->type != REDIS_REPLY_ARRAY || reply->element[0]->elements != job->ngroups) {
        log_msg(LOG_WARN, "ingest: unexpected reply to the history read: %s",
                reply->type == REDIS_REPLY_ERROR ? reply->str : "not the array sent for");
        job_finish(job, "redis_unavailable");
        return;
    }
    struct cmds cs = {0};
    struct history h = {0};
    int rc = 0;
    for (size_t g = 0; g < job->ngroups && rc == 0; g++) {
        struct patron_group *pg = &job->groups[g];
        const redisReply *hist = reply->element[0]->element[g];
        const redisReply *seen = pg->seen_at >= 0 ? reply->element[pg->seen_at] : NULL;
        rc = apply_group(job, pg, hist, seen, &h, &cs);
    }
    history_free(&h);
    for (size_t r = 0; r < job->nreqs; r++) {
        struct ingest_result *res = &job->reqs[r].res;
        res->taken = job->reqs[r].n;
        job->res.taken += res->taken;
        job->res.new_loans += res->new_loans;
        job->res.repeats += res->repeats;
        job->res.duplicates += res->duplicates;
        job->res.stale += res->stale;
        job->res.new_patrons += res->new_patrons;
    }
    /* Record counts and totals join the pair counts: written with them. */
    if (rc < 0 || cs.failed) {
        cmds_free(&cs);
        job_finish(job, "out_of_memory");
        return;
    }
    if (cs.n == 0) {            /* nothing to write: all repeats or duplicates */
        cmds_free(&cs);
        write_done(NULL, NULL, job);
        return;
    }
    struct rcmd write = {0};
    if (guarded_write(job, reply->element[0], &cs, &write) < 0) {
        rcmd_free(&write);
        cmds_free(&cs);
        job_finish(job, "out_of_memory");
        return;
    }
    cmds_free(&cs);
    job->sent = 1;
    job->op = redis_send(ing->st, &write, 1, REDIS_SEND_SURE, write_done, job_late, job);
    rcmd_free(&write);
}

static void flush_start(struct ingest *ing);
static void job_read(struct ingest_job *job);

/* A history changed under the job: forget what it applied, read again. */
static void job_again(struct ingest_job *job)
{
    pairs_clear(&job->pairs);
    job->nfresh = 0;
    memset(&job->res, 0, sizeof job->res);
    for (size_t r = 0; r < job->nreqs; r++)
        memset(&job->reqs[r].res, 0, sizeof job->reqs[r].res);
    job_read(job);
}

static void write_done(redisReply *reply, const char *error, void *arg)
{
    struct ingest_job *job = arg;
    struct ingest *ing = job->ing;
    job->op = NULL;
    if (!error && reply && reply->type != REDIS_REPLY_INTEGER) {
        log_msg(LOG_WARN, "ingest: write refused: %s",
                reply->type == REDIS_REPLY_ERROR ? reply->str : "not the script's answer");
        error = "redis_unavailable";
    }
    if (error) {
        job_finish(job, error);
        return;
    }
    if (reply && reply->integer == 0) {
        ing->stats.write_conflicts++;
        if (++job->conflicts < MAX_WRITE_CONFLICTS) {
            job_again(job);
            return;
        }
        log_msg(LOG_WARN, "ingest: %zu events not applied: their histories changed %d times "
                "while they were (another process writes them too)", job->b.n, job->conflicts);
        job_finish(job, "write_conflict");
        return;
    }
    size_t npairs = job->pairs.n;
    if (pair_log_take(&ing->pending, &job->pairs) < 0)
        log_msg(LOG_ERROR, "ingest: out of memory: %zu pair counts dropped", npairs);
    for (size_t i = 0; i < job->nfresh; i++)
        if (counts_add_record(&ing->counts, job->fresh[i]) < 0)
            log_msg(LOG_ERROR, "ingest: out of memory: a borrower count of %s dropped",
                    record_ids_get(ing->names, job->fresh[i]));
    ing->counts.total[TOTAL_LOANS] += (long long)job->res.new_loans;
    ing->counts.total[TOTAL_REPEATS] += (long long)job->res.repeats;
    ing->counts.total[TOTAL_DUPLICATES] += (long long)job->res.duplicates;
    ing->counts.total[TOTAL_STALE] += (long long)job->res.stale;
    ing->counts.total[TOTAL_PATRONS] += (long long)job->res.new_patrons;
    ing->stats.pairs_added += npairs;
    ing->stats.jobs++;
    ing->stats.requests += job->nreqs;
    ing->stats.events += job->res.taken;
    ing->stats.new_loans += job->res.new_loans;
    ing->stats.repeats += job->res.repeats;
    ing->stats.duplicates += job->res.duplicates;
    ing->stats.stale += job->res.stale;
    if (ing->pending.n >= (size_t)ing->cfg->flush_max_pairs)
        flush_start(ing);
    job_finish(job, NULL);
}

static void job_empty_done(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    write_done(NULL, NULL, arg);
}

/* Every history of the job's patrons in one MGET, then the seen ids of
 * those who sent any. */
static void job_read(struct ingest_job *job)
{
    struct ingest *ing = job->ing;
    const char *pfx = ing->cfg->redis_prefix;
    struct cmds cs = {0};
    struct rcmd *get = cmd_key(&cs, "MGET", pfx, "h:", job->groups[0].pseudonym);
    for (size_t g = 1; g < job->ngroups && get; g++)
        cs.failed |= rcmd_addjoin(get, pfx, "h:", job->groups[g].pseudonym);
    for (size_t g = 0; g < job->ngroups && !cs.failed; g++) {
        struct patron_group *pg = &job->groups[g];
        pg->seen_at = -1;
        struct rcmd *ids = NULL;
        for (size_t i = 0; i < pg->n && !cs.failed; i++) {
            const struct loan_event *e = job->order[pg->first + i];
            if (!e->id[0])
                continue;
            if (!ids) {
                ids = cmd_key(&cs, "ZMSCORE", pfx, "seen:", pg->pseudonym);
                pg->seen_at = (int)cs.n - 1;
            }
            cmd_arg(&cs, ids, e->id);
        }
    }
    if (cs.failed) {
        cmds_free(&cs);
        job_finish(job, "out_of_memory");
        return;
    }
    job->sent = cs.n;
    job->op = redis_send(ing->st, cs.c, cs.n, REDIS_SEND_ARRAY, read_done, NULL, job);
    cmds_free(&cs);
}

static void job_start(struct ingest_job *job)
{
    struct ingest *ing = job->ing;
    const char *pfx = ing->cfg->redis_prefix;
    struct cmds cs = {0};
    busy_mark(ing, job, +1);
    ing->stats.running_jobs++;
    job->prev = NULL;
    job->next = ing->running;
    if (ing->running)
        ing->running->prev = job;
    ing->running = job;
    if (job->kind == JOB_EVENTS && job->ngroups == 0) {
        /* no events (a CSV body of only its header): nothing to read or
         * write, answered from the loop */
        if (event_base_once(ing->base, -1, EV_TIMEOUT, job_empty_done, job, NULL) < 0)
            job_finish(job, "out_of_memory");
        return;
    }
    if (job->kind == JOB_EVENTS) {
        job_read(job);
        return;
    }
    cmd_key(&cs, "DEL", pfx, "h:", job->forget_pseudonym);
    cmd_key(&cs, "DEL", pfx, "seen:", job->forget_pseudonym);
    /* every onloand drops what it keeps for them (forget_feed.h) */
    cmd_arg(&cs, cmd_key(&cs, "PUBLISH", pfx, FORGET_CHANNEL, ""), job->forget_pseudonym);
    if (cs.failed) {
        cmds_free(&cs);
        job_finish(job, "out_of_memory");
        return;
    }
    job->sent = cs.n;
    job->op = redis_exec_sure(ing->st, cs.c, cs.n, forget_deleted, job_late, job);
    cmds_free(&cs);
}

/* ---- forget ------------------------------------------------------------------ */

static void forget_counted(redisReply *reply, const char *error, void *arg)
{
    struct ingest_job *job = arg;
    job->op = NULL;
    (void)reply;
    job_finish(job, error);
}

static void forget_deleted(redisReply *reply, const char *error, void *arg)
{
    struct ingest_job *job = arg;
    job->op = NULL;
    if (!error && (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3))
        error = "redis_unavailable";
    if (error || reply->element[0]->integer != 1) {
        job_finish(job, error);
        return;
    }
    struct rcmd c = {0};
    if (rcmd_addstr(&c, "HINCRBY") | rcmd_addf(&c, "%smeta", job->ing->cfg->redis_prefix) |
        rcmd_addstr(&c, "patrons") | rcmd_addstr(&c, "-1")) {
        rcmd_free(&c);
        job_finish(job, "out_of_memory");
        return;
    }
    job->op = redis_exec_sure(job->ing->st, &c, 1, forget_counted, job_late, job);
    rcmd_free(&c);
}

/* ---- public: jobs ------------------------------------------------------------ */

static struct ingest_job *job_new(struct ingest *ing, enum job_kind kind)
{
    struct ingest_job *job = calloc(1, sizeof *job);
    if (job) {
        job->ing = ing;
        job->kind = kind;
    }
    return job;
}

/* Adds a caller to the job; its events, if any, are appended (moved). */
static int job_add_request(struct ingest_job *job, struct loan_batch *batch, ingest_cb *cb,
                           ingest_done_cb *done_cb, void *arg)
{
    if (job->nreqs == job->capreqs) {
        size_t cap = job->capreqs ? job->capreqs * 2 : 4;
        struct job_request *r = realloc(job->reqs, cap * sizeof *r);
        if (!r)
            return -1;
        job->reqs = r;
        job->capreqs = cap;
    }
    size_t first = job->b.n, n = batch ? batch->n : 0;
    if (first == 0 && batch) {
        job->b = *batch;                    /* the first (often only) request: take its array */
    } else if (n) {
        if (first + n > job->b.cap) {
            size_t cap = job->b.cap ? job->b.cap : 64;
            while (cap < first + n)
                cap *= 2;
            struct loan_event *ev = realloc(job->b.ev, cap * sizeof *ev);
            if (!ev)
                return -1;
            job->b.ev = ev;
            job->b.cap = cap;
        }
        memcpy(&job->b.ev[first], batch->ev, n * sizeof *batch->ev);
        for (size_t i = 0; i < n; i++)
            job->b.ev[first + i].seq += first;    /* later requests come later at equal times */
        job->b.n += n;
        free(batch->ev);                    /* the strings moved to the job */
    }
    if (batch)
        memset(batch, 0, sizeof *batch);
    job->reqs[job->nreqs++] = (struct job_request){cb, done_cb, arg, first, n, {0}};
    return 0;
}

/* Orders the events by patron and time, groups them, and queues the job. */
static int job_seal(struct ingest *ing, struct ingest_job *job)
{
    size_t n = job->b.n;
    job->order = malloc((n ? n : 1) * sizeof *job->order);
    job->groups = malloc((n ? n : 1) * sizeof *job->groups);
    if (!job->order || !job->groups)
        return -1;
    for (size_t i = 0; i < n; i++)
        job->order[i] = &job->b.ev[i];
    if (loan_order_by_patron(job->order, n) < 0)
        return -1;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && strcmp(job->order[j]->patron, job->order[i]->patron) == 0)
            j++;
        job->groups[job->ngroups++] = (struct patron_group){job->order[i]->patron, i, j - i, -1};
        i = j;
    }
    job_enqueue(ing, job);
    return 0;
}

/* The end of a loop pass: the live job gathered so far goes. */
static void open_job_seal(evutil_socket_t fd, short what, void *arg)
{
    struct ingest *ing = arg;
    struct ingest_job *job = ing->open;
    (void)fd;
    (void)what;
    if (!job)
        return;
    ing->open = NULL;
    if (job_seal(ing, job) < 0) {
        log_msg(LOG_ERROR, "ingest: out of memory: %zu requests refused", job->nreqs);
        job_answer(job, "out_of_memory");
        job_free(job);
    }
}

int ingest_submit(struct ingest *ing, struct loan_batch *batch, ingest_cb *cb, void *arg)
{
    if (!ing->seal_event) {                     /* each request its own job */
        struct ingest_job *job = job_new(ing, JOB_EVENTS);
        if (!job)
            return -1;
        if (job_add_request(job, batch, cb, NULL, arg) < 0 || job_seal(ing, job) < 0) {
            if (job->nreqs) {                   /* the events are the job's now: give them back */
                *batch = job->b;
                memset(&job->b, 0, sizeof job->b);
            }
            job_free(job);
            return -1;
        }
        return 0;
    }
    if (ing->open && ing->open->b.n + batch->n > (size_t)ing->cfg->gather_max_events)
        open_job_seal(-1, 0, ing);
    if (!ing->open) {
        if (!(ing->open = job_new(ing, JOB_EVENTS)))
            return -1;
        event_active(ing->seal_event, EV_TIMEOUT, 1);
    }
    return job_add_request(ing->open, batch, cb, NULL, arg);
}

int ingest_forget(struct ingest *ing, const char *pseudonym, ingest_done_cb *cb, void *arg)
{
    struct ingest_job *job = job_new(ing, JOB_FORGET);
    if (!job || !(job->groups = malloc(sizeof *job->groups)) ||
        job_add_request(job, NULL, NULL, cb, arg) < 0) {
        if (job)
            job_free(job);
        return -1;
    }
    snprintf(job->forget_pseudonym, sizeof job->forget_pseudonym, "%s", pseudonym);
    job->groups[0] = (struct patron_group){job->forget_pseudonym, 0, 0, -1};
    job->ngroups = 1;
    job_enqueue(ing, job);
    return 0;
}

/* ---- flushing pair counts --------------------------------------------------- */

static void waiters_answer(struct waiter *w, const char *error)
{
    while (w) {
        struct waiter *next = w->next;
        w->cb(error, w->arg);
        free(w);
        w = next;
    }
}

/* A flush is written in chunks of about this many bytes, FLUSH_CHUNKS at
 * a time: hiredis moves what is left of its output buffer after every
 * write to the socket, so the time goes with the square of what waits in
 * it (1 MB chunks cost 0.3 s more than these on the ratings file). */
#define FLUSH_CHUNK_BYTES (1 << 18)
#define FLUSH_CHUNKS (sizeof ((struct ingest *)0)->chunks / sizeof ((struct ingest *)0)->chunks[0])

static void flush_send_chunks(struct ingest *ing);

static void flush_finish(struct ingest *ing, const char *error)
{
    if (ing->counts_error)
        counts_merge(&ing->counts, &ing->counts_flushing);
    ing->counts_error = NULL;
    counts_clear(&ing->counts_flushing);
    pair_groups_free(&ing->groups[0]);
    pair_groups_free(&ing->groups[1]);
    ing->next_record = ing->units_unwritten = 0;
    ing->nfallback = ing->next_fallback = 0;
    ing->flush_error = NULL;
    ing->flush_running = 0;
    struct waiter *w = ing->flush_waiters;
    ing->flush_waiters = NULL;
    waiters_answer(w, error);
    if (ing->waiters || (!error && ing->pending.n >= (size_t)ing->cfg->flush_max_pairs))
        flush_start(ing);
}

static void flush_keep_unsent(struct ingest *ing);

/* A flush is over when its chunks and its counts are answered. */
static void flush_check_done(struct ingest *ing)
{
    if (ing->chunks_in_flight || ing->flush_op)
        return;
    const char *why = ing->flush_error;
    if (why) {
        flush_keep_unsent(ing);
        log_msg(LOG_WARN, "ingest: %zu pair counts not written (%s): kept for the next flush",
                ing->units_unwritten / 2, why);
    }
    if (ing->counts_error)
        log_msg(LOG_WARN, "ingest: record counts not written (%s): kept for the next flush",
                ing->counts_error);
    if (!why)
        why = ing->counts_error;
    if (why)
        ing->stats.flush_failures++;
    else
        ing->stats.flushes++;
    flush_finish(ing, why);
}

/* A flush write past redis.timeout_ms: counted and waited for. */
static void flush_late(void *arg)
{
    struct ingest *ing = arg;
    ing->stats.flush_waits++;
    log_msg(LOG_WARN, "ingest: a flush write is not confirmed after %d ms; still waiting",
            ing->cfg->redis_timeout_ms);
}

static void chunk_late(void *arg)
{
    flush_late(((struct flush_chunk *)arg)->ing);
}

static void counts_written(redisReply *reply, const char *error, void *arg)
{
    struct ingest *ing = arg;
    ing->flush_op = NULL;
    if (!error && reply->type != REDIS_REPLY_ARRAY)
        error = "redis_unavailable";
    ing->counts_error = error;
    flush_check_done(ing);
}

/* Record counts and totals, one MULTI, sent first: Redis applies them
 * while the pair counts are grouped. */
static void flush_send_counts(struct ingest *ing)
{
    const struct counts *c = &ing->counts_flushing;
    const char *pfx = ing->cfg->redis_prefix;
    struct cmds cs = {0};
    char num[32];
    for (size_t i = 0; i < c->ntouched; i++) {
        uint32_t r = c->touched[i];
        struct rcmd *cmd = cmd_key(&cs, "ZINCRBY", pfx, "pop", "");
        snprintf(num, sizeof num, "%u", c->pop[r]);
        cmd_arg(&cs, cmd, num);
        cmd_arg(&cs, cmd, record_ids_get(ing->names, r));
    }
    for (int i = 0; i < NTOTALS; i++)
        meta_incr(&cs, pfx, total_field[i], c->total[i]);
    if (cs.failed || cs.n == 0) {       /* out of memory, or nothing counted since the last flush */
        ing->counts_error = cs.failed ? "out_of_memory" : NULL;
        cmds_free(&cs);
        return;
    }
    ing->flush_op = redis_send(ing->bulk, cs.c, cs.n, REDIS_SEND_SURE | REDIS_SEND_ARRAY, counts_written,
                               flush_late, ing);
    cmds_free(&cs);
}

/* Where record r's entries are in g: [*from, *to), empty when g has no
 * such record (the retried counts' groups may have none at all). */
static void record_span(const struct pair_groups *g, size_t r, uint32_t *from, uint32_t *to)
{
    *from = *to = 0;
    if (r < g->nrecords) {
        *from = g->start[r];
        *to = g->start[r + 1];
    }
}

/* The directed counts of record r in this flush. */
static size_t record_units(const struct ingest *ing, size_t r)
{
    size_t n = 0;
    uint32_t from, to;
    for (int k = 0; k < 2; k++) {
        record_span(&ing->groups[k], r, &from, &to);
        for (uint32_t i = from; i < to; i++)
            n += ing->groups[k].count[i];
    }
    return n;
}

/* The chunk's k-th record. */
static size_t chunk_record(const struct ingest *ing, int fallback, size_t k)
{
    return fallback ? ing->fallback[k] : k;
}

/* Keeps the counts of the chunk's records [first, end) (of the records,
 * or of fallback[]) for the next flush, as directed keys (from << 32 | to,
 * once per count). */
static void flush_keep(struct ingest *ing, int fallback, size_t first, size_t end)
{
    size_t n = 0;
    for (size_t k = first; k < end; k++)
        n += record_units(ing, chunk_record(ing, fallback, k));
    if (!n)
        return;
    uint64_t *retry = realloc(ing->retry, (ing->nretry + n) * sizeof *retry);
    if (!retry) {
        log_msg(LOG_ERROR, "ingest: out of memory: %zu pair counts dropped", n / 2);
        return;
    }
    ing->retry = retry;
    for (size_t k = first; k < end; k++) {
        size_t r = chunk_record(ing, fallback, k);
        for (int j = 0; j < 2; j++) {
            const struct pair_groups *g = &ing->groups[j];
            uint32_t from, to;
            record_span(g, r, &from, &to);
            for (uint32_t i = from; i < to; i++)
                for (uint32_t c = 0; c < g->count[i]; c++)
                    retry[ing->nretry++] = (uint64_t)r << 32 | g->other[i];
        }
    }
}

/* Everything of this flush not sent yet goes back to the next one. */
static void flush_keep_unsent(struct ingest *ing)
{
    flush_keep(ing, 0, ing->next_record, ing->groups[0].nrecords);
    flush_keep(ing, 1, ing->next_fallback, ing->nfallback);
    ing->next_record = ing->groups[0].nrecords;
    ing->next_fallback = ing->nfallback;
}

static int mark_listed(struct ingest *ing, size_t r)
{
    if (r >= ing->caplisted) {
        size_t cap = ing->caplisted ? ing->caplisted : 1024;
        while (cap <= r)
            cap *= 2;
        uint8_t *l = realloc(ing->listed, cap);
        if (!l)
            return -1;
        memset(l + ing->caplisted, 0, cap - ing->caplisted);
        ing->listed = l;
        ing->caplisted = cap;
    }
    ing->listed[r] = 1;
    return 0;
}


static void flush_chunk_done(redisReply *reply, const char *error, void *arg)
{
    struct flush_chunk *ch = arg;
    struct ingest *ing = ch->ing;
    ch->op = NULL;
    ing->chunks_in_flight--;
    if (!error && reply->type != REDIS_REPLY_ARRAY)
        error = "redis_unavailable";
    if (error) {
        /* It waits for the next flush. It may have been applied after
         * all (a reply lost with the connection): then it is counted
         * again, never lost. */
        flush_keep(ing, ch->fallback, ch->first, ch->end);
        if (!ing->flush_error)
            ing->flush_error = error;
    } else {
        size_t units = ch->units;
        for (size_t t = 0; t < ch->ntries; t++) {
            const struct fresh_try *ft = &ch->tries[t];
            const redisReply *r = ft->at < reply->elements ? reply->element[ft->at] : NULL;
            if (r && r->type == REDIS_REPLY_STATUS)
                continue;
            /* Someone else wrote co:<record> first: its counts are
             * appended in full after the records (kept if no room). */
            units -= ft->units;
            if (ing->nfallback == ing->capfallback) {
                size_t cap = ing->capfallback ? 2 * ing->capfallback : 64;
                uint32_t *f = realloc(ing->fallback, cap * sizeof *f);
                if (!f) {
                    flush_keep(ing, 0, ft->record, (size_t)ft->record + 1);
                    continue;
                }
                ing->fallback = f;
                ing->capfallback = cap;
            }
            ing->fallback[ing->nfallback++] = ft->record;
        }
        for (size_t k = ch->first; k < ch->end; k++)
            if (mark_listed(ing, chunk_record(ing, ch->fallback, k)) < 0)
                break;      /* only a missed shortcut */
        ing->stats.pairs_written += units;          /* directed: halved in get_stats */
        ing->units_unwritten -= units;
    }
    free(ch->tries);
    ch->tries = NULL;
    ch->ntries = 0;
    flush_send_chunks(ing);
    flush_check_done(ing);
}

static size_t digits(uint32_t n)
{
    size_t d = 1;
    while (n >= 10) {
        n /= 10;
        d++;
    }
    return d;
}

/* Writes "<record> <count>\n" at p; returns the end. */
static char *put_line(char *p, const char *record, size_t len, uint32_t count)
{
    memcpy(p, record, len);
    p += len;
    *p++ = ' ';
    size_t d = digits(count);
    for (size_t i = d; i > 0; i--, count /= 10)
        p[i - 1] = (char)('0' + count % 10);
    p += d;
    *p++ = '\n';
    return p;
}

/* A chunk being built. */
struct chunk_build {
    struct cmds cs;
    size_t bytes, units;
    size_t dirty;                   /* the SADD dirty command, SIZE_MAX: none yet */
    struct fresh_try *tries;
    size_t ntries, captries;
};

/* Record r's list has not been seen in Redis: it is written already
 * compacted, with SET NX (what compact.c would make of the whole list,
 * generation 1), so that it needs no compaction: a long list is cut to
 * what compaction would keep, saving the bytes, and a short one is not
 * read back and written again for nothing (a first load of the shared
 * file left half the lists to compact, 0.17 s after 0.33 s of ingest).
 * 1 if done, 0 if r does not qualify, -1 when out of memory. */
static int chunk_add_fresh(struct ingest *ing, struct chunk_build *b, uint32_t r)
{
    const struct pair_groups *g = &ing->groups[0];
    size_t keep = (size_t)ing->cfg->neighbours_max + (size_t)ing->cfg->neighbours_reserve;
    size_t n = g->start[r + 1] - g->start[r];
    int listed = r < ing->caplisted && ing->listed[r];
    uint32_t rfrom, rto;
    record_span(&ing->groups[1], r, &rfrom, &rto);
    int retried = rto > rfrom;
    if (listed || retried || n == 0)
        return 0;
    size_t room = n < keep ? n : keep;
    if (room > ing->capscratch) {
        uint32_t *o = realloc(ing->scratch, room * sizeof *o);
        if (!o)
            return -1;
        ing->scratch = o;
        ing->capscratch = room;
    }
    const uint32_t *other = g->other + g->start[r], *count = g->count + g->start[r];
    size_t units = 0;
    for (size_t i = 0; i < n; i++)
        units += count[i];
    long kept = cooc_top_counts(count, n, keep, ing->scratch);
    if (kept < 0)
        return -1;
    /* cooc_encode's text (generation 1), written like the APPENDs' */
    static const char header[] = "#1\n";
    size_t len = sizeof header - 1;
    for (long i = 0; i < kept; i++) {
        uint32_t j = ing->scratch[i];
        len += record_ids_len(ing->names, other[j]) + digits(count[j]) + 2;
    }
    char *text = malloc(len), *p = text;
    if (!text)
        return -1;
    memcpy(p, header, sizeof header - 1);
    p += sizeof header - 1;
    for (long i = 0; i < kept; i++) {
        uint32_t j = ing->scratch[i];
        p = put_line(p, record_ids_get(ing->names, other[j]), record_ids_len(ing->names, other[j]), count[j]);
    }
    if (b->ntries == b->captries) {
        size_t cap = b->captries ? 2 * b->captries : 16;
        struct fresh_try *t = realloc(b->tries, cap * sizeof *t);
        if (!t) {
            free(text);
            return -1;
        }
        b->tries = t;
        b->captries = cap;
    }
    struct rcmd *c = cmd_key(&b->cs, "SET", ing->cfg->redis_prefix, "co:", record_ids_get(ing->names, r));
    if (!c) {
        free(text);
        return -1;
    }
    b->cs.failed |= rcmd_take(c, text, len);
    cmd_arg(&b->cs, c, "NX");
    /* EXEC's reply has one element per command, in order: this one's is
     * OK, or nil when the key exists. */
    b->tries[b->ntries++] = (struct fresh_try){b->cs.n - 1, r, units};
    b->bytes += len;
    b->units += units;
    return b->cs.failed ? -1 : 1;
}

/* One APPEND of record r's counts (the line text sized exactly first),
 * and r added to SADD dirty. */
static int chunk_add_append(struct ingest *ing, struct chunk_build *b, size_t r)
{
    const char *pfx = ing->cfg->redis_prefix;
    const struct pair_groups *g = ing->groups;
    size_t len = 0;
    uint32_t from[2], to[2];
    for (int k = 0; k < 2; k++) {
        record_span(&g[k], r, &from[k], &to[k]);
        for (uint32_t i = from[k]; i < to[k]; i++)
            len += record_ids_len(ing->names, g[k].other[i]) + digits(g[k].count[i]) + 2;
    }
    if (len == 0)
        return 0;
    char *text = malloc(len), *p = text;
    if (!text)
        return -1;
    for (int k = 0; k < 2; k++) {
        for (uint32_t i = from[k]; i < to[k]; i++) {
            uint32_t other = g[k].other[i];
            p = put_line(p, record_ids_get(ing->names, other), record_ids_len(ing->names, other), g[k].count[i]);
            b->units += g[k].count[i];
        }
    }
    const char *name = record_ids_get(ing->names, (uint32_t)r);
    struct rcmd *c = cmd_key(&b->cs, "APPEND", pfx, "co:", name);
    if (!c) {
        free(text);
        return -1;
    }
    b->cs.failed |= rcmd_take(c, text, len);
    b->bytes += len;
    if (b->dirty == SIZE_MAX || b->cs.c[b->dirty].argc >= 1002) {
        if (!cmd_key(&b->cs, "SADD", pfx, "dirty", ""))
            return -1;
        b->dirty = b->cs.n - 1;
    }
    cmd_arg(&b->cs, &b->cs.c[b->dirty], name);
    return b->cs.failed ? -1 : 0;
}

/* Builds a chunk of about FLUSH_CHUNK_BYTES from the records still to
 * send (then from fallback[]); ch says which ones it took. */
static int flush_build_chunk(struct ingest *ing, struct chunk_build *b, struct flush_chunk *ch)
{
    size_t n = ing->groups[0].nrecords;
    ch->fallback = ing->next_record == n;
    ch->first = ch->fallback ? ing->next_fallback : ing->next_record;
    size_t k = ch->first, end = ch->fallback ? ing->nfallback : n;
    while (!b->cs.failed && k < end && b->bytes < FLUSH_CHUNK_BYTES) {
        size_t r = chunk_record(ing, ch->fallback, k);
        int rc = ch->fallback ? 0 : chunk_add_fresh(ing, b, (uint32_t)r);
        if (rc == 0)
            rc = chunk_add_append(ing, b, r);
        if (rc < 0)
            return -1;
        k++;
    }
    ch->end = k;
    if (ch->fallback)
        ing->next_fallback = k;
    else
        ing->next_record = k;
    return b->cs.failed ? -1 : 0;
}

/* Keeps up to FLUSH_CHUNKS chunks on the way: Redis applies one while the
 * next is built and sent. */
static void flush_send_chunks(struct ingest *ing)
{
    while (!ing->flush_error && ing->chunks_in_flight < FLUSH_CHUNKS &&
           (ing->next_record < ing->groups[0].nrecords || ing->next_fallback < ing->nfallback)) {
        struct flush_chunk *ch = NULL;
        for (size_t k = 0; k < FLUSH_CHUNKS && !ch; k++)
            if (!ing->chunks[k].op)
                ch = &ing->chunks[k];
        struct chunk_build b = {.dirty = SIZE_MAX};
        struct flush_chunk built = {.ing = ing};
        if (!ch || flush_build_chunk(ing, &b, &built) < 0) {
            /* what this chunk took goes back with the unsent rest */
            if (ch) {
                if (built.fallback)
                    ing->next_fallback = built.first;
                else
                    ing->next_record = built.first;
            }
            cmds_free(&b.cs);
            free(b.tries);
            ing->flush_error = "out_of_memory";
            break;
        }
        if (b.cs.n == 0) {      /* the records it took have no counts */
            cmds_free(&b.cs);
            free(b.tries);
            continue;
        }
        *ch = built;
        ch->units = b.units;
        ch->tries = b.tries;
        ch->ntries = b.ntries;
        ing->chunks_in_flight++;
        ch->op = redis_send(ing->bulk, b.cs.c, b.cs.n, REDIS_SEND_SURE | REDIS_SEND_ARRAY, flush_chunk_done,
                            chunk_late, ch);
        cmds_free(&b.cs);
    }
}

static void flush_start(struct ingest *ing)
{
    if (ing->flush_running)
        return;
    struct waiter *w = ing->waiters;
    ing->waiters = NULL;
    if (ing->pending.n == 0 && ing->nretry == 0 && counts_empty(&ing->counts)) {
        waiters_answer(w, NULL);
        return;
    }
    ing->flush_running = 1;
    ing->flush_waiters = w;
    ing->flush_error = NULL;
    struct counts c = ing->counts_flushing;     /* empty */
    ing->counts_flushing = ing->counts;
    ing->counts = c;
    flush_send_counts(ing);
    /* Every record's neighbours and counts, summed, both directions. */
    size_t nrecords = record_ids_count(ing->names), pending = ing->pending.n;
    if (pairs_group_log_take(&ing->pending, nrecords, &ing->groups[0]) < 0) {
        log_msg(LOG_ERROR, "ingest: out of memory: %zu pair counts dropped", pending);
        ing->flush_error = "out_of_memory";
        flush_check_done(ing);
        return;
    }
    ing->units_unwritten = 2 * pending + ing->nretry;
    if (ing->nretry) {
        if (pairs_group_directed(ing->retry, ing->nretry, nrecords, &ing->groups[1]) == 0) {
            free(ing->retry);
            ing->retry = NULL;
            ing->nretry = 0;
        } else {
            ing->units_unwritten -= ing->nretry;    /* they stay in retry */
        }
    }
    ing->next_record = 0;
    flush_send_chunks(ing);
    flush_check_done(ing);
}

static void flush_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ingest *ing = arg;
    if (ing->pending.n || ing->nretry || !counts_empty(&ing->counts))
        flush_start(ing);
}

void ingest_flush(struct ingest *ing, ingest_done_cb *cb, void *arg)
{
    struct waiter *w = malloc(sizeof *w);
    if (!w) {
        cb("out_of_memory", arg);
        return;
    }
    *w = (struct waiter){cb, arg, ing->waiters};
    ing->waiters = w;
    flush_start(ing);
}

/* ---- lifetime ---------------------------------------------------------------- */

struct ingest *ingest_new(struct event_base *base, struct redis_client *st, struct redis_client *bulk,
                          const struct config *cfg, int periodic)
{
    struct ingest *ing = calloc(1, sizeof *ing);
    if (!ing)
        return NULL;
    ing->base = base;
    ing->st = st;
    ing->bulk = bulk;
    ing->cfg = cfg;
    ing->rules = (struct history_rules){
        .max_entries = (size_t)cfg->history_max,
        .ttl_s = (long long)cfg->history_ttl_days * 86400,
        .window_s = (long long)cfg->window_days * 86400,
        .pairs_per_loan = (size_t)cfg->pairs_per_loan,
    };
    ing->names = record_ids_new();
    ing->busy = dict_new();
    struct timeval tv = {cfg->flush_ms / 1000, (cfg->flush_ms % 1000) * 1000};
    if (periodic && (!(ing->flush_timer = event_new(base, -1, EV_PERSIST, flush_tick, ing)) ||
                     event_add(ing->flush_timer, &tv) < 0 ||
                     !(ing->seal_event = event_new(base, -1, 0, open_job_seal, ing)))) {
        ingest_free(ing);
        return NULL;
    }
    if (!ing->names || !ing->busy) {
        ingest_free(ing);
        return NULL;
    }
    return ing;
}

void ingest_free(struct ingest *ing)
{
    if (!ing)
        return;
    if (ing->pending.n || ing->nretry || ing->units_unwritten)
        log_msg(LOG_WARN, "ingest: %zu pair counts dropped at exit",
                ing->pending.n + (ing->units_unwritten + ing->nretry) / 2);
    if (ing->open)
        job_free(ing->open);
    if (ing->seal_event)
        event_free(ing->seal_event);
    while (ing->waiting_head) {
        struct ingest_job *job = ing->waiting_head;
        ing->waiting_head = job->next;
        job_free(job);
    }
    while (ing->running) {
        struct ingest_job *job = ing->running;
        ing->running = job->next;
        redis_op_cancel(job->op);
        job_free(job);
    }
    if (ing->flush_running)
        redis_op_cancel(ing->flush_op);
    for (size_t k = 0; k < FLUSH_CHUNKS; k++)
        if (ing->chunks[k].op)
            redis_op_cancel(ing->chunks[k].op);
    waiters_answer(ing->waiters, "shutting_down");
    waiters_answer(ing->flush_waiters, "shutting_down");
    if (ing->flush_timer)
        event_free(ing->flush_timer);
    pair_log_free(&ing->pending);
    pair_groups_free(&ing->groups[0]);
    pair_groups_free(&ing->groups[1]);
    free(ing->retry);
    free(ing->fallback);
    free(ing->listed);
    free(ing->scratch);
    for (size_t k = 0; k < FLUSH_CHUNKS; k++)
        free(ing->chunks[k].tries);
    counts_free(&ing->counts);
    counts_free(&ing->counts_flushing);
    record_ids_free(ing->names);
    dict_free(ing->busy, NULL);
    free(ing);
}

int ingest_idle(const struct ingest *ing)
{
    return !ing->open && !ing->waiting_head && !ing->running;
}

void ingest_get_stats(const struct ingest *ing, struct ingest_stats *st)
{
    *st = ing->stats;
    st->pairs_written /= 2;
    st->pending_pairs = ing->pending.n + (ing->units_unwritten + ing->nretry) / 2;
    st->pending_counts = !counts_empty(&ing->counts) || !counts_empty(&ing->counts_flushing);
}
