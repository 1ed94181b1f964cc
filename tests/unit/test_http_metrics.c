/* test_http_metrics.c: the HTTP face's counters (http_metrics.h): by
 * route and status, durations in their buckets, answers by channel,
 * status, degraded reason and arm, loan events by type; what is out of
 * range is ignored, not counted elsewhere. The text is read back by
 * prometheus_client in test_39_metrics.py; here, the lines it has. */
#include <sodium.h>
#include <stdlib.h>

#include "http/http_metrics.h"
#include "unit.h"

static struct config *cfg;

static const char *const routes[] = {"other", "/v1/alternatives",
                                     "/v1/touchpoints/{touchpoint}/events"};

static int has_line(const struct strbuf *sb, const char *line)
{
    const char *p = strbuf_cstr(sb);
    size_t n = strlen(line);
    while ((p = strstr(p, line))) {
        if ((p == sb->buf || p[-1] == '\n') && p[n] == '\n')
            return 1;
        p += n;
    }
    return 0;
}

TEST(requests_by_route_and_code)
{
    struct http_metrics *m = http_metrics_new(routes, 3, cfg);
    struct strbuf sb = {0};
    CHECK(m != NULL);
    http_metrics_request(m, 1, 200, 0.004);
    http_metrics_request(m, 1, 200, 0.2);
    http_metrics_request(m, 1, 404, 0.001);
    http_metrics_request(m, 2, 201, 12);
    http_metrics_request(m, 3, 200, 0.1);      /* no such route: ignored */
    http_metrics_request(m, 1, 99, 0.1);       /* no such status: ignored */
    http_metrics_request(m, 1, 600, 0.1);
    CHECK(http_metrics_write(m, &sb) == 0);
    CHECK(has_line(&sb, "onloan_http_requests_total{route=\"/v1/alternatives\",code=\"200\"} 2"));
    CHECK(has_line(&sb, "onloan_http_requests_total{route=\"/v1/alternatives\",code=\"404\"} 1"));
    CHECK(has_line(&sb, "onloan_http_requests_total{route=\"/v1/touchpoints/{touchpoint}/events\","
                        "code=\"201\"} 1"));
    CHECK(!strstr(sb.buf, "code=\"99\"") && !strstr(sb.buf, "code=\"600\""));
    CHECK(!strstr(sb.buf, "onloan_http_requests_total{route=\"other\""));    /* none yet */
    const char *d = "onloan_http_request_duration_seconds";
    struct strbuf want = {0};
    strbuf_printf(&want, "%s_bucket{route=\"/v1/alternatives\",le=\"0.001\"} 1", d);
    CHECK(has_line(&sb, want.buf));
    strbuf_reset(&want);
    strbuf_printf(&want, "%s_bucket{route=\"/v1/alternatives\",le=\"0.005\"} 2", d);
    CHECK(has_line(&sb, want.buf));
    strbuf_reset(&want);
    strbuf_printf(&want, "%s_bucket{route=\"/v1/alternatives\",le=\"0.25\"} 3", d);
    CHECK(has_line(&sb, want.buf));
    strbuf_reset(&want);
    strbuf_printf(&want, "%s_count{route=\"/v1/alternatives\"} 3", d);
    CHECK(has_line(&sb, want.buf));
    strbuf_reset(&want);
    /* above the last bound: +Inf only */
    strbuf_printf(&want, "%s_bucket{route=\"/v1/touchpoints/{touchpoint}/events\",le=\"10\"} 0", d);
    CHECK(has_line(&sb, want.buf));
    strbuf_reset(&want);
    strbuf_printf(&want, "%s_bucket{route=\"/v1/touchpoints/{touchpoint}/events\",le=\"+Inf\"} 1", d);
    CHECK(has_line(&sb, want.buf));
    strbuf_reset(&want);
    /* every route has its histogram, other too */
    strbuf_printf(&want, "%s_count{route=\"other\"} 0", d);
    CHECK(has_line(&sb, want.buf));
    strbuf_free(&want);
    strbuf_free(&sb);
    http_metrics_free(m);
}

