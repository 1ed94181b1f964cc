/* ingest_attribution.c: a job's loans and holds attributed to the
 * touchpoints that showed their titles; see ingest.h (step 4a),
 * attribution.h (the rule) and ingest_int.h.
 *
 * The job's read also asks, per patron, at:<pseudonym> for the records of
 * their loans and holds (HMGET: a plain read like the rest of it, which
 * CLIENT PAUSE WRITE lets through, as it would a script); what it finds
 * is kept with the job while it applies them, and once its write went
 * through, each applied event the rule credits a touchpoint with is
 * counted by touchpoint_log_outcome's script: once per (touchpoint,
 * outcome, record), whatever is replayed. */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "ingest/attribution.h"
#include "ingest/ingest_int.h"

int ingest_attr_read(struct ingest_job *job, struct rcmd_list *cs)
{
    const char *pfx = job->ing->cfg->redis_prefix;
    for (size_t g = 0; g < job->ngroups && !cs->failed; g++) {
        struct patron_group *pg = &job->groups[g];
        struct rcmd *get = NULL;
        pg->at_at = -1;
        for (size_t i = 0; i < pg->n && !cs->failed; i++) {
            const struct loan_event *e = job->order[pg->first + i];
            if (!attribution_possible(e->type))
                continue;
            if (!get) {
                get = rcmd_list_key(cs, "HMGET", pfx, "at:", pg->pseudonym);
                pg->at_at = (int)cs->n - 1;
            }
            rcmd_list_arg(cs, get, e->record);
        }
    }
    return cs->failed ? -1 : 0;
}

static int attr_push(struct ingest_job *job, size_t at, const char *outcome,
                     const struct touchpoint_mark *m)
{
    if (job->nattr == job->capattr) {
        size_t cap = job->capattr ? job->capattr * 2 : 8;
        struct attribution *a = realloc(job->attr, cap * sizeof *a);
        if (!a)
            return -1;
        job->attr = a;
        job->capattr = cap;
    }
    job->attr[job->nattr++] = (struct attribution){at, outcome, 0, *m};
    return 0;
}

int ingest_attr_take(struct ingest_job *job, const redisReply *reply)
{
    long long window_s = (long long)job->ing->cfg->attribution_days * 86400;
    size_t malformed = 0;
    ingest_attr_reset(job);
    for (size_t g = 0; g < job->ngroups; g++) {
        const struct patron_group *pg = &job->groups[g];
        if (pg->at_at < 0)
            continue;
        struct loan_event **ev = &job->order[pg->first];
        size_t asked = 0;
        for (size_t i = 0; i < pg->n; i++)
            asked += attribution_possible(ev[i]->type);
        const redisReply *got = reply->element[pg->at_at];
        if (got->type != REDIS_REPLY_ARRAY || got->elements != asked) {
            /* never a reason to refuse the loans: they are applied, only not credited */
            log_msg(LOG_WARN, "ingest: at:%s unreadable, its patron's events not attributed: %s",
                    pg->pseudonym, got->type == REDIS_REPLY_ERROR ? got->str : "unexpected reply");
            continue;
        }
        for (size_t i = 0, k = 0; i < pg->n; i++) {
            if (!attribution_possible(ev[i]->type))
                continue;
            const redisReply *v = got->element[k++];
            struct touchpoint_mark m;
            if (v->type != REDIS_REPLY_STRING)      /* nil: no touchpoint showed it */
                continue;
            if (touchpoint_mark_parse(v->str, v->len, &m) < 0) {
                malformed++;
                continue;
            }
            const char *outcome = attribution_outcome(ev[i]->type, ev[i]->when, &m, window_s);
            if (outcome && attr_push(job, pg->first + i, outcome, &m) < 0)
                return -1;
        }
    }
    if (malformed)
        log_msg(LOG_WARN, "ingest: %zu entries of at: keys malformed: not attributed", malformed);
    return 0;
}

void ingest_attr_reset(struct ingest_job *job)
{
    job->nattr = job->attr_next = 0;
}

static void attributions_counted(redisReply *reply, enum failure error, void *arg)
{
    struct attribution_send *s = arg;
    struct ingest *ing = s->ing;
    TAILQ_REMOVE(&ing->attributing, s, link);
    ing->stats.attributions_pending -= s->n;
    size_t failed = 0;
    const char *why = NULL;
    if (error) {
        failed = s->n;
        why = failure_name(error);
    } else if (reply->type != REDIS_REPLY_ARRAY || reply->elements != s->n) {
        failed = s->n;
        why = reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply";
    } else {
        for (size_t i = 0; i < reply->elements; i++) {
            const redisReply *r = reply->element[i];
            if (r->type == REDIS_REPLY_STRING) {
                ing->stats.attributed++;
            } else if (r->type == REDIS_REPLY_INTEGER && r->integer == 0) {
                ing->stats.attributed_again++;
            } else {
                failed++;
                if (!why)
                    why = r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply";
            }
        }
    }
    if (failed) {
        ing->stats.attribution_failures += failed;
        log_msg(LOG_WARN, "ingest: %zu of %zu attributions not counted: %s", failed, s->n, why);
    }
    free(s);
}

void ingest_attr_send(struct ingest_job *job)
{
    struct ingest *ing = job->ing;
    size_t n = 0, built = 0;
    for (size_t i = 0; i < job->nattr; i++)
        n += job->attr[i].applied;
    if (n == 0)
        return;
    struct rcmd *cmds = calloc(n, sizeof *cmds);
    struct attribution_send *s = malloc(sizeof *s);
    int failed = !cmds || !s;
    for (size_t i = 0; i < job->nattr && !failed; i++) {
        const struct attribution *a = &job->attr[i];
        if (!a->applied)
            continue;
        struct outcome o = {a->mark.touchpoint, a->outcome, job->order[a->at]->record,
                            a->mark.day, a->mark.cell};
        failed = touchpoint_log_outcome(ing->cfg, &o, &cmds[built++]) < 0;
    }
    if (!failed) {
        *s = (struct attribution_send){.ing = ing, .n = n};
        s->op = redis_send(ing->st, cmds, n, REDIS_SEND_SURE | REDIS_SEND_ARRAY,
                           attributions_counted, NULL, s);
        failed = !s->op;
    }
    for (size_t i = 0; i < built; i++)
        rcmd_free(&cmds[i]);
    free(cmds);
    if (failed) {
        free(s);
        ing->stats.attribution_failures += n;
        log_msg(LOG_WARN, "ingest: %zu attributions not counted: %s", n,
                failure_name(FAILURE_OUT_OF_MEMORY));
        return;
    }
    TAILQ_INSERT_TAIL(&ing->attributing, s, link);
    ing->stats.attributions_pending += n;
}

void ingest_attr_free(struct ingest *ing)
{
    struct attribution_send *s;
    if (ing->stats.attributions_pending)
        log_msg(LOG_WARN, "ingest: %zu attributions not confirmed at exit (sent, maybe counted)",
                ing->stats.attributions_pending);
    while ((s = TAILQ_FIRST(&ing->attributing))) {
        TAILQ_REMOVE(&ing->attributing, s, link);
        redis_op_cancel(s->op);
        ing->stats.attributions_pending -= s->n;
        free(s);
    }
}
