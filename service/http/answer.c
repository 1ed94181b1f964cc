/* answer.c: see answer.h. */
#include "http/answer.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue/queue_date.h"
#include "core/calendar.h"
#include "http/messages.h"

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

/* Why the alternative is shown, in the answer's language (messages.h). */
static json_t *explanation_json(const struct answer_facts *f, const struct alternative *a)
{
    struct strbuf text = {0};
    const struct bib *w = f->bib;
    json_t *v = message_explanation(&text, f->lang, reason_name(a->reason), a->both, f->borrowers,
                                    f->min_patrons, w ? w->title : NULL, w ? w->author : NULL,
                                    w && a->subject < w->nsubjects ? w->subjects[a->subject] : NULL,
                                    a->popular_here ? f->branch_name : NULL) == 0
                    ? json_stringn(text.buf, text.len)
                    : NULL;
    strbuf_free(&text);
    return v;
}

static json_t *alternatives_json(const struct answer_facts *f)
{
    json_t *alts = json_array();
    for (size_t i = 0; alts && i < f->nchosen; i++) {
        const struct alternative *a = &f->chosen[i];
        const struct bib *b = a->bib;
        json_t *alt = json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:f, s:s, s:o, s:b, s:o, s:o}",
                                "record", b->id, "title", b->title, "author", b->author,
                                "year", b->year,
                                "format", segment_format_name(b->segment.format),
                                "audience", segment_audience_name(b->segment.audience),
                                "language", segment_language(&b->segment), "score", a->score,
                                "reason", reason_name(a->reason),
                                "explanation", explanation_json(f, a), "at_branch", a->at_branch,
                                "available_at", available_at_json(b, f->branch),
                                "url", url_json(f->link, b->id, link_record_url));
        if (!alt || json_array_append_new(alts, alt) < 0) {
            json_decref(alts);
            return NULL;
        }
    }
    return alts;
}

