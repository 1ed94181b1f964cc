/* answer.h: the JSON of an answer of GET /v1/alternatives.
 *
 * An answer is written in two parts. answer_build writes what does not
 * change from request to request (the wanted title, its copies, the
 * message, the alternatives chosen) as the text of a JSON object without
 * its closing brace: that part may be kept and served again
 * (kept_answers.h). answer_text adds what every request has of its own,
 * the touchpoint id and the degraded list, and closes the object. */
#ifndef ONLOAN_HTTP_ANSWER_H
#define ONLOAN_HTTP_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include "catalogue/holdings.h"
#include "catalogue/link.h"
#include "core/failure.h"
#include "core/strbuf.h"
#include "model/recommend.h"

/* A built answer. Shared (kept answers and requests hold references). */
struct answer {
    int refs;
    uint64_t expires_ms;    /* until when it may be kept (0: not at all); set by the caller */
    char *body;             /* JSON object text without its closing brace */
    size_t len;
    const char *status;     /* "available", "on_loan" or "unknown" (static) */
    char **alternatives;    /* record ids shown, for the touchpoint log */
    size_t nalternatives;
    char *shown;            /* the same joined by ',' ("" for none): the log's and the
                             * token's */
};

/* What an answer says, all borrowed for the call. */
struct answer_facts {
    const char *record;                 /* the wanted title's id, as asked */
    const char *catalogue;              /* the catalogue's name */
    const char *branch;                 /* the patron's branch, or NULL */
    const char *branch_name;            /* its name for patrons (config_branch_name) */
    const char *lang;                   /* "nl" or "en" */
    const struct bib *bib;              /* the wanted title; NULL: unknown */
    const struct alternative *chosen;   /* the alternatives, in the order shown */
    size_t nchosen;
    const struct link *link;            /* the catalogue's URLs */
    unsigned long borrowers;            /* the wanted title's borrowers in the model (0: unknown) */
    unsigned long min_patrons;          /* privacy.min_patrons: no smaller count is shown */
    long queue;                         /* holds waiting for the wanted title; -1 unknown */
    int loan_period_days;               /* the catalogue's */
    long today;                         /* days since 1970-01-01 */
    const char *experiment, *arm;       /* NULL outside an experiment */
};

/* Builds the answer (one reference, expires_ms 0), or NULL when out of
 * memory. */
struct answer *answer_build(const struct answer_facts *f);
/* The whole answer: ans, then "touchpoint" (len bytes, or null when
 * touchpoint is NULL), "touchpoint_token" (token, or null) and
 * "degraded" (the names of the set, in the order of enum failure),
 * appended to out. -1 when out of memory. */
int answer_text(const struct answer *ans, const char *touchpoint, size_t len, const char *token,
                failure_set degraded, struct strbuf *out);
/* What answer_text appends after ans->body: the request's own part. */
int answer_tail(const char *touchpoint, size_t len, const char *token, failure_set degraded,
                struct strbuf *out);

struct answer *answer_ref(struct answer *ans);
void answer_unref(struct answer *ans);

#endif
