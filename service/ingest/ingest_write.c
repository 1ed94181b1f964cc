/* ingest_write.c: a job's read, apply and guarded write; see ingest.h
 * (steps 2 to 4) and ingest_int.h. A forget: ingest_forget.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "ingest/ingest_int.h"

static void write_done(redisReply *reply, enum failure error, void *arg);
static void read_done(redisReply *reply, enum failure error, void *arg);
static void job_read(struct ingest_job *job);

/* A job's write: its commands, run only if every history it read is
 * still as read. Another process (onloan load beside onloand, or a second
 * onloand) may have changed one since; then nothing is written, 0 comes
 * back and the job reads and applies again, so that no loan is counted
 * twice or lost from a history. ARGV: g; g triples of a history key, "1"
 * if it was there ("0" if not) and what it held; then each command as its
 * argument count and arguments.
 *
 * One command is the script's own, QUEUE_COMMAND (see queue_hold): a
 * hold's change to its record's queue count, made only the first time its
 * id enters the patron's seen ids, so that a replayed hold, fill or
 * cancellation counts once; the count never goes below 0 (a fill whose
 * hold came before onloan did) and its key goes at 0. */
#define QUEUE_COMMAND "onloan-queue"
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
    "  if ARGV[at + 1] == '" QUEUE_COMMAND "' then\n"
    "    if redis.call('ZADD', ARGV[at + 2], 'NX', ARGV[at + 3], ARGV[at + 4]) == 1 then\n"
    "      local q = tonumber(redis.call('GET', ARGV[at + 5]) or '0') + tonumber(ARGV[at + 6])\n"
    "      if q > 0 then redis.call('SET', ARGV[at + 5], q)\n"
    "      else redis.call('DEL', ARGV[at + 5]) end\n"
    "    end\n"
    "  else\n"
    "    redis.call(unpack(ARGV, at + 1, at + argc))\n"
    "  end\n"
    "  at = at + argc + 1\n"
    "end\n"
    "return 1\n";

/* A job whose histories changed under it this many times in a row fails
 * ("write_conflict": nothing applied, send again). */
#define MAX_WRITE_CONFLICTS 8

/* Event ids per ZADD (Lua's unpack takes some 8000 values at most). */
#define IDS_PER_ZADD 1000

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

static int add_pairs(void *arg, const uint32_t *others, size_t n)
{
    struct ingest_job *job = arg;
    /* one run: the loan's record, then the titles it pairs with (pairs.h) */
    return pairs_add_run(&job->pairs, job->cur_record, others, n);
}

static int add_fresh(struct ingest_job *job, uint32_t record, uint32_t branch)
{
    if (job->nfresh == job->capfresh) {
        size_t cap = job->capfresh ? job->capfresh * 2 : 64;
        uint32_t *f = realloc(job->fresh, cap * sizeof *f);
        if (!f)
            return -1;
        job->fresh = f;
        uint32_t *b = realloc(job->fresh_branch, cap * sizeof *b);
        if (!b)
            return -1;
        job->fresh_branch = b;
        job->capfresh = cap;
    }
    job->fresh[job->nfresh] = record;
    job->fresh_branch[job->nfresh++] = branch;
    return 0;
}

static int id_seen_before(struct loan_event **ev, size_t upto, const char *id)
{
    for (size_t i = 0; i < upto; i++)
        if (ev[i]->type == LOAN_EVENT_LOAN && strcmp(ev[i]->id, id) == 0)
            return 1;
    return 0;
}

/* A hold event's change to its record's queue count (q:<record>, +1 for
 * a hold, -1 when filled or cancelled), as a QUEUE_COMMAND: counted once
 * per event, told by its type and (hashed) id, or without an id by its
 * type, time and record. Either is hashed again with the patron key, apart from
 * patron pseudonyms and loans' ids (a loan with a hold's id is no
 * duplicate), and the seen ids never name a title. */
