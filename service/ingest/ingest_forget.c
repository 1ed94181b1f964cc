/* ingest_forget.c: a forget, which takes back what the patron added to
 * the model; see ingest.h (ingest_forget) and ingest_int.h.
 *
 * What a patron's loans added is known from their history (history.h:
 * history_contributions): 1 to each title's count (pop, meta loans) and
 * 1 to each pair the titles made (co:<record>, both ways). A forget:
 *   1. flushes the pair counts this process holds, so that the patron's
 *      are in Redis to be taken back;
 *   2. reads h:<pseudonym> and fg:<pseudonym> (what an earlier forget
 *      left to take back);
 *   3. once: in one script, if the history is still as read, writes what
 *      it added to fg:<pseudonym> (a hash: title -> the list lines to
 *      take off co:<title>), takes 1 off each title's count at the branch
 *      the history says it was borrowed at (pob:<branch>, removed at 0),
 *      deletes h:, seen: and at:, takes 1 off meta patrons and tells
 *      every onloand (forget_feed.h);
 *   4. while fg: has titles: reads their lists, takes the counts off
 *      (cooc_subtract, then what compaction keeps), and per title one
 *      script puts the list back if it is still as read (compact.c's
 *      check), deletes it if nothing is left, takes 1 off the title's
 *      pop (removed at 0) and meta loans, and deletes the title from fg:.
 *      So every step is done once, however often a forget is sent again
 *      after a failure: fg: is the work left, and the next forget of
 *      the patron finishes it. A list changed meanwhile is read again;
 *   5. publishes the forget again: every onloand drops the model reads
 *      and the answers without patron= it keeps, which may show the
 *      counts taken back (other patrons' run out within model.cache_ms).
 * Steps 2 to 4 run at most FORGET_ROUNDS times (write_conflict). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "ingest/ingest_int.h"
#include "model/cooc_list.h"
#include "redis/forget_feed.h"

/* Rounds of reads and writes a forget may take: a first read, the
 * start, a read, a round of lists, a read that finds nothing left; more
 * only when other writers keep changing the history or the lists. */
#define FORGET_ROUNDS 16

/* Step 3. KEYS: h:, seen:, at:, fg: of the patron, meta, then pob:<branch>
 * of each branch in the history. ARGV: "1" if the history was there ("0"
 * if not), what it held, the forget channel, the pseudonym, how many
 * (branch, title) counts to take back (m), m pairs of a KEYS index and a
 * title, then pairs of a title and the lines to take off its list. 0
 * when the history changed since it was read. */
static const char start_script[] =
    "local cur = redis.call('GET', KEYS[1])\n"
    "if ARGV[1] == '1' then\n"
    "  if cur ~= ARGV[2] then return 0 end\n"
    "elseif cur then return 0 end\n"
    "local m = tonumber(ARGV[5])\n"
    "for i = 6, 5 + 2 * m, 2 do\n"
    "  local k = KEYS[tonumber(ARGV[i])]\n"
    "  if tonumber(redis.call('ZINCRBY', k, -1, ARGV[i + 1])) <= 0 then\n"
    "    redis.call('ZREM', k, ARGV[i + 1])\n"
    "  end\n"
    "end\n"
    "for i = 6 + 2 * m, #ARGV, 2 do redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1]) end\n"
    "redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])\n"
    "if ARGV[1] == '1' then redis.call('HINCRBY', KEYS[5], 'patrons', -1) end\n"
    "redis.call('PUBLISH', ARGV[3], ARGV[4])\n"
    "return 1\n";

/* Step 4, one title. KEYS: co:<title>, pop, meta, fg:<pseudonym>, dirty.
 * ARGV: the title; "skip" (its list is not touched: nothing to take off,
 * or no list) or "swap"; the list's new first part; how many bytes of
 * it were read; their header line ("" if none); "1" if the new part
 * has no entries. 0: done before; -1: the list changed since it was
 * read (read again); 1: done. */
