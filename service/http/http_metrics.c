/* http_metrics.c: the HTTP face's counters; see http_metrics.h. */
#include "http/http_metrics.h"

#include <stdlib.h>
#include <string.h>

#define CODE_MIN 100
#define NCODES 500                  /* 100..599 */

static const double duration_bounds[] = HTTP_METRICS_DURATION_BOUNDS;
#define NDURATION_BOUNDS (sizeof duration_bounds / sizeof duration_bounds[0])

static const char *const answer_status_names[NANSWER_STATUSES] = {"available", "on_loan",
                                                                   "unknown"};

struct route_metrics {
    uint64_t codes[NCODES];
    struct prom_histogram duration;
};

struct http_metrics {
    const char **route_names;       /* a copy of the array; the strings borrowed */
    size_t nroutes;
    struct route_metrics *routes;
    uint64_t answers[NCHANNELS][NANSWER_STATUSES];
    uint64_t degraded[FAILURE_COUNT];
    const struct config *cfg;
    size_t *arm_base;               /* per experiment: where its arms' counts begin */
    uint64_t *arm_answers;          /* per arm of every experiment */
    uint64_t loans_taken[HTTP_METRICS_LOAN_TYPES];
    uint64_t loans_refused[FAILURE_COUNT];     /* [FAILURE_NONE]: invalid events */
};

enum answer_status answer_status_of(const char *name)
{
    for (int i = 0; i < NANSWER_STATUSES; i++)
        if (strcmp(name, answer_status_names[i]) == 0)
            return (enum answer_status)i;
    return ANSWER_UNKNOWN;
}

struct http_metrics *http_metrics_new(const char *const *routes, size_t nroutes,
                                      const struct config *cfg)
{
    struct http_metrics *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->cfg = cfg;
    size_t narms = 0;
    m->arm_base = calloc(cfg->nexperiments + 1, sizeof *m->arm_base);
    for (size_t i = 0; m->arm_base && i < cfg->nexperiments; i++) {
        m->arm_base[i] = narms;
        narms += cfg->experiments[i].narms;
    }
    m->arm_answers = calloc(narms + 1, sizeof *m->arm_answers);
    m->routes = calloc(nroutes ? nroutes : 1, sizeof *m->routes);
    m->route_names = calloc(nroutes ? nroutes : 1, sizeof *m->route_names);
    if (!m->arm_base || !m->arm_answers || !m->routes || !m->route_names) {
        http_metrics_free(m);
        return NULL;
    }
    for (; m->nroutes < nroutes; m->nroutes++) {
        m->route_names[m->nroutes] = routes[m->nroutes];
        if (prom_histogram_init(&m->routes[m->nroutes].duration, duration_bounds,
                                NDURATION_BOUNDS) < 0) {
            http_metrics_free(m);
            return NULL;
        }
    }
    return m;
}

void http_metrics_free(struct http_metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nroutes; i++)
        prom_histogram_free(&m->routes[i].duration);
    free(m->routes);
    free(m->route_names);
    free(m->arm_base);
    free(m->arm_answers);
    free(m);
}

void http_metrics_request(struct http_metrics *m, size_t route, int code, double seconds)
{
    if (route >= m->nroutes || code < CODE_MIN || code >= CODE_MIN + NCODES)
        return;
    m->routes[route].codes[code - CODE_MIN]++;
    prom_histogram_observe(&m->routes[route].duration, seconds);
}

void http_metrics_answer(struct http_metrics *m, enum channel channel, enum answer_status status,
                         const struct experiment_config *ex, const struct arm_config *arm,
                         failure_set degraded)
{
    if ((unsigned)channel < NCHANNELS && (unsigned)status < NANSWER_STATUSES)
        m->answers[channel][status]++;
    for (int f = 1; f < FAILURE_COUNT; f++)
        if (degraded & FAILURE_BIT(f))
            m->degraded[f]++;
    if (!ex || !arm)
        return;
    size_t e = (size_t)(ex - m->cfg->experiments), a = (size_t)(arm - ex->arms);
    if (e < m->cfg->nexperiments && a < ex->narms)
        m->arm_answers[m->arm_base[e] + a]++;
}

void http_metrics_loans_taken(struct http_metrics *m, enum loan_event_type type, size_t n)
{
    if ((unsigned)type < HTTP_METRICS_LOAN_TYPES)
        m->loans_taken[type] += n;
}

void http_metrics_loans_refused(struct http_metrics *m, enum failure why)
{
    if ((unsigned)why < FAILURE_COUNT)
        m->loans_refused[why]++;
}

