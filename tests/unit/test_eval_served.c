/* test_eval_served.c: the served rows of onloan eval --titles
 * (eval_served.h): how one answer is scored, and the config the run's
 * onloand gets (the run's config with only what the run needs changed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/eval_served.h"
#include "core/strbuf.h"
#include "unit.h"

#define KEY "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int score(const char *body, const char *hidden, struct eval_served_row *row,
                 const char **why)
{
    return eval_served_score(body, strlen(body), hidden, row, why);
}

TEST(an_answer_scored)
{
    struct eval_served_row row = {.name = "served", .shown = dict_new()};
    const char *why = "unset";
    CHECK(score("{\"alternatives\":[{\"record\":\"a\",\"reason\":\"also_borrowed\"},"
                "{\"record\":\"b\",\"reason\":\"same_author\"},"
                "{\"record\":\"h\",\"reason\":\"same_subject\"}],\"degraded\":[]}",
                "h", &row, &why) == 0);
    CHECK(why == NULL);
    CHECK(row.hits == 1 && row.rr > 0.333 && row.rr < 0.334);      /* third place */
    CHECK(row.hit_reason[REASON_SAME_SUBJECT] == 1 && row.hit_reason[REASON_ALSO_BORROWED] == 0);
    CHECK(row.answered == 1 && row.degraded == 0 && dict_size(row.shown) == 3);

    /* a miss, degraded, showing one title again: counted once in coverage */
    CHECK(score("{\"alternatives\":[{\"record\":\"a\",\"reason\":\"popular\"}],"
                "\"degraded\":[\"catalogue_timeout\"]}", "h", &row, &why) == 0);
    CHECK(row.hits == 1 && row.answered == 2 && row.degraded == 1 && dict_size(row.shown) == 3);
    CHECK(score("{\"alternatives\":[],\"degraded\":[]}", "h", &row, &why) == 0);
    CHECK(row.answered == 3);

    /* not an answer: said, and not counted */
    CHECK(score("<html>", "h", &row, &why) == -1);
    CHECK_STR(why, "not JSON");
    CHECK(score("{\"error\":\"x\"}", "h", &row, &why) == -1);
    CHECK_STR(why, "no alternatives");
    CHECK(score("{\"alternatives\":[{\"record\":\"h\",\"reason\":\"guessed\"}]}", "h", &row,
                &why) == -1);
    CHECK_STR(why, "an alternative without a record or a known reason");
    CHECK(row.answered == 3 && row.hits == 1);
    dict_free(row.shown, NULL);
}

TEST(the_daemons_config)
{
    struct strbuf err = {0};
    struct config *cfg = config_load("config/onloan.json", &err);
    CHECK(cfg != NULL);
    if (!cfg) {
        printf("  %s\n", strbuf_cstr(&err));
        strbuf_free(&err);
        return;
    }
    free(cfg->redis_host);
    cfg->redis_host = strdup("127.0.0.1");
    cfg->redis_port = 6390;
    free(cfg->redis_prefix);
    cfg->redis_prefix = strdup("onloan-eval:42:");
    cfg->min_patrons = 2;
    cfg->pairs_per_loan = 1000;
    json_t *j = eval_daemon_config(cfg, "/opt/build/plugins", KEY, 8123, 2345, &err);
    CHECK(j != NULL);
    if (j) {
        CHECK_STR(json_string_value(json_object_get(j, "listen")), "127.0.0.1:8123");
        CHECK_STR(json_string_value(json_object_get(j, "plugin_dir")), "/opt/build/plugins");
        json_t *redis = json_object_get(j, "redis");
        CHECK_STR(json_string_value(json_object_get(redis, "address")), "127.0.0.1:6390");
        CHECK_STR(json_string_value(json_object_get(redis, "prefix")), "onloan-eval:42:");
        CHECK(json_integer_value(json_object_get(json_object_get(j, "privacy"), "min_patrons"))
              == 2);
        CHECK(json_integer_value(json_object_get(json_object_get(j, "model"), "pairs_per_loan"))
              == 1000);
        /* the patron key stays: patron= must give the pseudonyms eval loaded */
        CHECK(json_object_get(json_object_get(j, "privacy"), "patron_key") != NULL);
        CHECK(json_object_get(j, "experiments") == NULL);
        /* one key, eval's: patron= needs the role personalise */
        json_t *keys = json_object_get(j, "api_keys");
        CHECK(json_array_size(keys) == 1);
        CHECK_STR(json_string_value(json_object_get(json_array_get(keys, 0), "key")), KEY);
        CHECK_STR(json_string_value(json_array_get(
                      json_object_get(json_array_get(keys, 0), "roles"), 0)), "personalise");
        CHECK(json_object_get(json_object_get(j, "limits"), "per_client_rps") == NULL);
        json_t *cats = json_object_get(j, "catalogues");
        CHECK(json_array_size(cats) == 1);
        json_t *cat = json_array_get(cats, 0);
        CHECK_STR(json_string_value(json_object_get(cat, "target")), "127.0.0.1:2345/titles");
        CHECK_STR(json_string_value(json_object_get(cat, "holdings")), "koha952");
        CHECK_STR(json_string_value(json_object_get(cat, "id_field")), "001");
        /* the catalogue's own settings are the configured ones */
        CHECK(json_integer_value(json_object_get(cat, "subject_max_hits")) ==
              cfg->catalogues[0].subject_max_hits);
        CHECK_STR(json_string_value(json_object_get(cat, "name")), cfg->catalogues[0].name);
        json_decref(j);
    }
    j = eval_daemon_config(cfg, NULL, KEY, 8123, 2345, &err);    /* an installed onloand */
    CHECK(j && json_object_get(j, "plugin_dir") == NULL);
    json_decref(j);
    CHECK_STR(strbuf_cstr(&err), "");
    config_free(cfg);
    strbuf_free(&err);
}

int main(void)
{
    RUN(an_answer_scored);
    RUN(the_daemons_config);
    return unit_failures != 0;
}
