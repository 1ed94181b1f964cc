/* alternatives.c: the on-loan moment; see alternatives.h.
 *
 *   1. at once, in parallel: the wanted record from the catalogue, its
 *      co-occurring titles from Redis and the model's totals (patrons and
 *      popular titles: one read for the whole daemon, see model.h); with patron=,
 *      also the patron's history and the neighbours of their most recent
 *      titles (model.history_titles), blended in as score.h says, and
 *      every title they borrowed left out;
 *   2. the candidates, best first, until enough are on the shelf now:
 *      co-occurring titles looked up in rounds (one batched search each),
 *      then the catalogue searched by the wanted title's author and its
 *      subject, then popular titles in rounds. The first round starts as
 *      soon as the model's part of phase 1 is in, while the wanted title
 *      may still be on its way: the two searches run at once. An unknown
 *      title is a 404 as soon as the catalogue says so;
 *   3. the touchpoint into its Redis stream; its id goes in the answer.
 * A deadline (request_timeout_ms) answers with whatever is known then. */
#include "http/alternatives.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "http/kept_answers.h"
#include "http/messages.h"
#include "http/params.h"
#include "http/reply.h"
#include "http/touchpoint.h"
#include "ingest/history.h"
#include "model/recommend.h"
#include "model/score.h"
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

    /* phase 1 */
    struct catalogue_lookup *title_lookup;
    struct model_read *cooc_read;
    struct model_totals_wait *totals_wait;
    int title_settled, cooc_settled, totals_settled;
    int scored;                     /* the model's part is in and cands are scored */
    enum lookup_status title_status;
    struct bib *bib;                /* one reference, when found */
    const char *title_error;

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
    enum fallback { FALLBACK_AUTHOR, FALLBACK_SUBJECT, FALLBACK_DONE } fallback;
    struct catalogue_search *search;
    struct candidate *found;        /* from the fallback searches; owned */
    struct bib **found_bibs;        /* parallel to found; references */
    size_t nfound;
    int candidates_failed;          /* a lookup or search failed: stop asking */

    /* phase 3 */
    struct redis_op *log_op;
    struct answer *ans;             /* one reference: built, or kept from before */
    char *answer_key;               /* this request's key in kept_answers(r) */
    json_t *degraded;               /* array of strings */
};

static void degrade(struct alt_request *r, const char *why)
{
    size_t i;
    json_t *v;
    json_array_foreach(r->degraded, i, v)
        if (strcmp(json_string_value(v), why) == 0)
            return;
    json_array_append_new(r->degraded, json_string(why));
}

/* The degraded reason for a failed Redis read or write: a timeout and our
 * own out of memory are said as such, everything else is Redis failing. */
static const char *store_failure(const char *error)
{
    if (error && (strcmp(error, "redis_timeout") == 0 || strcmp(error, "out_of_memory") == 0))
        return error;
    return "redis_unavailable";
}

/* The one place a request ends. */
static void alt_request_free(struct alt_request *r)
{
    r->phase = PHASE_DONE;
    catalogue_lookup_cancel(r->title_lookup);
    catalogue_lookup_cancel(r->cands_lookup);
    model_read_cancel(r->cooc_read);
    model_totals_wait_cancel(r->totals_wait);
    redis_op_cancel(r->log_op);
    if (r->deadline)
        event_free(r->deadline);
    if (r->bib)
        bib_unref(r->bib);
    for (size_t i = 0; r->cand_bibs && i < r->ncands; i++)
        if (r->cand_bibs[i])
            bib_unref(r->cand_bibs[i]);
    free(r->cand_bibs);
    catalogue_search_cancel(r->search);
    for (size_t i = 0; i < r->nfound; i++)
        bib_unref(r->found_bibs[i]);
    free(r->found_bibs);
    candidates_free(r->found, r->nfound);
    neighbours_unref(r->nb);
    model_totals_unref(r->totals);
    candidates_free(r->cands, r->ncands);
    redis_op_cancel(r->history_op);
    for (size_t i = 0; i < r->nrecent; i++) {
        model_read_cancel(r->recent_reads[i]);
        neighbours_unref(r->recent_nb[i]);
    }
    free(r->recent_reads);
    free(r->recent_ctx);
    free(r->recent_nb);
    free(r->recent);
    for (size_t i = 0; i < r->nborrowed; i++)
        free(r->borrowed[i]);
    free(r->borrowed);
    answer_unref(r->ans);
    free(r->answer_key);
    json_decref(r->degraded);
    params_free(&r->p);
    r->srv->pending_requests--;
    free(r);
}