static int queue_hold(const struct ingest *ing, const struct patron_group *g,
                      const struct loan_event *e, struct rcmd_list *cs)
{
    const struct config *cfg = ing->cfg;
    char id[PSEUDONYM_HEX_LEN + 1], when[32];
    struct strbuf tagged = {0};
    snprintf(when, sizeof when, "%lld", e->when);
    /* a library system may give a hold, its fill and its cancellation one
     * id (the reservation's): the type tells them apart */
    int bad = e->id[0] ? strbuf_printf(&tagged, "hold-id:%s:%s", loan_event_type_name(e->type),
                                       e->id)
                       : strbuf_printf(&tagged, "hold:%s:%lld:%s", loan_event_type_name(e->type),
                                       e->when, e->record);
    if (bad < 0) {
        strbuf_free(&tagged);
        return -1;
    }
    pseudonymise(cfg->patron_key, tagged.buf, tagged.len, id);
    strbuf_free(&tagged);
    struct rcmd *c = rcmd_list_next(cs);
    if (!c)
        return -1;
    cs->failed |= rcmd_addstr(c, QUEUE_COMMAND) |
                  rcmd_addjoin(c, cfg->redis_prefix, "seen:", g->pseudonym) |
                  rcmd_addstr(c, when) | rcmd_addstr(c, id) |
                  rcmd_addjoin(c, cfg->redis_prefix, "q:", e->record) |
                  rcmd_addstr(c, e->type == LOAN_EVENT_HOLD ? "1" : "-1");
    return cs->failed ? -1 : 0;
}

/* Applies one patron's loans to their history; queues the writes. Holds
 * change nothing of the model: each counts in its record's queue (once,
 * queue_hold) and is taken for attribution, where the touchpoint's marks
 * keep a replayed hold from counting twice (touchpoint_log_outcome). A loan is
 * applied, and may be attributed, when it is new or a repeat (a later
 * loan of a title the patron had: a real one); a duplicate or a stale
 * loan is neither (it may be a replay: counted the first time). */
static int apply_group(struct ingest_job *job, struct patron_group *g, const redisReply *hist,
                       const redisReply *seen, struct history *h, struct rcmd_list *cs)
{
    struct ingest *ing = job->ing;
    const struct config *cfg = ing->cfg;
    const char *pfx = cfg->redis_prefix;
    struct loan_event **ev = &job->order[g->first];
    int existed = hist && hist->type == REDIS_REPLY_STRING && hist->len > 0;
    history_clear(h);
    if (existed && history_parse(h, hist->str, hist->len, ing->names) < 0)
        log_msg(LOG_WARN, "history of %s is malformed: started afresh", g->pseudonym);
    size_t changed = 0, seen_at = 0, nids = 0, nholds = 0;
    size_t ids_at = 0;          /* cs->c[ids_at], the ZADD being filled: an index,
                                 * as a hold's command between may move the list */
    struct ingest_result *first_new = NULL;     /* the request that brought the patron in */
    for (size_t i = 0; i < g->n; i++) {
        struct loan_event *e = ev[i];
        struct ingest_result *res = &request_of(job, e)->res;
        if (e->type != LOAN_EVENT_LOAN) {
            res->holds++;
            if (job->nattr)
                ingest_attr_applied(job, g->first + i);
            if (queue_hold(ing, g, e, cs) < 0)
                return -1;
            nholds++;
            continue;
        }
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
        int at_branch = e->branch && cfg->branch_counts;
        uint32_t branch = at_branch ? record_ids_intern(ing->names, e->branch, strlen(e->branch))
                                    : RECORD_IDS_NONE;
        if (rec == RECORD_IDS_NONE || (at_branch && branch == RECORD_IDS_NONE))
            return -1;
        job->cur_record = rec;
        int outcome = history_add(h, rec, branch, e->when, &ing->rules, add_pairs, job);
        if (outcome < 0)
            return -1;
        if ((outcome == LOAN_NEW || outcome == LOAN_REPEAT) && job->nattr)
            ingest_attr_applied(job, g->first + i);
        if (outcome == LOAN_NEW) {
            res->new_loans++;
            if (!changed++)
                first_new = res;
            if (add_fresh(job, rec, branch) < 0)
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
                if (!rcmd_list_key(cs, "ZADD", pfx, "seen:", g->pseudonym))
                    return -1;
                ids_at = cs->n - 1;
            }
            char when[32];
            snprintf(when, sizeof when, "%lld", e->when);
            rcmd_list_arg(cs, &cs->c[ids_at], when);
            rcmd_list_arg(cs, &cs->c[ids_at], e->id);
        }
    }
    char ttl[32];
    snprintf(ttl, sizeof ttl, "%lld", (long long)cfg->history_ttl_days * 86400);
    if (nids || nholds) {
        /* Keep the newest 4 * history_max ids (of loans and holds):
         * enough to recognise a replay of anything the history still
         * remembers. */
        char keep[32];
        snprintf(keep, sizeof keep, "%d", -(4 * cfg->history_max) - 1);
        struct rcmd *c = rcmd_list_key(cs, "ZREMRANGEBYRANK", pfx, "seen:", g->pseudonym);
        rcmd_list_arg(cs, c, "0");
        rcmd_list_arg(cs, c, keep);
        c = rcmd_list_key(cs, "EXPIRE", pfx, "seen:", g->pseudonym);
        rcmd_list_arg(cs, c, ttl);
    }
    if (changed) {
        struct strbuf text = {0};
        struct rcmd *c = rcmd_list_key(cs, "SET", pfx, "h:", g->pseudonym);
        if (!c || history_encode(h, ing->names, &text) < 0) {
            strbuf_free(&text);
            return -1;
        }
        cs->failed |= rcmd_add(c, text.buf ? text.buf : "", text.len);
        rcmd_list_arg(cs, c, "EX");
        rcmd_list_arg(cs, c, ttl);
        strbuf_free(&text);
        if (!existed)
            first_new->new_patrons++;
    }
    return cs->failed ? -1 : 0;
}

