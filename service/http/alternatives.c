/* alternatives.c: the on-loan moment, GET /v1/alternatives; see
 * alternatives.h. This file reads top-down, in the order a request goes:
 *
 *   0. the parameters (params.h); an answer kept from before
 *      (kept_answers.h) goes straight to 3;
 *   1. at once, in parallel: the wanted record from the catalogue
 *      (catalogue.h), its co-occurring titles and the model's totals
 *      from Redis (model.h: patrons and popular titles, one read for the
 *      whole daemon); with patron=, also the patron's history and the
 *      neighbours of their most recent titles (model.history_titles),
 *      blended in as score.h says, and every title they borrowed left
 *      out. An unknown title is a 404 as soon as the catalogue says so;
 *   2. the candidates, best first, until enough are on the shelf now, in
 *      the catalogue's order of reasons (by default: the catalogue
 *      searched by the wanted title's author, then co-occurring titles
 *      looked up in rounds (one batched search each), then the catalogue
 *      searched by its subjects, then popular titles in rounds). The
 *      first round of co-occurring titles starts, whatever the order, as
 *      soon as the model's part of phase 1 is in, while the wanted title
 *      may still be on its way: the two searches run at once;
 *   3. the alternatives chosen (recommend.h), the answer built
 *      (answer.h) and perhaps kept, the touchpoint written to its stream
 *      (touchpoint_log.h), and the answer sent with the touchpoint's id.
 * A deadline (request_timeout_ms) answers with whatever is known then. */
#include "http/alternatives.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/token.h"
#include "http/auth.h"
#include "http/answer.h"
#include "http/experiments.h"
#include "http/http_metrics.h"
#include "http/kept_answers.h"
#include "http/params.h"
#include "http/recent_touchpoints.h"
#include "http/receipt.h"
#include "http/reply.h"
#include "ingest/history.h"
#include "model/recommend.h"
#include "model/score.h"
#include "redis/rollup.h"
#include "redis/touchpoint_log.h"
#include "server.h"

/* A candidate round asks for this many candidates per alternative still
 * missing (at most batch_max): about half of all candidates have a copy on
 * the shelf, and each one asked for costs the catalogue a record. The
 * rounds still go through every candidate when needed, so the answer does
 * not depend on it. */
enum { ROUND_PER_MISSING = 2 };

enum phase { PHASE_LOOKUP, PHASE_CANDIDATES, PHASE_LOG, PHASE_DONE };

struct recent_ctx;

struct alt_request {
    struct server *srv;
    struct evhttp_request *req;
    struct alt_params p;
    int cat_index;
    struct catalogue *cat;
    struct link *link;
    enum phase phase;
    struct event *deadline;
    failure_set degraded;           /* what went wrong while still answering */
    const struct experiment_config *experiment;     /* NULL outside one */
    const struct arm_config *arm;   /* this request's, in experiment */
    enum score_measure scoring;     /* the catalogue's, or the arm's */

    /* phase 1 */
    struct catalogue_lookup *title_lookup;
    struct model_read *cooc_read;
    struct model_totals_wait *totals_wait;
    int title_settled, cooc_settled, totals_settled;
    int scored;                     /* the model's part is in and cands are scored */
    enum lookup_status title_status;
    struct bib *bib;                /* one reference, when found */
    enum failure title_error;

    /* phase 1, with patron= */
    struct redis_op *history_op;
    int history_settled;            /* read (and its titles' neighbours), failed, or no patron */
    uint64_t history_ms;            /* when the history was read */
    unsigned long long forgets;     /* srv->forgets before the history was asked for */
    char **borrowed;                /* every title in the patron's history (owned) */
    size_t nborrowed;
    struct neighbours **recent_nb;  /* neighbours of the recent titles (references, or NULL
                                     * while unread or when the read failed) */
    struct model_read **recent_reads;
    struct recent_ctx *recent_ctx;  /* the reads' callback arguments */
    char **recent;                  /* the recent titles themselves (borrowed from borrowed) */
    size_t nrecent, recent_pending;

    /* phase 2 */
    struct neighbours *nb;          /* one reference, when read */
    struct model_totals *totals;    /* likewise */
    struct candidate *cands;        /* scored from nb (owned): also_borrowed, then popular */
    size_t ncands, ncooc;           /* all of them; the also_borrowed ones */
    struct catalogue_lookup *cands_lookup;
    struct bib **cand_bibs;         /* parallel to cands; references */
    size_t cands_asked;             /* cands[0 .. cands_asked) looked up or on the way */
    size_t step;                    /* the place in the catalogue's order being gathered */
    size_t subject_at;              /* same_subject: the wanted title's subject searched */
    struct catalogue_search *ahead[BIB_MAX_SUBJECTS];  /* its later subjects, searched at
                                                         * once (search_ahead) */
    int no_searches;                /* the arm turns the author and subject searches off */
    struct catalogue_search *search;
    struct candidate *found;        /* from the author and subject searches; owned */
    struct bib **found_bibs;        /* parallel to found; references */
    size_t nfound;
    size_t ranked;                  /* found[0 .. ranked) have their scores */
    struct redis_op *found_op;      /* the borrowers of found[ranked ..) being read */
    int candidates_failed;          /* a lookup or search failed: stop asking */

    /* phase 3 */
    struct answer *ans;             /* one reference: built, or kept from before */
    char *answer_key;               /* this request's key in kept_answers(r) */
};

struct recent_ctx {
    struct alt_request *r;
    size_t i;
};