static void alt_request_finish(struct alt_request *r, int code, json_t *body)
{
    http_reply_json(r->req, code, body);
    alt_request_free(r);
}

static json_t *url_json(const struct link *l, const char *record,
                        int (*make)(const struct link *, const char *, struct strbuf *))
{
    struct strbuf u = {0};
    json_t *v = make(l, record, &u) == 0 ? json_stringn(u.buf, u.len) : json_null();
    strbuf_free(&u);
    return v;
}

static json_t *copies_json(const struct bib *b)
{
    json_t *a = json_array();
    for (size_t i = 0; i < b->ncopies; i++) {
        const struct copy *c = &b->copies[i];
        json_array_append_new(a, json_pack("{s:s, s:s?, s:s?, s:s, s:s?}", "branch", c->branch,
                                           "call_number", c->call_number, "location", c->location,
                                           "status", copy_status_name(c->status),
                                           "due", c->due[0] ? c->due : NULL));
    }
    return a;
}

/* The copies on the shelf now, those at the patron's branch (NULL: none
 * given) first, each group in catalogue order: the first is where to go. */
static json_t *available_at_json(const struct bib *b, const char *branch)
{
    json_t *a = json_array();
    for (int here = branch != NULL; here >= 0; here--)
        for (size_t i = 0; i < b->ncopies; i++) {
            const struct copy *c = &b->copies[i];
            int at_branch = branch && strcmp(c->branch, branch) == 0;
            if (c->status == COPY_AVAILABLE && at_branch == here)
                json_array_append_new(a, json_pack("{s:s, s:s?, s:s?}", "branch", c->branch,
                                                   "call_number", c->call_number,
                                                   "location", c->location));
        }
    return a;
}

/* Every candidate known so far with its record (NULL: not looked up or
 * not in the catalogue): the co-occurring and popular ones and those the
 * fallback searches found; a popular one also found by a search counts
 * once, with the better reason. Arrays are malloc'd (caller frees both). */
static size_t candidates_view(const struct alt_request *r, struct candidate **cands,
                              struct bib ***bibs)
{
    size_t n = 0;
    *cands = malloc((r->ncands + r->nfound + 1) * sizeof **cands);
    *bibs = malloc((r->ncands + r->nfound + 1) * sizeof **bibs);
    if (!*cands || !*bibs)
        return 0;
    for (size_t i = 0; i < r->ncands; i++) {
        if (r->cands[i].reason == REASON_POPULAR &&
            candidates_find(r->found, r->nfound, r->cands[i].record) >= 0)
            continue;
        (*cands)[n] = r->cands[i];
        (*bibs)[n++] = r->cand_bibs ? r->cand_bibs[i] : NULL;
    }
    for (size_t i = 0; i < r->nfound; i++) {
        (*cands)[n] = r->found[i];
        (*bibs)[n++] = r->found_bibs[i];
    }
    return n;
}

static void keep_until(uint64_t *expires_ms, uint64_t fetched_ms, uint64_t fresh_ms)
{
    if (fetched_ms + fresh_ms < *expires_ms)
        *expires_ms = fetched_ms + fresh_ms;
}

/* Until when an answer may be kept: while every fact it was built from
 * is fresh, that is until the earliest of them reaches the age its cache
 * may serve it at. oldest_bib is the oldest catalogue record shown
 * (UINT64_MAX: none, and nothing to keep). With patron=, the patron's
 * history and their recent titles' neighbours count like the wanted
 * title's; a recent title whose neighbours could not be read makes an
 * answer less personal than it should be, which is not kept at all. */
