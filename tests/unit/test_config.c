/* test_config.c: the strict configuration reader. */
#include <stdlib.h>

#include "core/config.h"
#include "unit.h"

#define PRIVACY "\"privacy\": {\"patron_key\": " \
    "\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"}, " UNIT_TOUCHPOINTS
#define CATALOGUES "\"catalogues\": [{\"name\": \"demo\", \"target\": \"127.0.0.1:2100/demo\"," \
    " \"link\": {\"plugin\": \"koha\", \"base_url\": \"https://x\"}}]"

static const char good[] = "{\"listen\": \"127.0.0.1:9000\", " PRIVACY ", " CATALOGUES "}";

TEST(config_defaults_and_values)
{
    struct strbuf err = {0};
    struct config *cfg = config_parse(good, "good.json", &err);
    CHECK(cfg != NULL);
    if (!cfg) {
        printf("  %s", strbuf_cstr(&err));
        return;
    }
    CHECK_STR(cfg->listen_host, "127.0.0.1");
    CHECK(cfg->listen_port == 9000);
    CHECK(cfg->request_timeout_ms == 2000);
    CHECK(cfg->min_patrons == 3);
    CHECK(cfg->history_max == 100);
    CHECK(cfg->patron_key[31] == 0x1f);
    CHECK(cfg->ncatalogues == 1);
    CHECK(cfg->catalogues[0].protocol == CATALOGUE_Z3950);
    CHECK(cfg->catalogues[0].id_query == ID_QUERY_OR);     /* any Z39.50 server */
    CHECK(cfg->catalogues[0].holdings == HOLDINGS_KOHA952);
    CHECK_STR(cfg->catalogues[0].record_charset, "marc8s");
    CHECK(cfg->catalogues[0].batch_max == 10);
    CHECK(cfg->catalogues[0].join_max == 50);
    CHECK(cfg->max_kept_answers == 10000 && cfg->max_kept_patron_answers == 10000);
    /* the open network's limits (issue 19) */
    CHECK(cfg->listen_ingest_host == NULL);
    CHECK(cfg->max_connections == 4096 && cfg->listen_backlog == 1024);
    CHECK(cfg->read_timeout_ms == 10000);
    CHECK(cfg->per_client_rps == 0 && cfg->per_client_burst == 20);
    CHECK(cfg->rate_limit_clients == 10000);
    CHECK(cfg->catalogues[0].max_queued == 1000);
    config_free(cfg);
    cfg = config_parse("{\"listen\": \"127.0.0.1:9000\", \"listen_ingest\": \"10.1.2.3:9001\", "
                       "\"limits\": {\"max_connections\": 50, \"per_client_rps\": 7}, " PRIVACY ", "
                       CATALOGUES "}", "ingest.json", &err);
    CHECK(cfg != NULL);
    if (!cfg)
        return;
    CHECK_STR(cfg->listen_ingest_host, "10.1.2.3");
    CHECK(cfg->listen_ingest_port == 9001);
    CHECK(cfg->max_connections == 50 && cfg->per_client_rps == 7);
    CHECK(config_catalogue(cfg, NULL) == &cfg->catalogues[0]);
    CHECK(config_catalogue(cfg, "demo") == &cfg->catalogues[0]);
    CHECK(config_catalogue(cfg, "other") == NULL);
    config_free(cfg);
    strbuf_free(&err);
}

TEST(config_reports_every_error_with_its_key)
{
    const char *bad =
        "{\"listen\": \"nowhere\", \"request_timeout_ms\": \"fast\", \"colour\": 1,"
        " \"limits\": {\"max_alternatives\": 0},"
        " \"privacy\": {\"patron_key\": \"abc\"},"
        " \"catalogues\": [{\"name\": \"demo\", \"target\": \"127.0.0.1:2100/demo\","
        "   \"protocol\": \"gopher\", \"id_query\": \"sql\", \"holdings\": \"999\","
        "   \"link\": {\"plugin\": \"koha\"}}]}";
    struct strbuf err = {0};
    struct config *cfg = config_parse(bad, "bad.json", &err);
    CHECK(cfg == NULL);
    const char *e = strbuf_cstr(&err);
    CHECK(strstr(e, "bad.json: listen: must be IP:PORT") != NULL);
    CHECK(strstr(e, "bad.json: request_timeout_ms: must be an integer") != NULL);
    CHECK(strstr(e, "bad.json: colour: unknown key") != NULL);
    CHECK(strstr(e, "bad.json: limits.max_alternatives: must be between 1 and 100") != NULL);
    CHECK(strstr(e, "bad.json: privacy.patron_key: must be 64 hexadecimal digits") != NULL);
    CHECK(strstr(e, "bad.json: catalogues[0].protocol: must be") != NULL);
    CHECK(strstr(e, "bad.json: catalogues[0].id_query: must be \"or\" or \"regex\"") != NULL);
    CHECK(strstr(e, "bad.json: catalogues[0].holdings: must be \"koha952\" or \"sirsi949\"") != NULL);
    config_free(cfg);
    strbuf_free(&err);
}