static void choose_arm(struct alt_request *r);
/* phase 1 */
static void start_lookups(struct alt_request *r);
static void title_looked_up(const struct lookup_result *res, size_t n, void *arg);
static void neighbours_in(struct neighbours *nb, enum failure error, void *arg);
static void totals_in(struct model_totals *t, enum failure error, void *arg);
static void history_in(redisReply *reply, enum failure error, void *arg);
static void recent_neighbours_in(struct neighbours *nb, enum failure error, void *arg);
static void recent_in(struct alt_request *r, size_t i, struct neighbours *nb);
static void phase1_advance(struct alt_request *r);
static void score_now(struct alt_request *r);
/* phase 2 */
static void next_candidates(struct alt_request *r);
static int gather(struct alt_request *r, enum reason why, size_t missing);
static int reason_used(const struct alt_request *r, enum reason why);
static int cand_bibs_ready(struct alt_request *r);
static size_t candidates_missing(const struct alt_request *r);
static int lookup_round(struct alt_request *r, size_t end, size_t missing);
static void candidates_looked_up(const struct lookup_result *res, size_t n, void *arg);
static void search_found(struct bib *const *bibs, size_t n, enum failure error, void *arg);
static void rank_found(struct alt_request *r);
static void found_ranked(redisReply *reply, enum failure error, void *arg);
static void search_done(struct alt_request *r);
static void search_ahead(struct alt_request *r);
static void searched_ahead(struct bib *const *bibs, size_t n, enum failure error, void *arg);
static void deadline_passed(evutil_socket_t fd, short what, void *arg);
/* phase 3 */
static struct answer *make_answer(struct alt_request *r);
static void log_and_answer(struct alt_request *r);
static void send_answer(struct alt_request *r, const char *touchpoint_id, size_t len,
                        const char *token);
static int send_receipt(struct alt_request *r, const struct strbuf *json);
/* the end */
static void alt_request_unavailable(struct alt_request *r);
static void alt_request_free(struct alt_request *r);

static void degrade(struct alt_request *r, enum failure why)
{
    r->degraded |= FAILURE_BIT(why);
}

/* The degraded reason for a failed Redis read or write: as said, or, for
 * an error reply (no failure of the connection), Redis failing. */
static enum failure redis_failure(enum failure error)
{
    return error ? error : FAILURE_REDIS_UNAVAILABLE;
}

/* Where this request's answer is kept: patron answers apart (server.h). */
static struct ttl_cache *kept_answers(const struct alt_request *r)
{
    return r->p.patron[0] ? r->srv->patron_answers : r->srv->answers;
}

/* "catalogue|record|branch|limit|lang|channel|arm|patron" (no printf: this
 * is every request's path, warm ones too; the patron last, kept_answers.h).
 * NULL when out of memory. */
static char *answer_key(int cat_index, const struct alt_params *p, const struct arm_config *arm)
{
    struct strbuf key = {0};
    int bad = strbuf_put_ll(&key, cat_index) | strbuf_puts(&key, "|") |
              strbuf_puts(&key, p->record) | strbuf_puts(&key, "|") |
              strbuf_puts(&key, p->branch ? p->branch : "") | strbuf_puts(&key, "|") |
              strbuf_put_ll(&key, p->limit) | strbuf_puts(&key, "|") | strbuf_puts(&key, p->lang) |
              strbuf_puts(&key, "|") | strbuf_puts(&key, p->channel) | strbuf_puts(&key, "|") |
              strbuf_puts(&key, arm ? arm->name : "") | strbuf_puts(&key, "|") |
              strbuf_puts(&key, p->patron);
    char *s = bad ? NULL : strbuf_steal(&key);
    strbuf_free(&key);
    return s;
}

/* ---- 0. the request comes in ---------------------------------------------- */

/* patron= is personal: whoever knows a card number could rebuild that
 * patron's reading from the answers. Only a caller with an API key of
 * role personalise (the OPAC's server side) may send it; otherwise a 401
 * naming patron, saying which it is. 0 when entitled, else -1 (answered). */
static int patron_entitled(struct server *srv, struct evhttp_request *req)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    const char *name;
    switch (auth_check(srv, req, ROLE_PERSONALISE, &name)) {
    case AUTH_OK:
        return 0;
    case AUTH_NO_KEY:
        evhttp_add_header(out, "WWW-Authenticate", "Bearer");
        http_reply_error(req, 401, "patron", "patron needs an API key with the personalise role: "
                                             "Authorization: Bearer <key>");
        return -1;
    case AUTH_UNKNOWN_KEY:
        evhttp_add_header(out, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
        http_reply_error(req, 401, "patron", "patron needs an API key with the personalise role: "
                                             "this key is unknown");
        return -1;
    case AUTH_LACKS_ROLE:
        break;
    }
    log_msg(LOG_WARN, "API key \"%s\" sent patron= without the personalise role", name);
    evhttp_add_header(out, "WWW-Authenticate", "Bearer error=\"insufficient_scope\"");
    http_reply_error(req, 401, "patron", "patron needs an API key with the personalise role: "
                                         "this key lacks it");
    return -1;
}

void alternatives_handle(struct server *srv, struct evhttp_request *req, const char *query)
{
    struct alt_params p;
    struct param_error perr;
    if (params_parse_alternatives(query, srv->cfg, &p, &perr) < 0) {
        if (perr.no_memory)
            http_reply_unavailable(req, HTTP_NO_MEMORY);
        else
            http_reply_error(req, 400, perr.field, perr.message);
        return;
    }
    if (p.patron[0] && patron_entitled(srv, req) < 0) {
        params_free(&p);
        return;
    }
    if (server_admit(srv, req) < 0) {
        params_free(&p);
        return;
    }
    struct alt_request *r = calloc(1, sizeof *r);
    if (!r || !(r->deadline = evtimer_new(srv->base, deadline_passed, r))) {
        free(r);
        params_free(&p);
        http_reply_unavailable(req, HTTP_NO_MEMORY);
        server_release(srv);
        return;
    }
    r->srv = srv;
    r->req = req;
    r->p = p;
    r->cat_index = server_catalogue_index(srv, p.catalogue);
    r->cat = srv->catalogues[r->cat_index];
    r->link = srv->links[r->cat_index];
    int ms = srv->cfg->request_timeout_ms;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(r->deadline, &tv);
    choose_arm(r);
    if (!(r->answer_key = answer_key(r->cat_index, &r->p, r->arm))) {
        alt_request_unavailable(r);
        return;
    }
    if ((r->ans = kept_answers_get(kept_answers(r), r->answer_key))) {
        log_and_answer(r);
        return;
    }
    start_lookups(r);
}

/* The experiment running on the request's channel today, if any, and
 * this unit's arm of it (experiments.h), which may change how many
 * alternatives are shown, how they are scored and whether the catalogue
 * is searched by author and subject. */