static uint64_t answer_expiry(const struct alt_request *r, uint64_t oldest_bib)
{
    const struct config *cfg = r->srv->cfg;
    uint64_t model_ms = (uint64_t)cfg->model_cache_ms;
    if (oldest_bib == UINT64_MAX)
        return 0;
    uint64_t expires = oldest_bib + (uint64_t)cfg->catalogues[r->cat_index].cache_ms;
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

/* The answer but for its touchpoint id and degraded list, serialised.
 * Returns a new reference, or NULL when out of memory. */
static struct answer *make_answer(struct alt_request *r)
{
    const struct catalogue_config *cc = &r->srv->cfg->catalogues[r->cat_index];
    const char *status = "unknown";
    const char *expected = NULL;
    uint64_t oldest = UINT64_MAX;
    if (r->bib) {
        status = bib_available(r->bib, NULL) ? "available" : "on_loan";
        expected = bib_expected_back(r->bib);
        oldest = r->bib->fetched_ms;
    }
    struct answer *ans = calloc(1, sizeof *ans);
    struct alternative *chosen = calloc((size_t)r->p.limit, sizeof *chosen);
    if (!ans || !chosen || !(ans->status = strdup(status))) {
        free(ans);
        free(chosen);
        return NULL;
    }
    ans->refs = 1;
    json_t *alts = json_array();
    struct candidate *view = NULL;
    struct bib **view_bibs = NULL;
    size_t nview = r->bib ? candidates_view(r, &view, &view_bibs) : 0;
    if (nview) {
        ans->nalternatives = recommend_select(view, view_bibs, nview, r->p.branch,
                                              (size_t)r->p.limit, chosen);
        ans->alternatives = calloc(ans->nalternatives + 1, sizeof *ans->alternatives);
        for (size_t i = 0; ans->alternatives && i < ans->nalternatives; i++) {
            const struct bib *b = chosen[i].bib;
            if (b->fetched_ms < oldest)
                oldest = b->fetched_ms;
            ans->alternatives[i] = strdup(b->id);
            json_array_append_new(alts, json_pack(
                "{s:s, s:s, s:s?, s:s?, s:f, s:s, s:b, s:o, s:o}", "record", b->id,
                "title", b->title, "author", b->author, "year", b->year,
                "score", chosen[i].score, "reason", reason_name(chosen[i].reason),
                "at_branch", chosen[i].at_branch, "available_at", available_at_json(b, r->p.branch),
                "url", url_json(r->link, b->id, link_record_url)));
        }
    }
    free(chosen);
    free(view);
    free(view_bibs);
    int copies_out = 0;
    for (size_t i = 0; r->bib && i < r->bib->ncopies; i++)
        copies_out |= r->bib->copies[i].status == COPY_ON_LOAN;
    struct strbuf msg = {0};
    message_availability(&msg, r->p.lang, status, copies_out, expected,
                         ans->nalternatives > 0);
    json_t *answer = json_pack(
        "{s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:o, s:s?, s:o, s:s, s:o}",
        "record", r->p.record, "catalogue", cc->name, "status", status,
        "title", r->bib ? r->bib->title : NULL, "author", r->bib ? r->bib->author : NULL,
        "isbn", r->bib ? r->bib->isbn : NULL, "year", r->bib ? r->bib->year : NULL,
        "copies", r->bib ? copies_json(r->bib) : json_array(), "expected_back", expected,
        "reserve_url", url_json(r->link, r->p.record, link_reserve_url),
        "message", strbuf_cstr(&msg), "alternatives", alts);
    strbuf_free(&msg);
    char *text = answer ? json_dumps(answer, JSON_COMPACT | JSON_REAL_PRECISION(4)) : NULL;
    json_decref(answer);
    if (!text || (ans->nalternatives && !ans->alternatives)) {
        free(text);
        answer_unref(ans);
        return NULL;
    }
    ans->len = strlen(text) - 1;       /* without the closing brace */
    text[ans->len] = '\0';
    ans->body = text;
    ans->expires_ms = answer_expiry(r, oldest);
    return ans;
}

/* A stream id as Redis makes them ("<ms>-<seq>"): digits and one dash,
 * nothing JSON would escape. */
static int stream_id_plain(const char *id, size_t len)
{
    size_t dashes = 0;
    for (size_t i = 0; i < len; i++) {
        if (id[i] == '-')
            dashes++;
        else if (id[i] < '0' || id[i] > '9')
            return 0;
    }
    return len > 0 && dashes == 1;
}

static void send_answer(struct alt_request *r, const char *touchpoint_id, size_t len)
{
    /* The usual case, a plain stream id and nothing degraded, needs no
     * JSON encoder: "<id>" and []. */
    int plain = touchpoint_id && stream_id_plain(touchpoint_id, len);
    int degraded = json_array_size(r->degraded) > 0;
    char *tp_text = NULL, *degraded_text = NULL;
    if (!plain) {
        json_t *tp = touchpoint_id ? json_stringn(touchpoint_id, len) : json_null();
        tp_text = json_dumps(tp, JSON_ENCODE_ANY);
        json_decref(tp);
    }
    if (degraded)
        degraded_text = json_dumps(r->degraded, JSON_COMPACT);
    struct strbuf out = {0};
    int rc = (!plain && !tp_text) || (degraded && !degraded_text);
    if (!rc)
        rc = strbuf_reserve(&out, r->ans->len + len + 64) |
             strbuf_append(&out, r->ans->body, r->ans->len) |
             strbuf_puts(&out, ",\"touchpoint\":") |
             (plain ? strbuf_append(&out, "\"", 1) | strbuf_append(&out, touchpoint_id, len) |
                          strbuf_append(&out, "\"", 1)
                    : strbuf_puts(&out, tp_text)) |
             strbuf_puts(&out, ",\"degraded\":") |
             strbuf_puts(&out, degraded_text ? degraded_text : "[]") | strbuf_puts(&out, "}");
    free(tp_text);
    free(degraded_text);
    if (rc)
        http_reply_error(r->req, 503, NULL, "out of memory");
    else
        http_reply_json_text(r->req, 200, out.buf, out.len);
    strbuf_free(&out);
    alt_request_free(r);
}

static void logged(redisReply *reply, const char *error, void *arg)
{
    struct alt_request *r = arg;
    r->log_op = NULL;
    if (reply && reply->type == REDIS_REPLY_STRING) {
        send_answer(r, reply->str, reply->len);
        return;
    }
    log_msg(LOG_WARN, "touchpoint not logged: %s", error ? error : reply->str);
    degrade(r, store_failure(error));
    send_answer(r, NULL, 0);
}

/* Where this request's answer is kept: patron answers apart (server.h). */
static struct ttl_cache *kept_answers(const struct alt_request *r)
{
    return r->p.patron[0] ? r->srv->patron_answers : r->srv->answers;
}

/* A patron's answer is kept only while every forget is heard, and only if
 * none came since their history was asked for: it may have been read
 * before that patron was forgotten (forget_feed.h). */
static int patron_answer_keepable(const struct alt_request *r)
{
    return !r->p.patron[0] ||
           (server_keeps_patron_answers(r->srv) && r->srv->forgets == r->forgets);
}

/* Phase 3: the answer (built now, unless kept from before) is logged as
 * a touchpoint, then sent with the touchpoint's id. */
static void log_and_answer(struct alt_request *r)
{
    r->phase = PHASE_LOG;
    if (!r->ans) {
        if (!(r->ans = make_answer(r))) {
            alt_request_finish(r, 503, json_pack("{s:s, s:n}", "error", "out of memory", "field"));
            return;
        }
        if (json_array_size(r->degraded) == 0 && strcmp(r->ans->status, "unknown") != 0 &&
            patron_answer_keepable(r))
            kept_answers_put(kept_answers(r), r->answer_key, r->ans);
    }
    struct touchpoint tp = {r->p.record, r->srv->cfg->catalogues[r->cat_index].name,
                            r->ans->status, r->p.branch, r->p.channel, r->p.lang,
                            (const char *const *)r->ans->alternatives, r->ans->nalternatives};
    struct rcmd cmd = {0};
    if (touchpoint_command(r->srv, &tp, &cmd) < 0) {
        rcmd_free(&cmd);
        degrade(r, "touchpoint_not_logged");
        send_answer(r, NULL, 0);
        return;
    }
    r->log_op = redis_exec(r->srv->redis, &cmd, 1, logged, r);
    rcmd_free(&cmd);
}

static void next_candidates(struct alt_request *r);
static void lookup_settled(struct alt_request *r);

/* Candidates come best first; once `limit` of them can be shown first (on
 * the shelf, at the patron's branch when one is given), no later one could
 * enter the answer: it is what looking at all of them would give. Returns
 * how many are still missing (0: enough). */
static size_t candidates_missing(const struct alt_request *r)
{
    struct candidate *view;
    struct bib **bibs;
    size_t n = candidates_view(r, &view, &bibs), available = 0;
    for (size_t i = 0; i < n; i++)
        available += bibs[i] && bib_available(bibs[i], r->p.branch);
    free(view);
    free(bibs);
    return available >= (size_t)r->p.limit ? 0 : (size_t)r->p.limit - available;
}

static void candidates_looked_up(const struct lookup_result *res, size_t n, void *arg)
{
    struct alt_request *r = arg;
    r->cands_lookup = NULL;
    size_t first = r->cands_asked - n;
    for (size_t i = 0; i < n; i++) {
        if (res[i].status == LOOKUP_FOUND)
            r->cand_bibs[first + i] = bib_ref(res[i].bib);
        else if (res[i].status == LOOKUP_FAILED)
            r->candidates_failed = 1;
    }
    if (r->phase == PHASE_LOOKUP)
        lookup_settled(r);      /* the first round, started before the title came */
    else
        next_candidates(r);
}

static void search_found(struct bib *const *bibs, size_t n, const char *error, void *arg)
{
    struct alt_request *r = arg;
    r->search = NULL;
    if (error)
        r->candidates_failed = 1;
    enum reason why = r->fallback == FALLBACK_AUTHOR ? REASON_SAME_AUTHOR : REASON_SAME_SUBJECT;
    for (size_t i = 0; i < n; i++) {
        /* a co-occurring title keeps its better reason */
        long known = candidates_find(r->cands, r->ncands, bibs[i]->id);
        if (known >= 0 && r->cands[known].reason == REASON_ALSO_BORROWED)
            continue;
        size_t before = r->nfound;
        struct bib **grown = realloc(r->found_bibs, (before + 1) * sizeof *grown);
        if (!grown || (r->found_bibs = grown,
                       candidates_add(&r->found, &r->nfound, r->p.record, bibs[i]->id, 0, why) < 0)) {
            degrade(r, "alternatives_incomplete");
            break;
        }
        if (r->nfound > before)
            r->found_bibs[before] = bib_ref(bibs[i]);
    }
    r->fallback++;
    next_candidates(r);
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
    if (!r->cand_bibs)
        r->cand_bibs = calloc(r->ncands, sizeof *r->cand_bibs);
    if (!ids || !r->cand_bibs) {
        free(ids);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        ids[i] = r->cands[r->cands_asked + i].record;
    /* The first round waits its turn with the title; the rest carry on a
     * request already begun (catalogue.h). */
    enum catalogue_place place = r->cands_asked ? CATALOGUE_AHEAD : CATALOGUE_IN_TURN;
    r->cands_asked += n;
    r->cands_lookup = catalogue_lookup_start(r->cat, ids, n, place, candidates_looked_up, r);
    free(ids);
    return r->cands_lookup ? 0 : -1;
}

/* Phase 2, one step at a time, best candidates first, until enough are
 * on the shelf: co-occurring titles in rounds of one search (at most the
 * catalogue's batch_max ids, fewer when few alternatives are missing),
 * then the wanted title's author, then its subject, then popular titles
 * in rounds. Usually a round or two do, so the catalogue is asked for a
 * few records, not max_candidates. */
static void next_candidates(struct alt_request *r)
{
    r->phase = PHASE_CANDIDATES;
    if (r->candidates_failed)
        degrade(r, "alternatives_incomplete");
    size_t missing = r->candidates_failed ? 0 : candidates_missing(r);
    if (!missing) {
        log_and_answer(r);
        return;
    }
    if (r->cands_asked < r->ncooc) {
        if (lookup_round(r, r->ncooc, missing) < 0) {
            degrade(r, "alternatives_incomplete");
            log_and_answer(r);
        }
        return;
    }
    while (r->fallback != FALLBACK_DONE) {
        const char *term = r->fallback == FALLBACK_AUTHOR ? r->bib->author : r->bib->subject;
        if (term) {
            const struct catalogue_config *cc = &r->srv->cfg->catalogues[r->cat_index];
            int by_author = r->fallback == FALLBACK_AUTHOR;
            r->search = catalogue_search_start(
                r->cat, by_author ? SEARCH_AUTHOR : SEARCH_SUBJECT, term, (size_t)cc->batch_max,
                by_author ? 0 : (size_t)cc->subject_max_hits, CATALOGUE_AHEAD, search_found, r);
            if (r->search)
                return;
            degrade(r, "alternatives_incomplete");
        }
        r->fallback++;
    }
    if (r->cands_asked < r->ncands && lookup_round(r, r->ncands, missing) == 0)
        return;
    log_and_answer(r);
}

static void score_now(struct alt_request *r);

/* Something of phase 1 came in: the wanted title (404 at once when the
 * catalogue does not have it), or the model's part (neighbours, totals,
 * the patron's history), which scores the candidates and starts their
 * first round without waiting for the title. With both in (and that
 * round back), phase 2 goes on. */
static void lookup_settled(struct alt_request *r)
{
    if (r->title_settled && r->title_status == LOOKUP_NOT_FOUND) {
        alt_request_finish(r, 404, json_pack("{s:s, s:s, s:s}", "error",
                                             "no such record in this catalogue",
                                             "field", "record", "record", r->p.record));
        return;
    }
    int model_in = r->cooc_settled && r->totals_settled && r->history_settled;
    if (model_in && !r->scored) {
        r->scored = 1;
        score_now(r);
        if (!r->title_settled && r->ncooc && lookup_round(r, r->ncooc, (size_t)r->p.limit) < 0)
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
    lookup_settled(r);
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
    if (!nbs || !weight ||
        score_candidates(nbs, weight, n, (enum score_measure)cfg->catalogues[r->cat_index].scoring,
                         t->popular, t->npopular, t->patrons,
                         (const char *const *)r->borrowed, r->nborrowed,
                         (size_t)cfg->max_candidates, &r->cands, &r->ncands) < 0)
        degrade(r, "out_of_memory");
    free(nbs);
    free(weight);
    while (r->ncooc < r->ncands && r->cands[r->ncooc].reason == REASON_ALSO_BORROWED)
        r->ncooc++;
}

static void neighbours_settle(struct alt_request *r, struct neighbours *nb)
{
    r->cooc_settled = 1;
    r->nb = nb;
}

struct recent_ctx {
    struct alt_request *r;
    size_t i;
};

/* One of the patron's recent titles has its neighbours (or not; i is
 * SIZE_MAX for the count history_read holds while it starts them). */
static void recent_read(struct alt_request *r, size_t i, struct neighbours *nb)
{
    if (i != SIZE_MAX) {
        r->recent_reads[i] = NULL;
        r->recent_nb[i] = nb;
    }
    if (--r->recent_pending == 0) {
        r->history_settled = 1;
        lookup_settled(r);
    }
}

static void recent_neighbours_read(struct neighbours *nb, const char *error, void *arg)
{
    struct recent_ctx *rc = arg;
    (void)error;        /* without them the answer is still right, only less personal */
    recent_read(rc->r, rc->i, nb);
}

/* GET h:<pseudonym>: the patron's titles, newest first. */
static void history_read(redisReply *reply, const char *error, void *arg)
{
    struct alt_request *r = arg;
    const struct config *cfg = r->srv->cfg;
    struct record_ids *nm = NULL;
    struct history h = {0};
    r->history_op = NULL;
    r->history_ms = monotonic_ms();
    if (!reply)
        degrade(r, store_failure(error));
    if (reply && reply->type == REDIS_REPLY_STRING && (nm = record_ids_new()) &&
        history_parse(&h, reply->str, reply->len, nm) == 0 && h.n) {
        size_t *recent = calloc(h.n, sizeof *recent);
        r->borrowed = calloc(h.n, sizeof *r->borrowed);
        r->recent = calloc(h.n, sizeof *r->recent);
        for (size_t i = 0; recent && r->borrowed && r->recent && i < h.n; i++) {
            if (!(r->borrowed[r->nborrowed] = strdup(record_ids_get(nm, h.e[i].record))))
                break;
            r->nborrowed++;
        }
        /* borrowed[i] is h.e[i]'s title: the blend's titles point into it. */
        size_t n = r->nborrowed == h.n ? history_recent(&h, record_ids_find(nm, r->p.record),
                                                        (size_t)cfg->history_titles, recent) : 0;
        for (size_t i = 0; i < n; i++)
            r->recent[r->nrecent++] = r->borrowed[recent[i]];
        free(recent);
    }
    history_free(&h);
    record_ids_free(nm);
    if (r->nrecent && (!(r->recent_nb = calloc(r->nrecent, sizeof *r->recent_nb)) ||
                       !(r->recent_reads = calloc(r->nrecent, sizeof *r->recent_reads)) ||
                       !(r->recent_ctx = calloc(r->nrecent, sizeof *r->recent_ctx)))) {
        free(r->recent_nb);
        free(r->recent_reads);
        r->recent_nb = NULL;
        r->recent_reads = NULL;
        r->nrecent = 0;
    }
    if (r->nrecent == 0) {
        r->history_settled = 1;
        lookup_settled(r);
        return;
    }
    /* Every read is counted before any can call back (a cached one
     * settles at once). */
    r->recent_pending = r->nrecent + 1;
    for (size_t i = 0; i < r->nrecent; i++) {
        struct neighbours *nb = model_cached(r->srv->model, r->recent[i]);
        if (nb) {
            recent_read(r, i, nb);
            continue;
        }
        r->recent_ctx[i] = (struct recent_ctx){r, i};
        if (!(r->recent_reads[i] = model_read(r->srv->model, r->recent[i],
                                              recent_neighbours_read, &r->recent_ctx[i])))
            recent_read(r, i, NULL);
    }
    recent_read(r, SIZE_MAX, NULL);
}

static void neighbours_read(struct neighbours *nb, const char *error, void *arg)
{
    struct alt_request *r = arg;
    r->cooc_read = NULL;
    if (!nb)
        degrade(r, store_failure(error));
    neighbours_settle(r, nb);
    lookup_settled(r);
}

static void totals_read(struct model_totals *t, const char *error, void *arg)
{
    struct alt_request *r = arg;
    r->totals_wait = NULL;
    if (!t)
        degrade(r, store_failure(error));
    r->totals = t;
    r->totals_settled = 1;
    lookup_settled(r);
}

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
            degrade(r, "catalogue_timeout");
        else if (r->title_status == LOOKUP_FAILED)
            degrade(r, r->title_error);
        else if (r->cands_lookup)
            degrade(r, "alternatives_timeout");     /* the first round is still out */
        if (!r->cooc_settled || !r->totals_settled || !r->history_settled)
            degrade(r, "redis_timeout");
        break;
    case PHASE_CANDIDATES:
        /* Rounds that finished were checked in the catalogue and stay;
         * the round in flight has set nothing yet. */
        degrade(r, "alternatives_timeout");
        break;
    case PHASE_LOG:
        degrade(r, "touchpoint_not_logged");
        send_answer(r, NULL, 0);
        return;
    case PHASE_DONE:
        return;
    }
    degrade(r, "touchpoint_not_logged");
    if (!(r->ans = make_answer(r))) {
        alt_request_finish(r, 503, json_pack("{s:s, s:n}", "error", "out of memory", "field"));
        return;
    }
    send_answer(r, NULL, 0);
}

void alternatives_handle(struct server *srv, struct evhttp_request *req, const char *query)
{
    struct alt_params p;
    struct param_error perr;
    if (params_parse_alternatives(query, srv->cfg, &p, &perr) < 0) {
        http_reply_error(req, 400, perr.field, perr.message);
        return;
    }
    if (srv->pending_requests >= (size_t)srv->cfg->max_pending_requests) {
        params_free(&p);
        http_reply_error(req, 503, NULL, "too many requests in progress; try again shortly");
        return;
    }
    struct alt_request *r = calloc(1, sizeof *r);
    if (!r || !(r->degraded = json_array()) ||
        !(r->deadline = evtimer_new(srv->base, deadline_passed, r))) {
        if (r)
            json_decref(r->degraded);
        free(r);
        params_free(&p);
        http_reply_error(req, 503, NULL, "out of memory");
        return;
    }
    srv->pending_requests++;
    r->srv = srv;
    r->req = req;
    r->p = p;
    r->cat_index = server_catalogue_index(srv, p.catalogue);
    r->cat = srv->catalogues[r->cat_index];
    r->link = srv->links[r->cat_index];
    int ms = srv->cfg->request_timeout_ms;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(r->deadline, &tv);

    /* "catalogue|record|branch|limit|lang|channel|patron" (no printf: this
     * is every request's path, warm ones too) */
    struct strbuf key = {0};
    int bad = strbuf_put_ll(&key, r->cat_index) | strbuf_puts(&key, "|") |
              strbuf_puts(&key, p.record) | strbuf_puts(&key, "|") |
              strbuf_puts(&key, p.branch ? p.branch : "") | strbuf_puts(&key, "|") |
              strbuf_put_ll(&key, p.limit) | strbuf_puts(&key, "|") | strbuf_puts(&key, p.lang) |
              strbuf_puts(&key, "|") | strbuf_puts(&key, p.channel) | strbuf_puts(&key, "|") |
              strbuf_puts(&key, p.patron);
    r->answer_key = bad ? NULL : strbuf_steal(&key);
    strbuf_free(&key);
    if (!r->answer_key) {
        alt_request_finish(r, 503, json_pack("{s:s, s:n}", "error", "out of memory", "field"));
        return;
    }
    if ((r->ans = kept_answers_get(kept_answers(r), r->answer_key))) {
        log_and_answer(r);
        return;
    }

    const char *ids[1] = {r->p.record};
    r->title_lookup = catalogue_lookup_start(r->cat, ids, 1, CATALOGUE_IN_TURN, title_looked_up, r);
    if (!r->title_lookup) {
        alt_request_finish(r, 503, json_pack("{s:s, s:n}", "error", "out of memory", "field"));
        return;
    }
    r->history_settled = !r->p.patron[0];
    r->forgets = srv->forgets;
    if (r->p.patron[0]) {
        struct rcmd cmd = {0};
        if (rcmd_addstr(&cmd, "GET") | rcmd_addf(&cmd, "%sh:%s", srv->cfg->redis_prefix, r->p.patron)) {
            r->history_settled = 1;
            degrade(r, "out_of_memory");
        } else {
            r->history_op = redis_exec(srv->redis, &cmd, 1, history_read, r);
        }
        rcmd_free(&cmd);
    }
    struct neighbours *nb = model_cached(srv->model, r->p.record);
    if (nb) {
        neighbours_settle(r, nb);
    } else if (!(r->cooc_read = model_read(srv->model, r->p.record, neighbours_read, r))) {
        neighbours_settle(r, NULL);
        degrade(r, "redis_unavailable");
    }
    if ((r->totals = model_totals_cached(srv->model))) {
        r->totals_settled = 1;
    } else if (!(r->totals_wait = model_totals_read(srv->model, totals_read, r))) {
        r->totals_settled = 1;
        degrade(r, "redis_unavailable");
    }
}
