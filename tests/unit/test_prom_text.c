/* test_prom_text.c: Prometheus' text exposition format (prom_text.h):
 * headers, escaping, histograms, names refused. The integration test
 * (test_39_metrics.py) reads onloand's whole /metrics with
 * prometheus_client's own parser. */
#include <math.h>
#include <stdlib.h>

#include "core/prom_text.h"
#include "unit.h"

TEST(family_and_plain_samples)
{
    struct strbuf sb = {0};
    struct prom_label route = {"route", "/v1/touchpoints/{id}/events"};
    struct prom_label two[] = {{"route", "/healthz"}, {"code", "200"}};
    CHECK(prom_family(&sb, "onloan_x_total", "counter", "Things, done.") == 0);
    CHECK(prom_sample_u64(&sb, "onloan_x_total", NULL, 0, 0) == 0);
    CHECK(prom_sample_u64(&sb, "onloan_x_total", &route, 1, 18446744073709551615ULL) == 0);
    CHECK(prom_sample_u64(&sb, "onloan_x_total", two, 2, 3) == 0);
    CHECK_STR(strbuf_cstr(&sb),
              "# HELP onloan_x_total Things, done.\n"
              "# TYPE onloan_x_total counter\n"
              "onloan_x_total 0\n"
              "onloan_x_total{route=\"/v1/touchpoints/{id}/events\"} 18446744073709551615\n"
              "onloan_x_total{route=\"/healthz\",code=\"200\"} 3\n");
    strbuf_free(&sb);
}

TEST(label_values_and_help_are_escaped)
{
    struct strbuf sb = {0};
    struct prom_label l = {"arm", "a\\b\"c\nd"};
    CHECK(prom_family(&sb, "m", "gauge", "back\\slash \"quoted\"\nnext line") == 0);
    CHECK(prom_sample_u64(&sb, "m", &l, 1, 1) == 0);
    /* HELP escapes \ and newline only; a label value " too */
    CHECK_STR(strbuf_cstr(&sb),
              "# HELP m back\\\\slash \"quoted\"\\nnext line\n"
              "# TYPE m gauge\n"
              "m{arm=\"a\\\\b\\\"c\\nd\"} 1\n");
    strbuf_free(&sb);
}

TEST(reals_as_the_format_spells_them)
{
    struct strbuf sb = {0};
    CHECK(prom_sample_double(&sb, "g", NULL, 0, 0.1) == 0);
    CHECK(prom_sample_double(&sb, "g", NULL, 0, 1796041992.0) == 0);
    CHECK(prom_sample_double(&sb, "g", NULL, 0, INFINITY) == 0);
    CHECK(prom_sample_double(&sb, "g", NULL, 0, -INFINITY) == 0);
    CHECK(prom_sample_double(&sb, "g", NULL, 0, NAN) == 0);
    CHECK(prom_sample_double(&sb, "g", NULL, 0, 1.0 / 3) == 0);
    CHECK_STR(strbuf_cstr(&sb), "g 0.1\ng 1796041992\ng +Inf\ng -Inf\ng NaN\n"
                                "g 0.3333333333333333\n");
    CHECK(strtod("0.3333333333333333", NULL) == 1.0 / 3);       /* 16 digits read back */
    strbuf_free(&sb);
}

TEST(histogram_buckets_are_cumulative)
{
    static const double bounds[] = {0.005, 0.1, 1};
    struct prom_histogram h;
    struct strbuf sb = {0};
    struct prom_label l = {"route", "/v1/alternatives"};
    CHECK(prom_histogram_init(&h, bounds, 3) == 0);
    prom_histogram_observe(&h, 0.001);
    prom_histogram_observe(&h, 0.005);     /* on a bound: in it (le is <=) */
    prom_histogram_observe(&h, 0.5);
    prom_histogram_observe(&h, 7);         /* above every bound: +Inf only */
    CHECK(h.count == 4);
    CHECK(prom_family(&sb, "d_seconds", "histogram", "Durations.") == 0);
    CHECK(prom_histogram_samples(&sb, "d_seconds", &l, 1, &h) == 0);
    CHECK_STR(strbuf_cstr(&sb),
              "# HELP d_seconds Durations.\n"
              "# TYPE d_seconds histogram\n"
              "d_seconds_bucket{route=\"/v1/alternatives\",le=\"0.005\"} 2\n"
              "d_seconds_bucket{route=\"/v1/alternatives\",le=\"0.1\"} 2\n"
              "d_seconds_bucket{route=\"/v1/alternatives\",le=\"1\"} 3\n"
              "d_seconds_bucket{route=\"/v1/alternatives\",le=\"+Inf\"} 4\n"
              "d_seconds_sum{route=\"/v1/alternatives\"} 7.506\n"
              "d_seconds_count{route=\"/v1/alternatives\"} 4\n");
    strbuf_reset(&sb);
    /* without labels, le is the only one */
    CHECK(prom_histogram_samples(&sb, "e", NULL, 0, &h) == 0);
    CHECK(strncmp(strbuf_cstr(&sb), "e_bucket{le=\"0.005\"} 2\n", 23) == 0);
    prom_histogram_free(&h);
    strbuf_free(&sb);
}

TEST(empty_histogram_has_every_bucket)
{
    static const double bounds[] = {1};
    struct prom_histogram h;
    struct strbuf sb = {0};
    CHECK(prom_histogram_init(&h, bounds, 1) == 0);
    CHECK(prom_histogram_samples(&sb, "e", NULL, 0, &h) == 0);
    CHECK_STR(strbuf_cstr(&sb), "e_bucket{le=\"1\"} 0\ne_bucket{le=\"+Inf\"} 0\ne_sum 0\n"
                                "e_count 0\n");
    prom_histogram_free(&h);
    strbuf_free(&sb);
}

TEST(bad_names_are_refused)
{
    struct strbuf sb = {0};
    struct prom_label bad[] = {{"1route", "x"}, {"__name__", "x"}, {"ro-ute", "x"},
                               {"route", NULL}};
    struct prom_label le = {"le", "1"};
    CHECK(prom_metric_name_ok("onloan:http_x_total") && prom_metric_name_ok("_x9"));
    CHECK(!prom_metric_name_ok("") && !prom_metric_name_ok("9x") &&
          !prom_metric_name_ok("x-y") && !prom_metric_name_ok("x y"));
    CHECK(prom_label_name_ok("code") && !prom_label_name_ok("a:b"));
    CHECK(prom_family(&sb, "x-y", "counter", "h") < 0);
    CHECK(prom_family(&sb, "x", "countr", "h") < 0);
    CHECK(prom_family(&sb, "x", NULL, "h") < 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(prom_sample_u64(&sb, "x", &bad[i], 1, 1) < 0);
    CHECK(prom_sample_u64(&sb, "9x", NULL, 0, 1) < 0);
    /* a histogram's own le cannot be given twice */
    static const double bounds[] = {1};
    struct prom_histogram h;
    CHECK(prom_histogram_init(&h, bounds, 1) == 0);
    CHECK(prom_histogram_samples(&sb, "x", &le, 1, &h) < 0);
    prom_histogram_free(&h);
    strbuf_free(&sb);
}

int main(void)
{
    RUN(family_and_plain_samples);
    RUN(label_values_and_help_are_escaped);
    RUN(reals_as_the_format_spells_them);
    RUN(histogram_buckets_are_cumulative);
    RUN(empty_histogram_has_every_bucket);
    RUN(bad_names_are_refused);
    return unit_failures != 0;
}