static void choose_arm(struct alt_request *r)
{
    struct server *srv = r->srv;
    r->scoring = srv->cfg->catalogues[r->cat_index].scoring;
    r->experiment = experiment_running(srv->cfg, r->p.channel_id, server_date(srv));
    if (!r->experiment)
        return;
    if (r->p.patron[0]) {
        r->arm = experiment_arm(r->experiment, r->p.patron, strlen(r->p.patron));
    } else if (r->p.session) {
        r->arm = experiment_arm(r->experiment, r->p.session, strlen(r->p.session));
    } else {
        uint64_t draw = server_draw(srv);       /* per touchpoint */
        r->arm = experiment_arm(r->experiment, (const char *)&draw, sizeof draw);
    }
    if (r->arm->alternatives >= 0)
        r->p.limit = r->arm->alternatives;
    if (r->arm->scoring >= 0)
        r->scoring = (enum score_measure)r->arm->scoring;
    if (r->arm->fallbacks == 0)
        r->no_searches = 1;
}

/* ---- 1. the wanted title, its neighbours, the patron ----------------------- */

static void keep_neighbours(struct alt_request *r, struct neighbours *nb)
{
    r->cooc_settled = 1;
    r->nb = nb;
}

static void start_lookups(struct alt_request *r)
{
    struct server *srv = r->srv;
    const char *ids[1] = {r->p.record};
    r->title_lookup = catalogue_lookup_start(r->cat, ids, 1, QUEUE_IN_TURN, title_looked_up, r);
    if (!r->title_lookup) {
        alt_request_unavailable(r);
        return;
    }
    r->history_settled = !r->p.patron[0];
    r->forgets = srv->forgets;
    if (r->p.patron[0]) {
        struct rcmd cmd = {0};
        if (rcmd_addstr(&cmd, "GET") == 0 &&
            rcmd_addjoin(&cmd, srv->cfg->redis_prefix, "h:", r->p.patron) == 0)
            r->history_op = redis_exec(srv->redis, &cmd, 1, history_in, r);
        rcmd_free(&cmd);
        if (!r->history_op) {
            r->history_settled = 1;
            degrade(r, FAILURE_OUT_OF_MEMORY);
        }
    }
    struct neighbours *nb = model_cached(srv->model, r->p.record);
    if (nb) {
        keep_neighbours(r, nb);
    } else if (!(r->cooc_read = model_read(srv->model, r->p.record, neighbours_in, r))) {
        keep_neighbours(r, NULL);
        degrade(r, FAILURE_OUT_OF_MEMORY);
    }
    if ((r->totals = model_totals_cached(srv->model))) {
        r->totals_settled = 1;
    } else if (!(r->totals_wait = model_totals_read(srv->model, totals_in, r))) {
        r->totals_settled = 1;
        degrade(r, FAILURE_OUT_OF_MEMORY);
    }
}

static void title_looked_up(const struct lookup_result *res, size_t n, void *arg)
{
    struct alt_request *r = arg;
    (void)n;
    r->title_lookup = NULL;
    r->title_settled = 1;
    r->title_status = res[0].status;
    r->title_error = res[0].error;
    if (res[0].status == LOOKUP_FOUND)
        r->bib = bib_ref(res[0].bib);
    phase1_advance(r);
}

static void neighbours_in(struct neighbours *nb, enum failure error, void *arg)
{
    struct alt_request *r = arg;
    r->cooc_read = NULL;
    if (!nb)
        degrade(r, redis_failure(error));
    keep_neighbours(r, nb);
    phase1_advance(r);
}

static void totals_in(struct model_totals *t, enum failure error, void *arg)
{
    struct alt_request *r = arg;
    r->totals_wait = NULL;
    if (!t)
        degrade(r, redis_failure(error));
    r->totals = t;
    r->totals_settled = 1;
    phase1_advance(r);
}

/* The patron's titles (GET h:<pseudonym>, newest first): every one is
 * left out of the answer, and the neighbours of the most recent are read
 * to blend in. Without the memory for that the answer is degraded, never
 * silently less careful. */
static void history_in(redisReply *reply, enum failure error, void *arg)
{
    struct alt_request *r = arg;
    const struct config *cfg = r->srv->cfg;
    struct record_ids *ids = NULL;
    struct history h = {0};
    r->history_op = NULL;
    r->history_ms = monotonic_ms();
    if (!reply)
        degrade(r, redis_failure(error));
    if (reply && reply->type == REDIS_REPLY_STRING) {
        if (!(ids = record_ids_new()))
            degrade(r, FAILURE_OUT_OF_MEMORY);
        else if (history_parse(&h, reply->str, reply->len, ids) < 0)
            log_msg(LOG_WARN, "history of %s is malformed (or memory ran out): not used",
                    r->p.patron);
    }
    if (h.n) {
        size_t *recent = calloc(h.n, sizeof *recent);
        r->borrowed = calloc(h.n, sizeof *r->borrowed);
        r->recent = calloc(h.n, sizeof *r->recent);
        for (size_t i = 0; recent && r->borrowed && r->recent && i < h.n; i++) {
            if (!(r->borrowed[r->nborrowed] = strdup(record_ids_get(ids, h.e[i].record))))
                break;
            r->nborrowed++;
        }
        if (r->nborrowed < h.n)
            degrade(r, FAILURE_OUT_OF_MEMORY);
        /* borrowed[i] is h.e[i]'s title: the blend's titles point into it. */
        size_t n = r->nborrowed == h.n ? history_recent(&h, record_ids_find(ids, r->p.record),
                                                        (size_t)cfg->history_titles, recent) : 0;
        for (size_t i = 0; i < n; i++)
            r->recent[r->nrecent++] = r->borrowed[recent[i]];
        free(recent);
    }
    history_free(&h);
    record_ids_free(ids);
    if (r->nrecent && (!(r->recent_nb = calloc(r->nrecent, sizeof *r->recent_nb)) ||
                       !(r->recent_reads = calloc(r->nrecent, sizeof *r->recent_reads)) ||
                       !(r->recent_ctx = calloc(r->nrecent, sizeof *r->recent_ctx)))) {
        degrade(r, FAILURE_OUT_OF_MEMORY);
        r->nrecent = 0;
    }
    if (r->nrecent == 0) {
        r->history_settled = 1;
        phase1_advance(r);
        return;
    }
    /* Every read is counted before any can call back (a cached one
     * settles at once). */
    r->recent_pending = r->nrecent + 1;
    for (size_t i = 0; i < r->nrecent; i++) {
        struct neighbours *nb = model_cached(r->srv->model, r->recent[i]);
        if (nb) {
            recent_in(r, i, nb);
            continue;
        }
        r->recent_ctx[i] = (struct recent_ctx){r, i};
        if (!(r->recent_reads[i] = model_read(r->srv->model, r->recent[i],
                                              recent_neighbours_in, &r->recent_ctx[i])))
            recent_in(r, i, NULL);
    }
    recent_in(r, SIZE_MAX, NULL);
}