TEST(answers_arms_and_loans)
{
    struct http_metrics *m = http_metrics_new(routes, 3, cfg);
    struct strbuf sb = {0};
    const struct experiment_config *ex = &cfg->experiments[1];
    CHECK(m != NULL && answer_status_of("on_loan") == ANSWER_ON_LOAN &&
          answer_status_of("available") == ANSWER_AVAILABLE &&
          answer_status_of("what") == ANSWER_UNKNOWN);
    http_metrics_answer(m, CHANNEL_OPAC, ANSWER_ON_LOAN, ex, &ex->arms[1],
                        FAILURE_BIT(FAILURE_CATALOGUE_TIMEOUT) | FAILURE_BIT(FAILURE_REDIS_TIMEOUT));
    http_metrics_answer(m, CHANNEL_OPAC, ANSWER_ON_LOAN, ex, &ex->arms[1], 0);
    http_metrics_answer(m, CHANNEL_WIDGET, ANSWER_AVAILABLE, NULL, NULL, 0);
    http_metrics_loans_taken(m, LOAN_EVENT_LOAN, 5);
    http_metrics_loans_taken(m, LOAN_EVENT_HOLD_CANCELLED, 1);
    http_metrics_loans_refused(m, FAILURE_NONE);
    http_metrics_loans_refused(m, FAILURE_WRITE_CONFLICT);
    CHECK(http_metrics_write(m, &sb) == 0);
    CHECK(has_line(&sb, "onloan_answers_total{channel=\"opac\",status=\"on_loan\"} 2"));
    CHECK(has_line(&sb, "onloan_answers_total{channel=\"widget\",status=\"available\"} 1"));
    CHECK(has_line(&sb, "onloan_answers_total{channel=\"kiosk\",status=\"unknown\"} 0"));
    CHECK(has_line(&sb, "onloan_answers_degraded_total{reason=\"catalogue_timeout\"} 1"));
    CHECK(has_line(&sb, "onloan_answers_degraded_total{reason=\"redis_timeout\"} 1"));
    CHECK(has_line(&sb, "onloan_answers_degraded_total{reason=\"out_of_memory\"} 0"));
    CHECK(has_line(&sb, "onloan_experiment_answers_total{experiment=\"two\",arm=\"q\"} 2"));
    CHECK(has_line(&sb, "onloan_experiment_answers_total{experiment=\"two\",arm=\"p\"} 0"));
    CHECK(has_line(&sb, "onloan_experiment_answers_total{experiment=\"one\",arm=\"a\"} 0"));
    CHECK(has_line(&sb, "onloan_loan_events_taken_total{type=\"loan\"} 5"));
    CHECK(has_line(&sb, "onloan_loan_events_taken_total{type=\"hold\"} 0"));
    CHECK(has_line(&sb, "onloan_loan_events_taken_total{type=\"hold_cancelled\"} 1"));
    CHECK(has_line(&sb, "onloan_loan_batches_refused_total{reason=\"invalid\"} 1"));
    CHECK(has_line(&sb, "onloan_loan_batches_refused_total{reason=\"write_conflict\"} 1"));
    /* reasons not seen have no series (the engine gives few of them) */
    CHECK(!strstr(sb.buf, "onloan_loan_batches_refused_total{reason=\"redis_unavailable\"}"));
    strbuf_free(&sb);
    http_metrics_free(m);
}

int main(void)
{
    struct strbuf err = {0};
    if (sodium_init() < 0)
        return 1;
    cfg = config_parse("{\"privacy\": {\"patron_key\": "
                       "\"0000000000000000000000000000000000000000000000000000000000000000\"}, "
                       UNIT_TOUCHPOINTS ", \"experiments\": ["
                       "{\"name\": \"one\", \"from\": \"2026-12-01\", \"until\": \"2027-03-01\","
                       " \"channels\": [\"app\"], \"arms\": [{\"name\": \"a\", \"share\": 90},"
                       " {\"name\": \"b\", \"share\": 10}]},"
                       "{\"name\": \"two\", \"from\": \"2026-12-01\", \"until\": \"2027-03-01\","
                       " \"channels\": [\"opac\"], \"arms\": [{\"name\": \"p\", \"share\": 50},"
                       " {\"name\": \"q\", \"share\": 50}]}],"
                       " \"catalogues\": [{\"name\": \"demo\","
                       " \"target\": \"127.0.0.1:2100/demo\", \"link\": {\"plugin\": \"koha\","
                       " \"base_url\": \"https://x\"}}]}", "metrics.json", &err);
    if (!cfg) {
        printf("FAIL config: %s", strbuf_cstr(&err));
        return 1;
    }
    RUN(requests_by_route_and_code);
    RUN(answers_arms_and_loans);
    config_free(cfg);
    strbuf_free(&err);
    return unit_failures != 0;
}