/* The job's writes as one guarded_write_script call (their arguments
 * copied into it). hists: the histories as read, one per group. */
static int guarded_write(const struct ingest_job *job, const redisReply *hists, struct rcmd_list *cs,
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

static void read_done(redisReply *reply, enum failure error, void *arg)
{
    struct ingest_job *job = arg;
    struct ingest *ing = job->ing;
    job->op = NULL;
    if (error) {
        ingest_job_finish(job, error);
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != job->sent ||
        reply->element[0]->type != REDIS_REPLY_ARRAY || reply->element[0]->elements != job->ngroups) {
        log_msg(LOG_WARN, "ingest: unexpected reply to the history read: %s",
                reply->type == REDIS_REPLY_ERROR ? reply->str : "not the array sent for");
        ingest_job_finish(job, FAILURE_REDIS_UNAVAILABLE);
        return;
    }
    if (ingest_attr_take(job, reply) < 0) {
        ingest_job_finish(job, FAILURE_OUT_OF_MEMORY);
        return;
    }
    struct rcmd_list cs = {0};
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
        job->res.holds += res->holds;
        job->res.new_patrons += res->new_patrons;
    }
    /* Record counts and totals join the pair counts: written with them. */
    if (rc < 0 || cs.failed) {
        rcmd_list_free(&cs);
        ingest_job_finish(job, FAILURE_OUT_OF_MEMORY);
        return;
    }
    if (cs.n == 0) {            /* nothing to write: all repeats or duplicates */
        rcmd_list_free(&cs);
        write_done(NULL, FAILURE_NONE, job);
        return;
    }
    struct rcmd write = {0};
    if (guarded_write(job, reply->element[0], &cs, &write) < 0) {
        rcmd_free(&write);
        rcmd_list_free(&cs);
        ingest_job_finish(job, FAILURE_OUT_OF_MEMORY);
        return;
    }
    rcmd_list_free(&cs);
    job->sent = 1;
    job->op = redis_send(ing->st, &write, 1, REDIS_SEND_SURE, write_done, ingest_job_late, job);
    rcmd_free(&write);
    if (!job->op)
        ingest_job_finish(job, FAILURE_OUT_OF_MEMORY);
}