TEST(config_record_id_limit_within_a_zebra_term)
{
    /* Zebra takes search terms of up to 511 bytes: 511 is the most. */
    struct strbuf err = {0};
    struct config *cfg = config_parse("{\"limits\": {\"max_record_id_bytes\": 511}, " PRIVACY ", "
                                      CATALOGUES "}", "l.json", &err);
    CHECK(cfg != NULL && cfg->max_record_id_bytes == 511);
    config_free(cfg);
    cfg = config_parse("{\"limits\": {\"max_record_id_bytes\": 512}, " PRIVACY ", " CATALOGUES "}",
                       "l.json", &err);
    CHECK(cfg == NULL);
    CHECK(strstr(strbuf_cstr(&err), "l.json: limits.max_record_id_bytes: must be between 1 and 511") != NULL);
    config_free(cfg);
    strbuf_free(&err);
}

TEST(config_syntax_error_has_line)
{
    struct strbuf err = {0};
    CHECK(config_parse("{\n\"listen\": \n}", "syntax.json", &err) == NULL);
    CHECK(strncmp(strbuf_cstr(&err), "syntax.json:3:", 14) == 0);
    strbuf_free(&err);
}

TEST(config_rejects_names_for_redis)
{
    /* hiredis resolves names blocking: only numeric addresses are taken. */
    struct strbuf err = {0};
    const char *text = "{\"redis\": {\"address\": \"localhost:6379\"}, " PRIVACY ", " CATALOGUES "}";
    struct config *cfg = config_parse(text, "r.json", &err);
    CHECK(cfg == NULL);
    CHECK(strstr(strbuf_cstr(&err), "redis.address: must be a numeric IPv4 address") != NULL);
    config_free(cfg);
    strbuf_free(&err);
}

/* A key onloan does not use is an error, not silently nothing: so is
 * public_base_url, which no version ever used. */
TEST(config_public_base_url_is_unknown)
{
    struct strbuf err = {0};
    struct config *cfg = config_parse(
        "{\"public_base_url\": \"http://127.0.0.1:8080\", \"privacy\": {\"patron_key\": "
        "\"0000000000000000000000000000000000000000000000000000000000000000\"}, " UNIT_TOUCHPOINTS ","
        " \"catalogues\": [{\"name\": \"demo\", \"target\": \"127.0.0.1:2100/demo\","
        " \"link\": {\"plugin\": \"koha\", \"base_url\": \"https://x\"}}]}", "old.json", &err);
    CHECK(cfg == NULL);
    CHECK_STR(strbuf_cstr(&err), "old.json: public_base_url: unknown key\n");
    config_free(cfg);
    strbuf_free(&err);
}

/* touchpoints, http, reports, experiments, goals and the report role, as
 * the example config has them. */
TEST(config_marketing_sections)
{
    struct strbuf err = {0};
    struct config *cfg = config_load("config/onloan.json", &err);
    CHECK(cfg != NULL);
    if (!cfg) {
        printf("  %s", strbuf_cstr(&err));
        strbuf_free(&err);
        return;
    }
    CHECK(cfg->token_ttl_s == 604800 && cfg->attribution_days == 14);
    CHECK(cfg->ncors_origins == 1 && strcmp(cfg->cors_origins[0], "https://opac.example.org") == 0);
    CHECK(cfg->report_max_days == 731);
    CHECK(cfg->nexperiments == 1);
    if (cfg->nexperiments == 1) {
        const struct experiment_config *ex = &cfg->experiments[0];
        CHECK_STR(ex->name, "demo-ab");
        CHECK_STR(ex->from, "2026-12-01");
        CHECK(ex->channels == 1u << CHANNEL_OPAC);
        CHECK(ex->narms == 2 && ex->arms[0].share == 50 && ex->arms[0].alternatives == -1);
        CHECK(ex->narms == 2 && ex->arms[1].alternatives == 0 && ex->arms[1].fallbacks == -1);
    }
    CHECK(cfg->ngoals == 2);
    if (cfg->ngoals == 2) {
        CHECK(cfg->goals[0].metric == RATE_RESERVE && cfg->goals[0].target == 0.06);
        CHECK(cfg->goals[0].channel == CHANNEL_OPAC && !cfg->goals[0].branch);
        CHECK(cfg->goals[0].from[0] == '\0');
        CHECK(cfg->goals[1].channel == -1);
    }
    const char *name;
    CHECK(config_api_key_roles(cfg, "demo-report-key-change-me", 25, &name) == ROLE_REPORT);
    config_free(cfg);
    strbuf_free(&err);
}