static void recent_neighbours_in(struct neighbours *nb, enum failure error, void *arg)
{
    struct recent_ctx *rc = arg;
    (void)error;        /* without them the answer is still right, only less personal */
    recent_in(rc->r, rc->i, nb);
}

/* One of the patron's recent titles has its neighbours (or not; i is
 * SIZE_MAX for the count history_in holds while it starts them). */
static void recent_in(struct alt_request *r, size_t i, struct neighbours *nb)
{
    if (i != SIZE_MAX) {
        r->recent_reads[i] = NULL;
        r->recent_nb[i] = nb;
    }
    if (--r->recent_pending == 0) {
        r->history_settled = 1;
        phase1_advance(r);
    }
}

/* Something of phase 1 came in: the wanted title (404 at once when the
 * catalogue does not have it), or the model's part (neighbours, totals,
 * the patron's history), which scores the candidates and starts their
 * first round without waiting for the title. With both in (and that
 * round back), phase 2 goes on. */
static void phase1_advance(struct alt_request *r)
{
    if (r->title_settled && r->title_status == LOOKUP_NOT_FOUND) {
        http_reply_json(r->req, 404, json_pack("{s:s, s:s, s:s}", "error",
                                               "no such record in this catalogue",
                                               "field", "record", "record", r->p.record));
        alt_request_free(r);
        return;
    }
    int model_in = r->cooc_settled && r->totals_settled && r->history_settled;
    if (model_in && !r->scored) {
        r->scored = 1;
        score_now(r);
        if (!r->title_settled && r->ncooc && r->p.limit && reason_used(r, REASON_ALSO_BORROWED) &&
            lookup_round(r, r->ncooc, (size_t)r->p.limit) < 0)
            r->candidates_failed = 1;
    }
    if (!r->title_settled || !model_in)
        return;
    if (r->title_status == LOOKUP_FAILED) {
        catalogue_lookup_cancel(r->cands_lookup);
        r->cands_lookup = NULL;
        degrade(r, r->title_error);
        log_and_answer(r);      /* the catalogue is failing: no candidates either */
        return;
    }
    if (r->cands_lookup)
        return;                 /* candidates_looked_up goes on */
    next_candidates(r);
}

/* The candidates, once the wanted title's neighbours, the totals (and
 * the patron's recent titles' neighbours) are in: the wanted title counts
 * 1, the patron's most recent title 1/2, the one before 1/3, and so on.
 * Without the neighbours or the totals (whose patron count every measure
 * needs) there are none from the model. */
static void score_now(struct alt_request *r)
{
    const struct config *cfg = r->srv->cfg;
    struct neighbours *nb = r->nb;
    const struct model_totals *t = r->totals;
    r->ncooc = 0;
    if (!nb || !t)
        return;
    struct neighbours **nbs = malloc((1 + r->nrecent) * sizeof *nbs);
    double *weight = malloc((1 + r->nrecent) * sizeof *weight);
    size_t n = 0;
    if (nbs && weight) {
        nbs[n] = nb;
        weight[n++] = 1;
        for (size_t i = 0; i < r->nrecent; i++) {
            if (r->recent_nb[i]) {
                nbs[n] = r->recent_nb[i];
                weight[n++] = score_recent_weight(i);
            }
        }
    }
    size_t nhere;
    const struct neighbour *here = model_totals_at_branch(t, r->p.branch, &nhere);
    if (!nbs || !weight ||
        score_candidates(nbs, weight, n, r->scoring, here, nhere,
                         t->popular, t->npopular, t->patrons,
                         (const char *const *)r->borrowed, r->nborrowed,
                         (size_t)cfg->max_candidates, &r->cands, &r->ncands) < 0)
        degrade(r, FAILURE_OUT_OF_MEMORY);
    free(nbs);
    free(weight);
    while (r->ncooc < r->ncands && r->cands[r->ncooc].reason == REASON_ALSO_BORROWED)
        r->ncooc++;
}

/* ---- 2. candidates, until enough are on the shelf -------------------------- */

/* The reasons, one after another in the catalogue's order, until enough
 * candidates are on the shelf: co-occurring titles in rounds of one
 * search (at most the catalogue's batch_max ids, fewer when few
 * alternatives are missing), the wanted title's author, its subject
 * headings one by one (the next only while candidates are missing),
 * popular titles in rounds. Usually a round or two of co-occurring titles
 * do, so the catalogue is asked for a few of them, not max_candidates; an
 * author or subject search fetches up to the catalogue's
 * search_max_records, all of them ranked (rank_found). */
static void next_candidates(struct alt_request *r)
{
    const struct catalogue_config *cc = &r->srv->cfg->catalogues[r->cat_index];
    size_t missing;
    r->phase = PHASE_CANDIDATES;
    while (!r->candidates_failed && (missing = candidates_missing(r)) && r->step < cc->norder) {
        if (gather(r, cc->order[r->step], missing))
            return;             /* its callback goes on */
        r->step++;
    }
    if (r->candidates_failed)
        degrade(r, FAILURE_ALTERNATIVES_INCOMPLETE);
    log_and_answer(r);
}

/* The next part of one reason's candidates: 1 when it is on its way (a
 * lookup round or a search), 0 when the reason has no more. */
static int gather(struct alt_request *r, enum reason why, size_t missing)
{
    const struct catalogue_config *cc = &r->srv->cfg->catalogues[r->cat_index];
    const char *term = NULL;
    switch (why) {
    case REASON_ALSO_BORROWED:
        return r->cands_asked < r->ncooc && lookup_round(r, r->ncooc, missing) == 0;
    case REASON_POPULAR:
        if (r->cands_asked < r->ncooc)
            r->cands_asked = r->ncooc;      /* also_borrowed is not in the order */
        return r->cands_asked < r->ncands && lookup_round(r, r->ncands, missing) == 0;
    case REASON_SAME_AUTHOR:
    case REASON_SAME_SUBJECT:
        term = why == REASON_SAME_AUTHOR                ? r->bib->author
               : r->subject_at < r->bib->nsubjects ? r->bib->subjects[r->subject_at]
                                                   : NULL;
        break;
    case NREASONS:
        break;
    }
    if (r->no_searches || !term)
        return 0;
    int by_author = why == REASON_SAME_AUTHOR;
    r->search = catalogue_search_start(r->cat, by_author ? SEARCH_AUTHOR : SEARCH_SUBJECT, term,
                                       (size_t)cc->search_max_records,
                                       by_author ? 0 : (size_t)cc->subject_max_hits, QUEUE_AHEAD,
                                       search_found, r);
    if (!r->search)
        degrade(r, FAILURE_ALTERNATIVES_INCOMPLETE);
    else if (!by_author && r->subject_at == 0)
        search_ahead(r);    /* after the first: it goes first */
    return r->search != NULL;
}