static const char subtract_script[] =
    "if redis.call('HEXISTS', KEYS[4], ARGV[1]) == 0 then return 0 end\n"
    "if ARGV[2] == 'swap' then\n"
    "  local cur = redis.call('GET', KEYS[1]) or ''\n"
    "  local n, hdr = tonumber(ARGV[4]), ARGV[5]\n"
    "  if #cur < n then return -1 end\n"
    "  if hdr == '' then\n"
    "    if string.sub(cur, 1, 1) == '#' then return -1 end\n"
    "  elseif string.sub(cur, 1, #hdr) ~= hdr then return -1 end\n"
    "  local rest = string.sub(cur, n + 1)\n"
    "  if ARGV[6] == '1' and rest == '' then\n"
    "    redis.call('DEL', KEYS[1])\n"
    "    redis.call('SREM', KEYS[5], ARGV[1])\n"
    "  else\n"
    "    redis.call('SET', KEYS[1], ARGV[3] .. rest)\n"
    "  end\n"
    "end\n"
    "if tonumber(redis.call('ZINCRBY', KEYS[2], -1, ARGV[1])) <= 0 then\n"
    "  redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "end\n"
    "redis.call('HINCRBY', KEYS[3], 'loans', -1)\n"
    "redis.call('HDEL', KEYS[4], ARGV[1])\n"
    "return 1\n";

struct forget_work {
    int started;                /* step 3 went through */
    int rounds;
    int waiting_flush;          /* step 1: job is an ingest_flush waiter */
    char **title;               /* step 4: fg:'s titles this round, owned */
    char **minus;               /* and the lines to take off each list, owned */
    size_t *minus_len;
    size_t n;
};

static void forget_read(struct ingest_job *job);

static void work_clear(struct forget_work *w)
{
    for (size_t i = 0; i < w->n; i++) {
        free(w->title[i]);
        free(w->minus[i]);
    }
    free(w->title);
    free(w->minus);
    free(w->minus_len);
    w->title = w->minus = NULL;
    w->minus_len = NULL;
    w->n = 0;
}

void ingest_forget_free(struct ingest_job *job)
{
    struct forget_work *w = job->forget;
    if (!w)
        return;
    if (w->waiting_flush)
        ingest_flush_unwait(job->ing, job);
    work_clear(w);
    free(w);
    job->forget = NULL;
}

static void forget_finish(struct ingest_job *job, enum failure error)
{
    job->op = NULL;
    ingest_job_finish(job, error);
}

/* Another round, unless the forget has had them all. */
static void next_round(struct ingest_job *job)
{
    if (++job->forget->rounds >= FORGET_ROUNDS) {
        log_msg(LOG_WARN, "forget of %s: other writers kept changing its history or lists; "
                "what is left to take back stays in fg: for the next forget", job->forget_pseudonym);
        forget_finish(job, FAILURE_WRITE_CONFLICT);
        return;
    }
    forget_read(job);
}

static void subtracted(redisReply *reply, enum failure error, void *arg)
{
    struct ingest_job *job = arg;
    job->op = NULL;
    if (!error && (reply->type != REDIS_REPLY_ARRAY || reply->elements != job->sent))
        error = FAILURE_REDIS_UNAVAILABLE;
    for (size_t i = 0; !error && i < reply->elements; i++) {
        if (reply->element[i]->type == REDIS_REPLY_ERROR) {
            log_msg(LOG_WARN, "forget: a list not taken back: %s", reply->element[i]->str);
            error = FAILURE_REDIS_UNAVAILABLE;
        }
    }
    if (error) {
        forget_finish(job, error);
        return;
    }
    next_round(job);        /* a list that changed meanwhile is read again */
}

/* The step 4 script for title i of this round, its list as read (NULL:
 * none). -1 when out of memory. */