TEST(config_dates)
{
    CHECK(config_date_days("1970-01-01") == 0);
    CHECK(config_date_days("2026-12-04") == 20791);
    CHECK(config_date_days("2024-02-29") == 19782);
    CHECK(config_date_days("2023-02-29") == -1);
    CHECK(config_date_days("2026-13-01") == -1);
    CHECK(config_date_days("2026-12-4") == -1);
    CHECK(config_date_days("2026/12/04") == -1);
    CHECK(config_date_days("1969-12-31") == -1);
}

TEST(config_id_field_syntax)
{
    CHECK(config_id_field_valid("001"));
    CHECK(config_id_field_valid("999$c"));
    CHECK(!config_id_field_valid("245"));       /* not a control field */
    CHECK(!config_id_field_valid("99$c"));
    CHECK(!config_id_field_valid("999$"));
}

TEST(config_split_address_bounds)
{
    char *host = NULL;
    int port = 0;
    CHECK(config_split_address("1.2.3.4:65535", &host, &port) == 0 && port == 65535);
    free(host);
    CHECK(config_split_address("1.2.3.4:65536", &host, &port) < 0);
    CHECK(config_split_address("1.2.3.4:", &host, &port) < 0);
    CHECK(config_split_address(":80", &host, &port) < 0);
}

TEST(config_join_max_not_below_batch_max)
{
    /* A joined search must hold at least one request's round. */
    struct strbuf err = {0};
    const char *text = "{" PRIVACY ", \"catalogues\": [{\"name\": \"demo\","
        " \"target\": \"127.0.0.1:2100/demo\", \"batch_max\": 20, \"join_max\": 19,"
        " \"link\": {\"plugin\": \"koha\", \"base_url\": \"https://x\"}}]}";
    struct config *cfg = config_parse(text, "j.json", &err);
    CHECK(cfg == NULL);
    CHECK(strstr(strbuf_cstr(&err), "j.json: catalogues[0].join_max: must be at least batch_max (20)") != NULL);
    config_free(cfg);
    strbuf_reset(&err);
    cfg = config_parse("{" PRIVACY ", \"catalogues\": [{\"name\": \"demo\","
                       " \"target\": \"127.0.0.1:2100/demo\", \"batch_max\": 20, \"join_max\": 20,"
                       " \"link\": {\"plugin\": \"koha\", \"base_url\": \"https://x\"}}]}",
                       "j.json", &err);
    CHECK(cfg != NULL && cfg->catalogues[0].join_max == 20);
    config_free(cfg);
    strbuf_reset(&err);
    cfg = config_parse("{" PRIVACY ", \"catalogues\": [{\"name\": \"demo\","
                       " \"target\": \"127.0.0.1:2100/demo\", \"max_queued\": 0,"
                       " \"link\": {\"plugin\": \"koha\", \"base_url\": \"https://x\"}}]}",
                       "q.json", &err);
    CHECK(cfg == NULL);
    CHECK(strstr(strbuf_cstr(&err), "q.json: catalogues[0].max_queued: must be between 1 and 1000000") != NULL);
    config_free(cfg);
    strbuf_free(&err);
}