/* The wanted title's later subject headings are searched at once, beside
 * the first: when the first gives too little, the search for the next
 * one joins its search in flight, or finds its answer in the catalogue's
 * cache (cache_ms), so trying the headings in turn costs one round trip,
 * not three. Their answers are only for that; a failure costs nothing
 * here (the search in turn will say). */
static void search_ahead(struct alt_request *r)
{
    const struct catalogue_config *cc = &r->srv->cfg->catalogues[r->cat_index];
    for (size_t i = 1; i < r->bib->nsubjects; i++)
        r->ahead[i] = catalogue_search_start(r->cat, SEARCH_SUBJECT, r->bib->subjects[i],
                                             (size_t)cc->search_max_records,
                                             (size_t)cc->subject_max_hits, QUEUE_AHEAD,
                                             searched_ahead, &r->ahead[i]);
}

static void searched_ahead(struct bib *const *bibs, size_t n, enum failure error, void *arg)
{
    (void)bibs;
    (void)n;
    (void)error;
    *(struct catalogue_search **)arg = NULL;   /* its handle is freed after this */
}

/* Is why in the catalogue's order? */
static int reason_used(const struct alt_request *r, enum reason why)
{
    const struct catalogue_config *cc = &r->srv->cfg->catalogues[r->cat_index];
    return reason_group(1u << why, cc->order, cc->norder) < cc->norder;
}

/* A candidate's record if it fits the wanted title's segment (format,
 * audience, language: those the catalogue's fit names, segment.h), else
 * NULL: a title for another reader is not an alternative, as if it were
 * not in the catalogue. */
static struct bib *fitting(const struct alt_request *r, struct bib *b)
{
    unsigned fit = r->srv->cfg->catalogues[r->cat_index].fit;
    return b && r->bib && !segment_fits(&r->bib->segment, &b->segment, fit) ? NULL : b;
}

/* Every candidate known so far with its record (NULL: not looked up, not
 * in the catalogue, or not fitting): the co-occurring and popular ones and
 * those the fallback searches found; a popular one also found by a search
 * counts once, with the better reason. Arrays are malloc'd (caller frees
 * both); 0 with both NULL when out of memory. */
static size_t candidates_view(const struct alt_request *r, struct candidate **cands,
                              struct bib ***bibs)
{
    size_t n = 0;
    *cands = malloc((r->ncands + r->nfound + 1) * sizeof **cands);
    *bibs = malloc((r->ncands + r->nfound + 1) * sizeof **bibs);
    if (!*cands || !*bibs) {
        free(*cands);
        free(*bibs);
        *cands = NULL;
        *bibs = NULL;
        return 0;
    }
    for (size_t i = 0; i < r->ncands; i++) {
        if (r->cands[i].reason == REASON_POPULAR &&
            candidates_find(r->found, r->nfound, r->cands[i].record) >= 0)
            continue;
        (*cands)[n] = r->cands[i];
        (*bibs)[n++] = r->cand_bibs ? fitting(r, r->cand_bibs[i]) : NULL;
    }
    for (size_t i = 0; i < r->nfound; i++) {
        (*cands)[n] = r->found[i];
        (*bibs)[n++] = fitting(r, r->found_bibs[i]);
    }
    return n;
}

/* Reasons are gathered in their order; once `limit` candidates of the
 * reasons gathered so far can be shown first (on the shelf, at the
 * patron's branch when one is given), no later one could enter the
 * answer: it is what looking at all of them would give. Returns how many
 * are still missing (0: enough). */
static size_t candidates_missing(const struct alt_request *r)
{
    const struct catalogue_config *cc = &r->srv->cfg->catalogues[r->cat_index];
    struct candidate *view;
    struct bib **bibs;
    size_t n = candidates_view(r, &view, &bibs), available = 0;
    for (size_t i = 0; i < n; i++)
        available += bibs[i] && bib_available(bibs[i], r->p.branch) &&
                     reason_group(view[i].found_by, cc->order, cc->norder) <= r->step;
    free(view);
    free(bibs);
    return available >= (size_t)r->p.limit ? 0 : (size_t)r->p.limit - available;
}

/* One round: the next candidates up to end, in one lookup: ROUND_PER_MISSING
 * for each of the `missing` alternatives, at most batch_max. */