static int subtract_command(struct ingest_job *job, size_t i, const redisReply *list, struct rcmd *c)
{
    const struct config *cfg = job->ing->cfg;
    const struct forget_work *w = job->forget;
    const char *pfx = cfg->redis_prefix, *title = w->title[i];
    struct strbuf out = {0};
    struct cooc_list have = {0}, minus = {0};
    int swap = list && list->type == REDIS_REPLY_STRING && w->minus_len[i] > 0;
    if (swap && (cooc_parse(&have, list->str, list->len) < 0 ||
                 cooc_parse(&minus, w->minus[i], w->minus_len[i]) < 0)) {
        /* malformed (or memory ran out): compaction leaves such a list as
         * it is too; the title's own counts are still taken back. (A log
         * line never names a patron's pseudonym and a title of theirs
         * together: that would be their reading, in the log.) */
        log_msg(LOG_WARN, "forget: co:%s not read; a forgotten patron's counts stay in it", title);
        swap = 0;
    }
    int failed = 0;
    if (swap) {
        unsigned long long missing = cooc_subtract(&have, &minus);
        if (missing)
            log_msg(LOG_DEBUG, "forget: %llu counts to take off co:%s were gone already "
                    "(compacted away)", missing, title);
        cooc_top(&have, (size_t)cfg->neighbours_max + (size_t)cfg->neighbours_reserve);
        failed = cooc_encode(&have, cooc_next_gen(have.gen), &out) < 0;
    }
    failed = failed || rcmd_addstr(c, "EVAL") | rcmd_addstr(c, subtract_script) | rcmd_addstr(c, "5") |
             rcmd_addjoin(c, pfx, "co:", title) | rcmd_addjoin(c, pfx, "pop", "") |
             rcmd_addjoin(c, pfx, "meta", "") | rcmd_addjoin(c, pfx, "fg:", job->forget_pseudonym) |
             rcmd_addjoin(c, pfx, "dirty", "") | rcmd_addstr(c, title) |
             rcmd_addstr(c, swap ? "swap" : "skip") | rcmd_add(c, out.buf ? out.buf : "", out.len) |
             rcmd_addf(c, "%zu", swap ? list->len : 0) |
             rcmd_add(c, swap ? list->str : "", swap ? have.header_len : 0) |
             rcmd_addstr(c, swap && have.n == 0 ? "1" : "0");
    cooc_free(&have);
    cooc_free(&minus);
    strbuf_free(&out);
    return failed ? -1 : 0;
}

static void lists_in(redisReply *reply, enum failure error, void *arg)
{
    struct ingest_job *job = arg;
    struct forget_work *w = job->forget;
    job->op = NULL;
    if (!error && (reply->type != REDIS_REPLY_ARRAY || reply->elements != w->n))
        error = FAILURE_REDIS_UNAVAILABLE;
    if (error) {
        forget_finish(job, error);
        return;
    }
    struct rcmd *cs = calloc(w->n, sizeof *cs);
    int failed = !cs;
    for (size_t i = 0; i < w->n && !failed; i++)
        failed = subtract_command(job, i, reply->element[i], &cs[i]) < 0;
    if (!failed) {
        job->sent = w->n;
        job->op = redis_send(job->ing->st, cs, w->n, REDIS_SEND_SURE | REDIS_SEND_ARRAY, subtracted,
                             ingest_job_late, job);
        failed = !job->op;
    }
    for (size_t i = 0; cs && i < w->n; i++)
        rcmd_free(&cs[i]);
    free(cs);
    if (failed)
        forget_finish(job, FAILURE_OUT_OF_MEMORY);
}

/* Step 4: fg:'s titles (HGETALL's flat reply) are this round's; their
 * lists are read. */