/* The loan model's keys: each bound and each check names its key. */
TEST(config_model_ingest_and_api_keys_checked)
{
    static const struct {
        const char *json, *want;
    } cases[] = {
        {"\"model\": {\"flush_ms\": 0}", "model.flush_ms: must be between 1 and 60000"},
        {"\"model\": {\"history_titles\": 101}", "model.history_titles: must be between 0 and 100"},
        {"\"model\": {\"pairs_per_loan\": 10001}", "model.pairs_per_loan: must be between 1 and 10000"},
        {"\"model\": {\"scoring\": \"magic\"}", "model.scoring"},
        {"\"ingest\": {\"gather_max_events\": 0}", "ingest.gather_max_events: must be between 1 and 1000000"},
        {"\"ingest\": {\"max_events_per_request\": 0}",
         "ingest.max_events_per_request: must be between 1 and 1000000"},
        {"\"ingest\": {\"max_body_bytes\": 63}", "ingest.max_body_bytes: must be between 64 and"},
        {"\"ingest\": {\"movielens_record_prefix\": \"f/\"}",
         "ingest.movielens_record_prefix: must be the start of a record id"},
        {"\"privacy\": {\"patron_key\": \"0000000000000000000000000000000000000000000000000000000000000000\","
         " \"history_max\": 0}", "privacy.history_max: must be between 1 and 10000"},
        {"\"api_keys\": [{\"name\": \"a\", \"key\": \"short\", \"roles\": [\"ingest\"]}]",
         "api_keys[0].key: must be at least 16 characters"},
        {"\"api_keys\": [{\"name\": \"a\", \"key\": \"0123456789abcdef\", \"roles\": [\"ingest\"]},"
         " {\"name\": \"b\", \"key\": \"0123456789abcdef\", \"roles\": [\"forget\"]}]",
         "api_keys[1].key: is the same as api_keys[0].key"},
        {"\"api_keys\": [{\"name\": \"a\", \"key\": \"0123456789abcdef\", \"roles\": [\"admin\"]}]",
         "api_keys[0].roles: unknown role"},
        {"\"api_keys\": [{\"name\": \"a\", \"key\": \"0123456789abcdef\", \"roles\": []}]",
         "api_keys[0].roles: must be a non-empty array"},
        {"\"api_keys\": {}", "api_keys: must be an array"},
        {"\"limits\": {\"max_kept_answers\": -1}", "limits.max_kept_answers: must be between 0 and 1000000"},
        {"\"limits\": {\"max_connections\": 0}", "limits.max_connections: must be between 1 and 1000000"},
        {"\"limits\": {\"listen_backlog\": 70000}", "limits.listen_backlog: must be between 1 and 65535"},
        {"\"limits\": {\"read_timeout_ms\": 99}", "limits.read_timeout_ms: must be between 100 and 3600000"},
        {"\"limits\": {\"per_client_rps\": -1}", "limits.per_client_rps: must be between 0 and 1000000"},
        {"\"limits\": {\"per_client_burst\": 0}", "limits.per_client_burst: must be between 1 and 1000000"},
        {"\"limits\": {\"rate_limit_clients\": 0}", "limits.rate_limit_clients: must be between 1 and 10000000"},
        {"\"listen_ingest\": \"localhost:9001\"", "listen_ingest: must be a numeric IPv4 address"},
        {"\"listen_ingest\": \"127.0.0.1:8080\"", "listen_ingest: must not be the same address as listen"},
        {"\"limits\": {\"max_kept_patron_answers\": 1000001}",
         "limits.max_kept_patron_answers: must be between 0 and 1000000"},
        {"\"limits\": {\"max_kept_patron_answers\": \"many\"}",
         "limits.max_kept_patron_answers: must be an integer"},
        {"\"privacy\": {\"patron_key\": \"0000000000000000000000000000000000000000000000000000000000000000\"}",
         "touchpoints: is required (it holds token_key)"},
        {"\"privacy\": {\"patron_key\": \"0000000000000000000000000000000000000000000000000000000000000000\"},"
         " \"touchpoints\": {\"token_key\": \"00\"}", "touchpoints.token_key: must be 64 hexadecimal digits"},
        {"\"privacy\": {\"patron_key\": \"0000000000000000000000000000000000000000000000000000000000000000\"},"
         " \"touchpoints\": {\"token_key\": \"0000000000000000000000000000000000000000000000000000000000000000\","
         " \"token_ttl_s\": 59}", "touchpoints.token_ttl_s: must be between 60 and 31536000"},
        {"\"http\": {\"cors_origins\": [\"https://*.example.org\"]}", "http.cors_origins: [0] must be an exact origin"},
        {"\"http\": {\"cors_origins\": [\"https://opac.example.org/page\"]}", "http.cors_origins: [0] must be an exact origin"},
        {"\"reports\": {\"max_days\": 0}", "reports.max_days: must be between 1 and 36600"},
        {"\"experiments\": [{\"name\": \"x\", \"from\": \"2026-12-01\", \"until\": \"2027-01-01\","
         " \"channels\": [\"opac\"], \"arms\": [{\"name\": \"a\", \"share\": 50}, {\"name\": \"b\", \"share\": 40}]}]",
         "experiments[0].arms: shares must add up to 100, not 90"},
        {"\"experiments\": [{\"name\": \"x\", \"from\": \"2026-12-01\", \"until\": \"2026-12-01\","
         " \"channels\": [\"opac\"], \"arms\": [{\"name\": \"a\", \"share\": 50}, {\"name\": \"b\", \"share\": 50}]}]",
         "experiments[0].until: must be after from"},
        {"\"experiments\": [{\"name\": \"x\", \"from\": \"2026-02-30\", \"until\": \"2027-01-01\","
         " \"channels\": [\"opac\"], \"arms\": [{\"name\": \"a\", \"share\": 50}, {\"name\": \"b\", \"share\": 50}]}]",
         "experiments[0].from: must be a date YYYY-MM-DD, got \"2026-02-30\""},
        {"\"experiments\": [{\"name\": \"x\", \"from\": \"2026-12-01\", \"until\": \"2027-01-01\","
         " \"channels\": [\"fax\"], \"arms\": [{\"name\": \"a\", \"share\": 50}, {\"name\": \"a\", \"share\": 50,"
         " \"alternatives\": 21}]}]", "experiments[0].channels: [0] must be opac, kiosk, app or widget"},
        {"\"experiments\": [{\"name\": \"x\", \"from\": \"2026-12-01\", \"until\": \"2027-01-01\","
         " \"channels\": [\"opac\"], \"arms\": [{\"name\": \"a\", \"share\": 50}, {\"name\": \"a\", \"share\": 50}]}]",
         "experiments[0].arms[1].name: \"a\" is used twice"},
        {"\"experiments\": [{\"name\": \"x\", \"from\": \"2026-12-01\", \"until\": \"2027-01-01\","
         " \"channels\": [\"opac\"], \"arms\": [{\"name\": \"a\", \"share\": 50}, {\"name\": \"b\", \"share\": 50,"
         " \"alternatives\": 21}]}]", "experiments[0].arms[1].alternatives: must be between 0 and 20"},
        {"\"experiments\": [{\"name\": \"x\", \"from\": \"2026-12-01\", \"until\": \"2027-01-01\","
         " \"channels\": [\"opac\", \"app\"], \"arms\": [{\"name\": \"a\", \"share\": 50}, {\"name\": \"b\", \"share\": 50}]},"
         " {\"name\": \"y\", \"from\": \"2026-12-31\", \"until\": \"2027-02-01\","
         " \"channels\": [\"app\"], \"arms\": [{\"name\": \"a\", \"share\": 50}, {\"name\": \"b\", \"share\": 50}]}]",
         "experiments[1].channels: experiments[0] runs on the same channel at the same time"},
        {"\"goals\": [{\"name\": \"g\", \"metric\": \"borrow\", \"target\": 0.1, \"by\": \"2027-06-30\"}]",
         "goals[0].metric: must be \"click_rate\", \"reserve_rate\" or \"alternative_borrow_rate\""},
        {"\"goals\": [{\"name\": \"g\", \"metric\": \"reserve_rate\", \"target\": 6, \"by\": \"2027-06-30\"}]",
         "goals[0].target: must be a rate above 0 and at most 1"},
        {"\"goals\": [{\"name\": \"g\", \"metric\": \"reserve_rate\", \"target\": 0.06, \"by\": \"2027-06-30\","
         " \"segment\": {\"channel\": \"opac\", \"shelf\": 1}}]", "goals[0].segment.shelf: unknown key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct strbuf text = {0}, err = {0};
        int own_privacy = strstr(cases[i].json, "\"privacy\"") != NULL;
        strbuf_printf(&text, "{%s\"catalogues\": [{\"name\": \"demo\", \"target\": "
                      "\"127.0.0.1:2100/demo\", \"link\": {\"plugin\": \"koha\", \"base_url\": "
                      "\"https://x\"}}], %s}", own_privacy ? "" : PRIVACY ", ", cases[i].json);
        struct config *cfg = config_parse(strbuf_cstr(&text), "m.json", &err);
        int ok = cfg == NULL && strstr(strbuf_cstr(&err), cases[i].want) != NULL;
        if (!ok)
            printf("  %s: want \"%s\", got \"%s\"\n", cases[i].json, cases[i].want, strbuf_cstr(&err));
        CHECK(ok);
        config_free(cfg);
        strbuf_free(&text);
        strbuf_free(&err);
    }
}

int main(void)
{
    RUN(config_defaults_and_values);
    RUN(config_reports_every_error_with_its_key);
    RUN(config_record_id_limit_within_a_zebra_term);
    RUN(config_syntax_error_has_line);
    RUN(config_rejects_names_for_redis);
    RUN(config_public_base_url_is_unknown);
    RUN(config_marketing_sections);
    RUN(config_dates);
    RUN(config_id_field_syntax);
    RUN(config_split_address_bounds);
    RUN(config_join_max_not_below_batch_max);
    RUN(config_model_ingest_and_api_keys_checked);
    return unit_failures != 0;
}