static int lookup_round(struct alt_request *r, size_t end, size_t missing)
{
    size_t n = (size_t)r->srv->cfg->catalogues[r->cat_index].batch_max;
    if (n > missing * ROUND_PER_MISSING)
        n = missing * ROUND_PER_MISSING;
    if (n > end - r->cands_asked)
        n = end - r->cands_asked;
    const char **ids = calloc(n, sizeof *ids);
    if (!ids || cand_bibs_ready(r) < 0) {
        free(ids);
        r->candidates_failed = 1;
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        ids[i] = r->cands[r->cands_asked + i].record;
    /* The first round waits its turn with the title; the rest carry on a
     * request already begun (catalogue.h). */
    enum queue_place place = r->cands_asked ? QUEUE_AHEAD : QUEUE_IN_TURN;
    r->cands_asked += n;
    r->cands_lookup = catalogue_lookup_start(r->cat, ids, n, place, candidates_looked_up, r);
    free(ids);
    if (!r->cands_lookup)
        r->candidates_failed = 1;
    return r->cands_lookup ? 0 : -1;
}

/* cand_bibs, parallel to cands, made when first needed. */
static int cand_bibs_ready(struct alt_request *r)
{
    if (!r->cand_bibs && r->ncands)
        r->cand_bibs = calloc(r->ncands, sizeof *r->cand_bibs);
    return r->cand_bibs || !r->ncands ? 0 : -1;
}

static void candidates_looked_up(const struct lookup_result *res, size_t n, void *arg)
{
    struct alt_request *r = arg;
    r->cands_lookup = NULL;
    size_t first = r->cands_asked - n;
    for (size_t i = 0; i < n; i++) {
        if (res[i].status == LOOKUP_FOUND && !r->cand_bibs[first + i])    /* else a search's */
            r->cand_bibs[first + i] = bib_ref(res[i].bib);
        else if (res[i].status == LOOKUP_FAILED)
            r->candidates_failed = 1;
    }
    if (r->phase == PHASE_LOOKUP)
        phase1_advance(r);      /* the first round, started before the title came */
    else
        next_candidates(r);
}

static int borrowed_before(const struct alt_request *r, const char *record)
{
    for (size_t i = 0; i < r->nborrowed; i++)
        if (strcmp(r->borrowed[i], record) == 0)
            return 1;
    return 0;
}

/* The author's or subject's titles: candidates unless the patron borrowed
 * them. A co-occurring title found again keeps its reason (its
 * explanation says more) and is found for this one too: it goes with the
 * first of the two in the order, and its record is known now; unless the
 * order has no also_borrowed, when it is this reason's like any other. */
static void search_found(struct bib *const *bibs, size_t n, enum failure error, void *arg)
{
    struct alt_request *r = arg;
    r->search = NULL;
    if (error)
        r->candidates_failed = 1;
    enum reason why = r->srv->cfg->catalogues[r->cat_index].order[r->step];
    for (size_t i = 0; i < n; i++) {
        long known = candidates_find(r->cands, r->ncands, bibs[i]->id);
        if (borrowed_before(r, bibs[i]->id))
            continue;
        if (known >= 0 && r->cands[known].reason == REASON_ALSO_BORROWED &&
            reason_used(r, REASON_ALSO_BORROWED)) {
            r->cands[known].found_by |= 1u << why;
            if (cand_bibs_ready(r) < 0) {
                degrade(r, FAILURE_ALTERNATIVES_INCOMPLETE);
                break;
            }
            if (!r->cand_bibs[known])
                r->cand_bibs[known] = bib_ref(bibs[i]);
            continue;
        }
        size_t before = r->nfound;
        struct bib **grown = realloc(r->found_bibs, (before + 1) * sizeof *grown);
        if (!grown || (r->found_bibs = grown,
                       candidates_add(&r->found, &r->nfound, r->p.record, bibs[i]->id, 0, why) < 0)) {
            degrade(r, FAILURE_ALTERNATIVES_INCOMPLETE);
            break;
        }
        if (r->nfound > before) {
            r->found_bibs[before] = bib_ref(bibs[i]);
            r->found[before].subject = r->subject_at;
        }
    }
    rank_found(r);
}

/* The titles a search found, most borrowed first (recommend.h: their
 * score is the share of patrons who borrowed them, as a popular title's):
 * the catalogue's order says nothing of which of an author's or a
 * subject's titles readers want. One ZMSCORE; without the totals (whose
 * patron count the share needs), or when it fails, they stay in the
 * catalogue's order, with score 0. Then the next reason. */
static void rank_found(struct alt_request *r)
{
    size_t n = r->nfound - r->ranked;
    const char **ids = n && r->totals && r->totals->patrons ? malloc(n * sizeof *ids) : NULL;
    for (size_t i = 0; ids && i < n; i++)
        ids[i] = r->found[r->ranked + i].record;
    if (ids)
        r->found_op = model_borrowers_read(r->srv->model, ids, n, found_ranked, r);
    free(ids);
    if (!r->found_op)
        search_done(r);
}

static void found_ranked(redisReply *reply, enum failure error, void *arg)
{
    struct alt_request *r = arg;
    size_t n = r->nfound - r->ranked;
    uint32_t *borrowers = calloc(n, sizeof *borrowers);
    r->found_op = NULL;
    if (reply && borrowers &&
        model_borrowers_parse(reply, n, (uint32_t)r->srv->cfg->min_patrons, borrowers) == 0) {
        for (size_t i = 0; i < n; i++)
            r->found[r->ranked + i].score = (double)borrowers[i] / (double)r->totals->patrons;
    } else {
        log_msg(LOG_WARN, "titles found for %s left in the catalogue's order: %s", r->p.record,
                !borrowers ? "out of memory" : reply ? "unexpected reply" : failure_name(error));
    }
    free(borrowers);
    search_done(r);
}

/* A search's titles are in: for same_subject, the wanted title's next
 * subject heading while candidates are still missing (gather says when
 * none is left: next_candidates then goes on); else the next reason. */
static void search_done(struct alt_request *r)
{
    r->ranked = r->nfound;
    if (r->srv->cfg->catalogues[r->cat_index].order[r->step] == REASON_SAME_SUBJECT)
        r->subject_at++;
    else
        r->step++;
    next_candidates(r);
}

/* request_timeout_ms has passed: answer with what is known. */
static void deadline_passed(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct alt_request *r = arg;
    log_msg(LOG_WARN, "request for %s answered at its deadline (%d ms) in phase %d",
            r->p.record, r->srv->cfg->request_timeout_ms, (int)r->phase);
    switch (r->phase) {
    case PHASE_LOOKUP:
        /* (a title not found was answered when it came) */
        if (!r->title_settled)
            degrade(r, FAILURE_CATALOGUE_TIMEOUT);
        else if (r->title_status == LOOKUP_FAILED)
            degrade(r, r->title_error);
        else if (r->cands_lookup)
            degrade(r, FAILURE_ALTERNATIVES_TIMEOUT);     /* the first round is still out */
        if (!r->cooc_settled || !r->totals_settled || !r->history_settled)
            degrade(r, FAILURE_REDIS_TIMEOUT);
        break;
    case PHASE_CANDIDATES:
        /* Rounds that finished were checked in the catalogue and stay;
         * the round in flight has set nothing yet. */
        degrade(r, FAILURE_ALTERNATIVES_TIMEOUT);
        break;
    case PHASE_LOG:
        degrade(r, FAILURE_TOUCHPOINT_NOT_LOGGED);
        send_answer(r, NULL, 0, NULL);
        return;
    case PHASE_DONE:
        return;
    }
    /* no waiting for the touchpoint's write either: the answer goes now */
    degrade(r, FAILURE_TOUCHPOINT_NOT_LOGGED);
    r->phase = PHASE_LOG;
    if (!(r->ans = make_answer(r))) {
        alt_request_unavailable(r);
        return;
    }
    send_answer(r, NULL, 0, NULL);
}

/* ---- 3. the answer, its touchpoint, the reply -------------------------------- */

static void keep_until(uint64_t *expires_ms, uint64_t fetched_ms, uint64_t fresh_ms)
{
    if (fetched_ms + fresh_ms < *expires_ms)
        *expires_ms = fetched_ms + fresh_ms;
}

/* Until when an answer may be kept: while every fact it was built from
 * is fresh, that is until the earliest of them reaches the age its cache
 * may serve it at: the catalogue records shown (the wanted title's and the
 * alternatives'), the model's reads and, with patron=, the patron's
 * history and their recent titles' neighbours; a recent title whose
 * neighbours could not be read makes an answer less personal than it
 * should be, which is not kept at all. 0: not to be kept. */
static uint64_t answer_expiry(const struct alt_request *r, const struct alternative *chosen,
                              size_t n)
{
    const struct config *cfg = r->srv->cfg;
    uint64_t model_ms = (uint64_t)cfg->model_cache_ms;
    uint64_t catalogue_ms = (uint64_t)cfg->catalogues[r->cat_index].cache_ms;
    if (!r->bib)
        return 0;
    uint64_t expires = r->bib->fetched_ms + catalogue_ms;
    for (size_t i = 0; i < n; i++)
        keep_until(&expires, chosen[i].bib->fetched_ms, catalogue_ms);
    if (r->nb)
        keep_until(&expires, r->nb->fetched_ms, model_ms);
    if (r->totals)
        keep_until(&expires, r->totals->fetched_ms, model_ms);
    if (r->p.patron[0])
        keep_until(&expires, r->history_ms, model_ms);
    for (size_t i = 0; i < r->nrecent; i++) {
        if (!r->recent_nb[i])
            return 0;
        keep_until(&expires, r->recent_nb[i]->fetched_ms, model_ms);
    }
    return expires;
}

/* The alternatives chosen from every candidate looked up, and the answer
 * built with them. NULL when out of memory. */
static struct answer *make_answer(struct alt_request *r)
{
    struct alternative *chosen = calloc((size_t)r->p.limit + 1, sizeof *chosen);
    struct candidate *view = NULL;
    struct bib **view_bibs = NULL;
    size_t nview = chosen && r->bib ? candidates_view(r, &view, &view_bibs) : 0;
    const struct catalogue_config *cc = &r->srv->cfg->catalogues[r->cat_index];
    size_t nchosen = nview ? recommend_select(view, view_bibs, nview, cc->order, cc->norder,
                                              r->p.branch, (size_t)r->p.limit, chosen) : 0;
    struct answer_facts facts = {
        .record = r->p.record, .catalogue = r->srv->cfg->catalogues[r->cat_index].name,
        .branch = r->p.branch, .lang = r->p.lang, .bib = r->bib,
        .branch_name = r->p.branch ? config_branch_name(r->srv->cfg, r->p.branch) : NULL,
        .chosen = chosen, .nchosen = nchosen, .link = r->link,
        .borrowers = r->nb ? r->nb->borrowers : 0,
        .min_patrons = (unsigned long)r->srv->cfg->min_patrons,
        .queue = r->nb ? (long)r->nb->queue : -1,
        .loan_period_days = r->srv->cfg->catalogues[r->cat_index].loan_period_days,
        .today = config_date_days(server_date(r->srv)),
        .experiment = r->experiment ? r->experiment->name : NULL,
        .arm = r->arm ? r->arm->name : NULL,
    };
    int repaired = r->bib && r->bib->text_repaired;
    for (size_t i = 0; i < nchosen; i++)
        repaired |= chosen[i].bib->text_repaired;
    if (repaired)
        degrade(r, FAILURE_CATALOGUE_TEXT_REPAIRED);
    struct answer *ans = chosen && (!r->bib || !r->ncands || nview) ? answer_build(&facts) : NULL;
    if (ans)
        ans->expires_ms = answer_expiry(r, chosen, nchosen);
    free(chosen);
    free(view);
    free(view_bibs);
    return ans;
}

/* A patron's answer is kept only while every forget is heard, and only if
 * none came since their history was asked for: it may have been read
 * before that patron was forgotten (forget_feed.h). */
static int patron_answer_keepable(const struct alt_request *r)
{
    return !r->p.patron[0] ||
           (server_keeps_patron_answers(r->srv) && r->srv->forgets == r->forgets);
}

static void remembered(redisReply *reply, enum failure error, void *arg)
{
    (void)arg;
    if (!reply || reply->type == REDIS_REPLY_ERROR)
        log_msg(LOG_WARN, "a touchpoint's patron not remembered for attribution: %s",
                reply ? reply->str : failure_name(error));
}

/* With patron=, the touchpoint is remembered for attribution (its reply
 * is not waited for), unless a forget was heard since the request came:
 * it may have been this patron's, whose at: must stay gone. */
static void remember_patron(struct alt_request *r, const struct touchpoint *tp)
{
    if (!r->p.patron[0] || r->srv->forgets != r->forgets)
        return;
    touchpoint_batch_flush(r->srv->touchpoints);    /* the touchpoint first: it numbers the cell */
    struct rcmd cmd = {0};
    if (touchpoint_log_remember(r->srv->cfg, r->p.patron, tp, &cmd) < 0 ||
        !redis_exec(r->srv->redis, &cmd, 1, remembered, NULL))
        log_msg(LOG_WARN, "a touchpoint's patron not remembered for attribution: %s",
                failure_name(FAILURE_OUT_OF_MEMORY));
    rcmd_free(&cmd);
}

/* The answer (built now, unless kept from before) is logged as a
 * touchpoint with an id of its own: its write (counted in its rollup cell
 * too) goes with the others of this pass of the loop to the spool
 * (touchpoint_batch.h), which sends them or keeps them while Redis is
 * away (spool.h). The answer goes at once, with the id and its token; a
 * spool that is full makes it touchpoint_not_logged, without either. */
static void log_and_answer(struct alt_request *r)
{
    const struct config *cfg = r->srv->cfg;
    r->phase = PHASE_LOG;
    if (!r->ans) {
        if (!(r->ans = make_answer(r))) {
            alt_request_unavailable(r);
            return;
        }
        if (!r->degraded && strcmp(r->ans->status, "unknown") != 0 && patron_answer_keepable(r))
            kept_answers_put(kept_answers(r), r->answer_key, r->ans);
    }
    char id[TOUCHPOINT_ID_MAX_BYTES + 1], day[RU_DAY_BYTES + 1];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    memcpy(day, server_day(r->srv), sizeof day);
    const char *catalogue = cfg->catalogues[r->cat_index].name;
    const char *arm = r->arm ? r->arm->name : NULL;
    struct ru_cell cell = {catalogue, r->p.branch, r->p.channel, r->ans->status, arm};
    struct strbuf cell_name = {0};
    struct touchpoint tp = {NULL, r->p.record, catalogue, r->ans->status, r->p.branch,
                            r->p.channel, r->p.lang, r->ans->shown,
                            r->experiment ? r->experiment->name : "", arm ? arm : "", day, NULL};
    enum ru_counter counters[3] = {RU_TOUCHPOINTS};
    size_t n = 1;
    if (strcmp(r->ans->status, "on_loan") == 0)
        counters[n++] = RU_ON_LOAN;
    if (r->ans->nalternatives)
        counters[n++] = RU_WITH_ALTERNATIVES;
    uint64_t ms = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
    int kept = rollup_cell_name(&cell, &cell_name) == 0 && (tp.cell_name = cell_name.buf) &&
               touchpoint_batch_add(r->srv->touchpoints, &tp, ms, server_draw(r->srv), counters, n,
                                    id) == 0;
    tp.id = id;
    if (!kept) {
        strbuf_free(&cell_name);
        degrade(r, FAILURE_TOUCHPOINT_NOT_LOGGED);
        send_answer(r, NULL, 0, NULL);
        return;
    }
    recent_touchpoints_put(r->srv->recent_touchpoints, id, r->p.record, r->ans->shown, day,
                           cell_name.buf, monotonic_ms());
    remember_patron(r, &tp);
    strbuf_free(&cell_name);
    struct token_subject subject = {id, r->p.record, r->ans->shown};
    char token[TOKEN_MAX_BYTES + 1];
    token_make(&r->srv->token_key, &subject, (long long)now.tv_sec + cfg->token_ttl_s, token);
    send_answer(r, id, strlen(id), token);
}

static void answer_sent(void *ans)
{
    answer_unref(ans);
}

/* JSON goes as the answer's body, shared with the kept answer (not
 * copied), and this request's part after it. */
static void send_answer(struct alt_request *r, const char *touchpoint_id, size_t len,
                        const char *token)
{
    struct strbuf out = {0};
    int sent = 0;
    if (r->p.receipt ? answer_text(r->ans, touchpoint_id, len, token, r->degraded, &out) < 0
                     : answer_tail(touchpoint_id, len, token, r->degraded, &out) < 0)
        http_reply_unavailable(r->req, HTTP_NO_MEMORY);
    else if (r->p.receipt)
        sent = send_receipt(r, &out) == 0;
    else {
        http_reply_json_shared(r->req, 200, r->ans->body, r->ans->len, answer_sent,
                               answer_ref(r->ans), out.buf, out.len);
        sent = 1;
    }
    if (sent)
        http_metrics_answer(r->srv->http_metrics, r->p.channel_id, answer_status_of(r->ans->status),
                            r->experiment, r->arm, r->degraded);
    strbuf_free(&out);
    alt_request_free(r);
}

/* format=receipt: the answer, as JSON would have sent it, read back and
 * laid out for the kiosk's printer (receipt.h): the two cannot differ.
 * -1 when that failed (a 503 went instead). */
static int send_receipt(struct alt_request *r, const struct strbuf *json)
{
    json_t *answer = json_loadb(json->buf, json->len, 0, NULL);
    struct strbuf text = {0};
    int rc = 0;
    if (!answer || receipt_render(answer, r->p.lang, r->p.width, &text) < 0) {
        http_reply_unavailable(r->req, HTTP_NO_MEMORY);
        rc = -1;
    } else {
        http_reply_bytes(r->req, 200, "text/plain; charset=utf-8", text.buf, text.len);
    }
    strbuf_free(&text);
    json_decref(answer);
    return rc;
}

/* ---- the end ------------------------------------------------------------------ */

/* Out of memory building what the request needs: a 503, and the end. */
static void alt_request_unavailable(struct alt_request *r)
{
    http_reply_unavailable(r->req, HTTP_NO_MEMORY);
    alt_request_free(r);
}

/* The one place a request ends: whatever it started is cancelled, so no
 * late callback can reach it. */
static void alt_request_free(struct alt_request *r)
{
    r->phase = PHASE_DONE;
    catalogue_lookup_cancel(r->title_lookup);
    catalogue_lookup_cancel(r->cands_lookup);
    catalogue_search_cancel(r->search);
    for (size_t i = 0; i < BIB_MAX_SUBJECTS; i++)
        catalogue_search_cancel(r->ahead[i]);
    redis_op_cancel(r->found_op);
    model_read_cancel(r->cooc_read);
    model_totals_wait_cancel(r->totals_wait);
    redis_op_cancel(r->history_op);
    for (size_t i = 0; i < r->nrecent; i++) {
        model_read_cancel(r->recent_reads[i]);
        neighbours_unref(r->recent_nb[i]);
    }
    if (r->deadline)
        event_free(r->deadline);
    if (r->bib)
        bib_unref(r->bib);
    for (size_t i = 0; r->cand_bibs && i < r->ncands; i++)
        if (r->cand_bibs[i])
            bib_unref(r->cand_bibs[i]);
    free(r->cand_bibs);
    for (size_t i = 0; i < r->nfound; i++)
        bib_unref(r->found_bibs[i]);
    free(r->found_bibs);
    candidates_free(r->found, r->nfound);
    neighbours_unref(r->nb);
    model_totals_unref(r->totals);
    candidates_free(r->cands, r->ncands);
    free(r->recent_reads);
    free(r->recent_ctx);
    free(r->recent_nb);
    free(r->recent);
    for (size_t i = 0; i < r->nborrowed; i++)
        free(r->borrowed[i]);
    free(r->borrowed);
    answer_unref(r->ans);
    free(r->answer_key);
    params_free(&r->p);
    server_release(r->srv);
    free(r);
}