/* A history changed under the job: forget what it applied, read again. */
static void job_again(struct ingest_job *job)
{
    pairs_clear(&job->pairs);
    job->nfresh = 0;
    ingest_attr_reset(job);
    memset(&job->res, 0, sizeof job->res);
    for (size_t r = 0; r < job->nreqs; r++)
        memset(&job->reqs[r].res, 0, sizeof job->reqs[r].res);
    job_read(job);
}

static void write_done(redisReply *reply, enum failure error, void *arg)
{
    struct ingest_job *job = arg;
    struct ingest *ing = job->ing;
    job->op = NULL;
    if (!error && reply && reply->type != REDIS_REPLY_INTEGER) {
        log_msg(LOG_WARN, "ingest: write refused: %s",
                reply->type == REDIS_REPLY_ERROR ? reply->str : "not the script's answer");
        error = FAILURE_REDIS_UNAVAILABLE;
    }
    if (error) {
        ingest_job_finish(job, error);
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
        ingest_job_finish(job, FAILURE_WRITE_CONFLICT);
        return;
    }
    ingest_attr_send(job);
    ingest_flush_take(ing, job);
    ing->stats.jobs++;
    ing->stats.requests += job->nreqs;
    ing->stats.events += job->res.taken;
    ing->stats.new_loans += job->res.new_loans;
    ing->stats.repeats += job->res.repeats;
    ing->stats.duplicates += job->res.duplicates;
    ing->stats.stale += job->res.stale;
    ing->stats.holds += job->res.holds;
    if (ing->pending.n >= (size_t)ing->cfg->flush_max_pairs)
        ingest_flush_start(ing);
    ingest_job_finish(job, FAILURE_NONE);
}

static void job_empty_done(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    write_done(NULL, FAILURE_NONE, arg);
}

/* Every history of the job's patrons in one MGET, then the seen ids of
 * those who sent loans with ids, and the touchpoints that showed their
 * loans' and holds' titles (ingest_attribution.c). */
static void job_read(struct ingest_job *job)
{
    struct ingest *ing = job->ing;
    const char *pfx = ing->cfg->redis_prefix;
    struct rcmd_list cs = {0};
    struct rcmd *get = rcmd_list_key(&cs, "MGET", pfx, "h:", job->groups[0].pseudonym);
    for (size_t g = 1; g < job->ngroups && get; g++)
        cs.failed |= rcmd_addjoin(get, pfx, "h:", job->groups[g].pseudonym);
    for (size_t g = 0; g < job->ngroups && !cs.failed; g++) {
        struct patron_group *pg = &job->groups[g];
        pg->seen_at = -1;
        struct rcmd *ids = NULL;
        for (size_t i = 0; i < pg->n && !cs.failed; i++) {
            const struct loan_event *e = job->order[pg->first + i];
            if (!e->id[0] || e->type != LOAN_EVENT_LOAN)
                continue;
            if (!ids) {
                ids = rcmd_list_key(&cs, "ZMSCORE", pfx, "seen:", pg->pseudonym);
                pg->seen_at = (int)cs.n - 1;
            }
            rcmd_list_arg(&cs, ids, e->id);
        }
    }
    if (cs.failed || ingest_attr_read(job, &cs) < 0) {
        rcmd_list_free(&cs);
        ingest_job_finish(job, FAILURE_OUT_OF_MEMORY);
        return;
    }
    job->sent = cs.n;
    job->op = redis_send(ing->st, cs.c, cs.n, REDIS_SEND_ARRAY, read_done, NULL, job);
    rcmd_list_free(&cs);
    if (!job->op)
        ingest_job_finish(job, FAILURE_OUT_OF_MEMORY);
}

void ingest_job_start(struct ingest_job *job)
{
    struct ingest *ing = job->ing;
    if (job->kind == JOB_EVENTS && job->ngroups == 0) {
        /* no events (a CSV body of only its header): nothing to read or
         * write, answered from the loop */
        if (event_base_once(ing->base, -1, EV_TIMEOUT, job_empty_done, job, NULL) < 0)
            ingest_job_finish(job, FAILURE_OUT_OF_MEMORY);
        return;
    }
    if (job->kind == JOB_EVENTS) {
        job_read(job);
        return;
    }
    ingest_forget_start(job);
}