static int write_requests(const struct http_metrics *m, struct strbuf *out)
{
    if (prom_family(out, "onloan_http_requests_total", "counter",
                    "HTTP requests answered, by route pattern and status code.") < 0)
        return -1;
    char code[8];
    for (size_t r = 0; r < m->nroutes; r++) {
        for (int c = 0; c < NCODES; c++) {
            if (!m->routes[r].codes[c])
                continue;
            code[0] = (char)('0' + (CODE_MIN + c) / 100);
            code[1] = (char)('0' + (CODE_MIN + c) / 10 % 10);
            code[2] = (char)('0' + (CODE_MIN + c) % 10);
            code[3] = '\0';
            struct prom_label l[] = {{"route", m->route_names[r]}, {"code", code}};
            if (prom_sample_u64(out, "onloan_http_requests_total", l, 2,
                                m->routes[r].codes[c]) < 0)
                return -1;
        }
    }
    if (prom_family(out, "onloan_http_request_duration_seconds", "histogram",
                    "Seconds from a request read in full to its answer written, by route "
                    "pattern.") < 0)
        return -1;
    for (size_t r = 0; r < m->nroutes; r++) {
        struct prom_label l = {"route", m->route_names[r]};
        if (prom_histogram_samples(out, "onloan_http_request_duration_seconds", &l, 1,
                                   &m->routes[r].duration) < 0)
            return -1;
    }
    return 0;
}

static int write_answers(const struct http_metrics *m, struct strbuf *out)
{
    if (prom_family(out, "onloan_answers_total", "counter",
                    "Answers of /v1/alternatives (200), by channel and the wanted title's "
                    "status.") < 0)
        return -1;
    for (int c = 0; c < NCHANNELS; c++) {
        for (int s = 0; s < NANSWER_STATUSES; s++) {
            struct prom_label l[] = {{"channel", channel_names[c]},
                                     {"status", answer_status_names[s]}};
            if (prom_sample_u64(out, "onloan_answers_total", l, 2, m->answers[c][s]) < 0)
                return -1;
        }
    }
    if (prom_family(out, "onloan_answers_degraded_total", "counter",
                    "Answers of /v1/alternatives degraded, by reason (an answer may have "
                    "several).") < 0)
        return -1;
    for (int f = 1; f < FAILURE_COUNT; f++) {
        struct prom_label l = {"reason", failure_name((enum failure)f)};
        if (prom_sample_u64(out, "onloan_answers_degraded_total", &l, 1, m->degraded[f]) < 0)
            return -1;
    }
    if (prom_family(out, "onloan_experiment_answers_total", "counter",
                    "Answers of /v1/alternatives in an experiment, by experiment and arm.") < 0)
        return -1;
    for (size_t e = 0; e < m->cfg->nexperiments; e++) {
        const struct experiment_config *ex = &m->cfg->experiments[e];
        for (size_t a = 0; a < ex->narms; a++) {
            struct prom_label l[] = {{"experiment", ex->name}, {"arm", ex->arms[a].name}};
            if (prom_sample_u64(out, "onloan_experiment_answers_total", l, 2,
                                m->arm_answers[m->arm_base[e] + a]) < 0)
                return -1;
        }
    }
    return 0;
}

static int write_loans(const struct http_metrics *m, struct strbuf *out)
{
    if (prom_family(out, "onloan_loan_events_taken_total", "counter",
                    "Loan events of POST /v1/loans batches taken (202), by type.") < 0)
        return -1;
    for (int t = 0; t < HTTP_METRICS_LOAN_TYPES; t++) {
        struct prom_label l = {"type", loan_event_type_name((enum loan_event_type)t)};
        if (prom_sample_u64(out, "onloan_loan_events_taken_total", &l, 1, m->loans_taken[t]) < 0)
            return -1;
    }
    if (prom_family(out, "onloan_loan_batches_refused_total", "counter",
                    "POST /v1/loans batches refused whole, by reason: invalid (a 400), or "
                    "the failure of a 503.") < 0)
        return -1;
    for (int f = 0; f < FAILURE_COUNT; f++) {
        if (f != FAILURE_NONE && !m->loans_refused[f])
            continue;           /* failures the engine can give are few: those seen */
        struct prom_label l = {"reason", f == FAILURE_NONE ? "invalid"
                                                           : failure_name((enum failure)f)};
        if (prom_sample_u64(out, "onloan_loan_batches_refused_total", &l, 1,
                            m->loans_refused[f]) < 0)
            return -1;
    }
    return 0;
}

int http_metrics_write(const struct http_metrics *m, struct strbuf *out)
{
    return write_requests(m, out) < 0 || write_answers(m, out) < 0 || write_loans(m, out) < 0
               ? -1 : 0;
}