static void lists_read(struct ingest_job *job, const redisReply *fg)
{
    struct forget_work *w = job->forget;
    const char *pfx = job->ing->cfg->redis_prefix;
    work_clear(w);
    size_t n = fg->elements / 2;
    w->title = calloc(n, sizeof *w->title);
    w->minus = calloc(n, sizeof *w->minus);
    w->minus_len = calloc(n, sizeof *w->minus_len);
    struct rcmd *cs = calloc(n, sizeof *cs);
    int failed = !w->title || !w->minus || !w->minus_len || !cs;
    for (size_t i = 0; i < n && !failed; i++) {
        const redisReply *k = fg->element[2 * i], *v = fg->element[2 * i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        size_t at = w->n;
        if (!(w->title[at] = strndup(k->str, k->len)) || !(w->minus[at] = malloc(v->len + 1))) {
            free(w->title[at]);
            failed = 1;
            break;
        }
        memcpy(w->minus[at], v->str, v->len);
        w->minus_len[at] = v->len;
        w->n++;
        failed = rcmd_addstr(&cs[at], "GET") | rcmd_addjoin(&cs[at], pfx, "co:", w->title[at]);
    }
    if (!failed && w->n == 0) {     /* nothing usable in fg: (not written by us) */
        log_msg(LOG_WARN, "forget of %s: fg: holds no titles", job->forget_pseudonym);
        free(cs);
        forget_finish(job, FAILURE_REDIS_UNAVAILABLE);
        return;
    }
    if (!failed) {
        job->op = redis_send(job->ing->st, cs, w->n, REDIS_SEND_ARRAY, lists_in, NULL, job);
        failed = !job->op;
    }
    for (size_t i = 0; cs && i < n; i++)
        rcmd_free(&cs[i]);
    free(cs);
    if (failed)
        forget_finish(job, FAILURE_OUT_OF_MEMORY);
}

static void started(redisReply *reply, enum failure error, void *arg)
{
    struct ingest_job *job = arg;
    job->op = NULL;
    if (!error && reply->type != REDIS_REPLY_INTEGER) {
        log_msg(LOG_WARN, "forget: refused: %s",
                reply->type == REDIS_REPLY_ERROR ? reply->str : "not the script's answer");
        error = FAILURE_REDIS_UNAVAILABLE;
    }
    if (error) {
        forget_finish(job, error);
        return;
    }
    if (reply->integer == 1)
        job->forget->started = 1;
    else
        job->ing->stats.write_conflicts++;
    next_round(job);
}

/* Appends to c, for each title of h, the title and the list lines its
 * pairs added to co:<title> (groups: both ways). -1 out of memory. */
static int add_minus(const struct ingest *ing, const struct history *h, const struct pair_groups *g,
                     struct rcmd *c)
{
    struct strbuf lines = {0};
    int failed = 0;
    for (size_t i = 0; i < h->n && !failed; i++) {
        uint32_t r = h->e[i].record;
        lines.len = 0;
        for (uint32_t k = r < g->nrecords ? g->start[r] : 0; r < g->nrecords && k < g->start[r + 1]; k++)
            failed |= strbuf_puts(&lines, record_ids_get(ing->names, g->other[k])) < 0 ||
                      strbuf_printf(&lines, " %u\n", g->count[k]) < 0;
        failed |= rcmd_addstr(c, record_ids_get(ing->names, r)) |
                  rcmd_add(c, lines.buf ? lines.buf : "", lines.len);
    }
    strbuf_free(&lines);
    return failed ? -1 : 0;
}

/* Step 3, from the history as read (a string, or nil). */
static void start(struct ingest_job *job, const redisReply *hist)
{
    struct ingest *ing = job->ing;
    const char *pfx = ing->cfg->redis_prefix, *p = job->forget_pseudonym;
    int existed = hist->type == REDIS_REPLY_STRING;
    struct history h = {0};
    struct pair_table t = {0};
    struct pair_log log = {0};
    struct pair_groups g = {0};
    int failed = 0;
    if (existed && hist->len && history_parse(&h, hist->str, hist->len, ing->names) < 0) {
        /* ingest starts such a history afresh too: nothing to tell from it */
        log_msg(LOG_WARN, "forget of %s: its history is malformed: its counts are not taken back", p);
        history_clear(&h);
    }
    if (history_contributions(&h, &ing->rules, &t) < 0 || pair_log_take(&log, &t) < 0 ||
        pairs_group_log_take(&log, record_ids_count(ing->names), &g) < 0)
        failed = 1;
    /* the branches of the history's titles, KEYS 6 on; key[i]: title i's */
    uint32_t *branch = calloc(h.n + 1, sizeof *branch);
    size_t *key = calloc(h.n + 1, sizeof *key);
    size_t nbranch = 0, nat = 0;
    for (size_t i = 0; branch && key && i < h.n; i++) {
        if (h.e[i].branch == RECORD_IDS_NONE)
            continue;
        nat++;
        size_t k = 0;
        while (k < nbranch && branch[k] != h.e[i].branch)
            k++;
        if (k == nbranch)
            branch[nbranch++] = h.e[i].branch;
        key[i] = 6 + k;
    }
    struct rcmd c = {0};
    failed = failed || !branch || !key || rcmd_addstr(&c, "EVAL") | rcmd_addstr(&c, start_script) |
             rcmd_addf(&c, "%zu", 5 + nbranch) | rcmd_addjoin(&c, pfx, "h:", p) |
             rcmd_addjoin(&c, pfx, "seen:", p) | rcmd_addjoin(&c, pfx, "at:", p) |
             rcmd_addjoin(&c, pfx, "fg:", p) | rcmd_addjoin(&c, pfx, "meta", "");
    for (size_t k = 0; !failed && k < nbranch; k++)
        failed = rcmd_addjoin(&c, pfx, "pob:", record_ids_get(ing->names, branch[k])) < 0;
    failed = failed || rcmd_addstr(&c, existed ? "1" : "0") |
             rcmd_add(&c, existed ? hist->str : "", existed ? hist->len : 0) |
             rcmd_addjoin(&c, pfx, FORGET_CHANNEL, "") | rcmd_addstr(&c, p) |
             rcmd_addf(&c, "%zu", nat);
    for (size_t i = 0; !failed && i < h.n; i++)
        if (key[i])
            failed = rcmd_addf(&c, "%zu", key[i]) |
                     rcmd_addstr(&c, record_ids_get(ing->names, h.e[i].record));
    free(branch);
    free(key);
    failed = failed || add_minus(ing, &h, &g, &c) < 0;
    history_free(&h);
    pairs_free(&t);
    pair_log_free(&log);
    pair_groups_free(&g);
    if (!failed) {
        job->sent = 1;
        job->op = redis_send(ing->st, &c, 1, REDIS_SEND_SURE, started, ingest_job_late, job);
        failed = !job->op;
    }
    rcmd_free(&c);
    if (failed)
        forget_finish(job, FAILURE_OUT_OF_MEMORY);
}

static void announced(redisReply *reply, enum failure error, void *arg)
{
    struct ingest_job *job = arg;
    job->op = NULL;
    if (error || reply->type == REDIS_REPLY_ERROR)
        log_msg(LOG_WARN, "forget of %s: taken back, but not said again (%s): answers kept "
                "elsewhere may show the old counts for model.cache_ms", job->forget_pseudonym,
                error ? failure_name(error) : reply->str);
    forget_finish(job, FAILURE_NONE);
}

/* Step 5: all is taken back; every onloand hears of the forget again and
 * drops the model reads and answers it keeps (server_patron_forgotten),
 * which may show the counts as they were. */
static void announce_done(struct ingest_job *job)
{
    struct rcmd_list cs = {0};
    rcmd_list_arg(&cs, rcmd_list_key(&cs, "PUBLISH", job->ing->cfg->redis_prefix, FORGET_CHANNEL, ""),
                  job->forget_pseudonym);
    if (!cs.failed)
        job->op = redis_send(job->ing->st, cs.c, cs.n, 0, announced, NULL, job);
    int failed = cs.failed || !job->op;
    rcmd_list_free(&cs);
    if (failed)
        forget_finish(job, FAILURE_OUT_OF_MEMORY);
}

static void read_in(redisReply *reply, enum failure error, void *arg)
{
    struct ingest_job *job = arg;
    job->op = NULL;
    if (!error && (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
                   reply->element[1]->type != REDIS_REPLY_ARRAY))
        error = FAILURE_REDIS_UNAVAILABLE;
    if (error) {
        forget_finish(job, error);
        return;
    }
    if (reply->element[1]->elements >= 2)
        lists_read(job, reply->element[1]);
    else if (!job->forget->started)
        start(job, reply->element[0]);
    else
        announce_done(job);
}

/* Step 2. */
static void forget_read(struct ingest_job *job)
{
    const char *pfx = job->ing->cfg->redis_prefix;
    struct rcmd_list cs = {0};
    rcmd_list_key(&cs, "GET", pfx, "h:", job->forget_pseudonym);
    rcmd_list_key(&cs, "HGETALL", pfx, "fg:", job->forget_pseudonym);
    if (!cs.failed)
        job->op = redis_send(job->ing->st, cs.c, cs.n, REDIS_SEND_ARRAY, read_in, NULL, job);
    int failed = cs.failed || !job->op;
    rcmd_list_free(&cs);
    if (failed)
        forget_finish(job, FAILURE_OUT_OF_MEMORY);
}

static void flushed(enum failure error, void *arg)
{
    struct ingest_job *job = arg;
    job->forget->waiting_flush = 0;
    if (error) {
        forget_finish(job, error);
        return;
    }
    forget_read(job);
}

void ingest_forget_start(struct ingest_job *job)
{
    if (!(job->forget = calloc(1, sizeof *job->forget))) {
        ingest_job_finish(job, FAILURE_OUT_OF_MEMORY);
        return;
    }
    /* Step 1; it may call back at once, when nothing is pending. */
    job->forget->waiting_flush = 1;
    ingest_flush(job->ing, flushed, job);
}