struct answer *answer_build(const struct answer_facts *f)
{
    const struct bib *bib = f->bib;
    const char *status = !bib ? "unknown" : bib_available(bib, NULL) ? "available" : "on_loan";
    const char *expected = bib ? bib_expected_back(bib) : NULL;
    struct answer *ans = calloc(1, sizeof *ans);
    if (!ans)
        return NULL;
    ans->refs = 1;
    ans->status = status;
    ans->alternatives = calloc(f->nchosen + 1, sizeof *ans->alternatives);
    struct strbuf shown = {0};
    int bad = strbuf_puts(&shown, "");
    for (size_t i = 0; ans->alternatives && i < f->nchosen; i++) {
        if (!(ans->alternatives[i] = strdup(f->chosen[i].bib->id)))
            break;
        ans->nalternatives++;
        bad |= (i ? strbuf_append(&shown, ",", 1) : 0) | strbuf_puts(&shown, f->chosen[i].bib->id);
    }
    ans->shown = bad ? NULL : strbuf_steal(&shown);
    strbuf_free(&shown);
    int copies_out = 0;
    for (size_t i = 0; bib && i < bib->ncopies; i++)
        copies_out |= bib->copies[i].status == COPY_ON_LOAN;
    /* When a hold placed now is likely ready: for a title on loan, with
     * the queue known (queue_date.h). */
    char ready[CAL_DATE_BYTES + 1];
    const char *available_on = NULL;
    long day = bib && f->queue >= 0 && strcmp(status, "on_loan") == 0
                   ? queue_ready_day(bib, (uint32_t)f->queue, f->loan_period_days, f->today)
                   : -1;
    if (day >= 0) {
        cal_date_text(day, ready);
        available_on = ready;
    }
    struct strbuf msg = {0};
    bad = !ans->shown || ans->nalternatives != f->nchosen ||
          message_availability(&msg, f->lang, status, copies_out, expected, f->queue,
                               available_on, f->nchosen > 0) < 0;
    json_t *experiment = f->experiment ? json_pack("{s:s, s:s}", "name", f->experiment,
                                                   "arm", f->arm)
                                       : json_null();
    json_t *answer = bad ? NULL : json_pack(
        "{s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:o, s:s?, s:o, s:s?, s:o, s:s, s:o, "
        "s:o}",
        "record", f->record, "catalogue", f->catalogue, "status", status,
        "title", bib ? bib->title : NULL, "author", bib ? bib->author : NULL,
        "isbn", bib ? bib->isbn : NULL, "year", bib ? bib->year : NULL,
        "format", bib ? segment_format_name(bib->segment.format) : NULL,
        "audience", bib ? segment_audience_name(bib->segment.audience) : NULL,
        "language", bib ? segment_language(&bib->segment) : NULL,
        "copies", bib ? copies_json(bib) : json_array(), "expected_back", expected,
        "queue", f->queue >= 0 ? json_integer(f->queue) : json_null(),
        "expected_available", available_on,
        "reserve_url", url_json(f->link, f->record, link_reserve_url),
        "message", strbuf_cstr(&msg), "alternatives", alternatives_json(f),
        "experiment", experiment);
    if (bad)
        json_decref(experiment);
    strbuf_free(&msg);
    char *text = answer ? json_dumps(answer, JSON_COMPACT | JSON_REAL_PRECISION(4)) : NULL;
    json_decref(answer);
    if (!text) {
        answer_unref(ans);
        return NULL;
    }
    ans->len = strlen(text) - 1;       /* without the closing brace */
    text[ans->len] = '\0';
    ans->body = text;
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

int answer_text(const struct answer *ans, const char *touchpoint, size_t len, const char *token,
                failure_set degraded, struct strbuf *out)
{
    return strbuf_reserve(out, ans->len + len + 64) | strbuf_append(out, ans->body, ans->len) |
                   answer_tail(touchpoint, len, token, degraded, out)
               ? -1 : 0;
}

int answer_tail(const char *touchpoint, size_t len, const char *token, failure_set degraded,
                struct strbuf *out)
{
    /* The usual case, a plain stream id, needs no JSON encoder; failure
     * names are plain too. */
    char *tp_text = NULL;
    if (touchpoint && !stream_id_plain(touchpoint, len)) {
        json_t *tp = json_stringn(touchpoint, len);
        tp_text = tp ? json_dumps(tp, JSON_ENCODE_ANY) : NULL;
        json_decref(tp);
        if (!tp_text)
            return -1;
    }
    int rc = strbuf_puts(out, ",\"touchpoint\":");
    if (tp_text)
        rc |= strbuf_puts(out, tp_text);
    else if (touchpoint)
        rc |= strbuf_append(out, "\"", 1) | strbuf_append(out, touchpoint, len) |
              strbuf_append(out, "\"", 1);
    else
        rc |= strbuf_puts(out, "null");
    free(tp_text);
    /* a token is digits, a dot and URL-safe base64: nothing JSON escapes */
    rc |= strbuf_puts(out, ",\"touchpoint_token\":");
    rc |= token ? strbuf_append(out, "\"", 1) | strbuf_puts(out, token) | strbuf_append(out, "\"", 1)
                : strbuf_puts(out, "null");
    rc |= strbuf_puts(out, ",\"degraded\":[");
    const char *sep = "\"";
    for (int f = FAILURE_NONE + 1; f < FAILURE_COUNT; f++) {
        if (!(degraded & FAILURE_BIT(f)))
            continue;
        rc |= strbuf_puts(out, sep) | strbuf_puts(out, failure_name((enum failure)f)) |
              strbuf_append(out, "\"", 1);
        sep = ",\"";
    }
    return rc | strbuf_puts(out, "]}") ? -1 : 0;
}

struct answer *answer_ref(struct answer *ans)
{
    ans->refs++;
    return ans;
}

void answer_unref(struct answer *ans)
{
    if (!ans || --ans->refs > 0)
        return;
    for (size_t i = 0; i < ans->nalternatives; i++)
        free(ans->alternatives[i]);
    free(ans->alternatives);
    free(ans->shown);
    free(ans->body);
    free(ans);
}
