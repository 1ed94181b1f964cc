/* test_config.c: the strict configuration reader. */
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

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
    /* a pair: any two titles a history holds together (its life: 400 days) */
    CHECK(cfg->history_ttl_days == 400 && cfg->window_days == cfg->history_ttl_days);
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
    CHECK(cfg->catalogues[0].search_max_records == 200);
    CHECK(cfg->catalogues[0].fit == (FIT_FORMAT | FIT_AUDIENCE | FIT_LANGUAGE));
    CHECK(cfg->catalogues[0].loan_period_days == 21);
    CHECK(cfg->catalogues[0].norder == NREASONS);
    CHECK(cfg->catalogues[0].order[0] == REASON_SAME_AUTHOR);
    CHECK(cfg->catalogues[0].order[1] == REASON_ALSO_BORROWED);
    CHECK(cfg->catalogues[0].order[2] == REASON_SAME_SUBJECT);
    CHECK(cfg->catalogues[0].order[3] == REASON_POPULAR);
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

/* redis.sentinels (issue 21): read with master_name and an optional
 * password; their limits and the keys that need them reported. */
TEST(config_sentinels)
{
    struct strbuf err = {0};
    struct config *cfg = config_parse(
        "{\"redis\": {\"sentinels\": [\"127.0.0.1:26379\", \"10.0.0.2:26380\"], "
        "\"master_name\": \"onloan\", \"sentinel_password\": \"s3cret-sentinel\"}, " PRIVACY ", " CATALOGUES "}", "s.json", &err);
    CHECK(cfg != NULL);
    if (cfg) {
        CHECK(cfg->nredis_sentinels == 2);
        CHECK_STR(cfg->redis_sentinels[1].host, "10.0.0.2");
        CHECK(cfg->redis_sentinels[1].port == 26380);
        CHECK_STR(cfg->redis_master_name, "onloan");
        CHECK_STR(cfg->redis_sentinel_password, "s3cret-sentinel");
    }
    config_free(cfg);
    cfg = config_parse(good, "good.json", &err);
    CHECK(cfg && cfg->nredis_sentinels == 0 && cfg->redis_master_name == NULL);
    config_free(cfg);

    strbuf_free(&err);
    CHECK(config_parse("{\"redis\": {\"sentinels\": [\"127.0.0.1:26379\", \"localhost:26379\", 7], "
                       "\"address\": \"127.0.0.1:6379\"}, "
                       PRIVACY ", " CATALOGUES "}", "bad.json", &err) == NULL);
    CHECK(strstr(strbuf_cstr(&err), "redis.sentinels: entry 1 must be a numeric IPv4 address") != NULL);
    CHECK(strstr(strbuf_cstr(&err), "redis.sentinels: entry 2 must be IP:PORT") != NULL);
    CHECK(strstr(strbuf_cstr(&err), "redis.address: must not be given with sentinels") != NULL);
    CHECK(strstr(strbuf_cstr(&err), "redis.master_name: is required") != NULL);

    strbuf_free(&err);
    char many[1024] = "{\"redis\": {\"master_name\": \"m\", \"sentinels\": [";
    for (int i = 0; i < 17; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%s\"127.0.0.1:%d\"",
                 i ? ", " : "", 26000 + i);
    snprintf(many + strlen(many), sizeof many - strlen(many), "]}, %s, %s}", PRIVACY, CATALOGUES);
    CHECK(config_parse(many, "many.json", &err) == NULL);
    CHECK(strstr(strbuf_cstr(&err), "redis.sentinels: must be an array of 1 to 16") != NULL);

    strbuf_free(&err);
    CHECK(config_parse("{\"redis\": {\"master_name\": \"m\", \"sentinel_password\": \"x\"}, "
                       PRIVACY ", " CATALOGUES "}", "orphans.json", &err) == NULL);
    CHECK(strstr(strbuf_cstr(&err), "redis.master_name: needs sentinels") != NULL);
    CHECK(strstr(strbuf_cstr(&err), "redis.sentinel_password: needs sentinels") != NULL);
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
    CHECK(cfg->report_max_rows == 100000);
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
    /* the OPAC's server side: patron= (and nothing else a key guards) */
    CHECK(config_api_key_roles(cfg, "demo-opac-key-change-me", 23, &name) == ROLE_PERSONALISE);
    CHECK(name && strcmp(name, "opac") == 0);
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
    for (int bad = 0; bad < 2; bad++) {
        strbuf_reset(&err);
        cfg = config_parse(bad ? "{" PRIVACY ", \"catalogues\": [{\"name\": \"demo\","
                                 " \"target\": \"127.0.0.1:2100/demo\", \"search_max_records\": 1001,"
                                 " \"link\": {\"plugin\": \"koha\", \"base_url\": \"https://x\"}}]}"
                               : "{" PRIVACY ", \"catalogues\": [{\"name\": \"demo\","
                                 " \"target\": \"127.0.0.1:2100/demo\", \"search_max_records\": 0,"
                                 " \"link\": {\"plugin\": \"koha\", \"base_url\": \"https://x\"}}]}",
                           "s.json", &err);
        CHECK(cfg == NULL);
        CHECK(strstr(strbuf_cstr(&err), "s.json: catalogues[0].search_max_records: must be "
                                        "between 1 and 1000") != NULL);
        config_free(cfg);
    }
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
         "api_keys[0].key: must be at least 32 characters"},
        {"\"api_keys\": [{\"name\": \"a\", \"key\": \"0123456789abcdef0123456789abcdef\", \"roles\": [\"ingest\"]},"
         " {\"name\": \"b\", \"key\": \"0123456789abcdef0123456789abcdef\", \"roles\": [\"forget\"]}]",
         "api_keys[1].key: is the same as api_keys[0].key"},
        {"\"api_keys\": [{\"name\": \"a\", \"key\": \"0123456789abcdef\", \"roles\": [\"admin\"]}]",
         "api_keys[0].roles: unknown role (known: ingest, forget, report, personalise)"},
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
        {"\"reports\": {\"max_rows\": 0}", "reports.max_rows: must be between 1 and 10000000"},
        {"\"reports\": {\"max_rows\": 100, \"rows\": 1}", "reports.rows: unknown key"},
        /* a goal is a report of its days: at most reports.max_days of them */
        {"\"reports\": {\"max_days\": 365}, \"goals\": [{\"name\": \"g\", \"metric\": \"reserve_rate\","
         " \"target\": 0.06, \"by\": \"2027-06-30\"}]",
         "goals[0].by: spans 366 days from its default from (a year before by), more than "
         "reports.max_days (365): set from"},
        {"\"goals\": [{\"name\": \"g\", \"metric\": \"reserve_rate\", \"target\": 0.06,"
         " \"from\": \"2025-01-01\", \"by\": \"2027-01-02\"}]",
         "goals[0].from: from..by spans 732 days, more than reports.max_days (731)"},
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

/* ---- secrets and plugin_dir (issue 19) ---------------------------------- */

#define HEX_A "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
#define HEX_B "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
#define EXAMPLE_PATRON_KEY "6f6e6c6f616e2d64656d6f2d6b65792d6368616e67652d6d652d706c65617365"
#define EXAMPLE_TOKEN_KEY "746f756368706f696e742d746f6b656e2d64656d6f2d6b65792d6368616e6765"
#define LONG_KEY "0123456789abcdef0123456789abcdef"    /* 32 characters */

static char tmpdir[64];

/* tmpdir/name with text, mode; the path in a static buffer of its own. */
static const char *secret_file(const char *name, const char *text, mode_t mode)
{
    static char paths[8][PATH_MAX];
    static int next;
    char *path = paths[next++ % 8];
    snprintf(path, PATH_MAX, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    chmod(path, mode);
    return path;
}

/* Parses a config of the given privacy, touchpoints and api_keys parts
 * (and extra top-level keys); NULL with the errors in err. */
static struct config *with_secrets(const char *privacy, const char *touchpoints,
                                   const char *api_keys, const char *extra, struct strbuf *err)
{
    struct strbuf text = {0};
    strbuf_printf(&text, "{%s \"privacy\": {%s}, \"touchpoints\": {%s}, \"api_keys\": [%s], "
                  CATALOGUES "}", extra, privacy, touchpoints, api_keys);
    strbuf_reset(err);
    struct config *cfg = config_parse(strbuf_cstr(&text), "s.json", err);
    strbuf_free(&text);
    return cfg;
}

static int has(const struct strbuf *err, const char *want)
{
    if (strstr(strbuf_cstr(err), want))
        return 1;
    printf("  want \"%s\" in \"%s\"\n", want, strbuf_cstr(err));
    return 0;
}

TEST(config_secrets_from_files)
{
    struct strbuf err = {0}, p = {0}, t = {0}, k = {0};
    strbuf_printf(&p, "\"patron_key_file\": \"%s\"", secret_file("patron", HEX_A "\n", 0600));
    strbuf_printf(&t, "\"token_key_file\": \"%s\"", secret_file("token", HEX_B, 0400));
    strbuf_printf(&k, "{\"name\": \"ils\", \"key_file\": \"%s\", \"roles\": [\"ingest\"]}",
                  secret_file("ingest", LONG_KEY "\n", 0600));
    struct config *cfg = with_secrets(strbuf_cstr(&p), strbuf_cstr(&t), strbuf_cstr(&k), "", &err);
    CHECK(cfg != NULL);
    if (cfg) {
        CHECK(cfg->patron_key[0] == 0xa0 && cfg->patron_key[31] == 0xbf);
        CHECK(cfg->token_key[0] == 0xc0 && cfg->token_key[31] == 0xdf);
        const char *name;
        /* one trailing newline dropped: the key is the line */
        CHECK(config_api_key_roles(cfg, LONG_KEY, strlen(LONG_KEY), &name) == ROLE_INGEST);
        CHECK(config_api_key_roles(cfg, LONG_KEY "\n", strlen(LONG_KEY) + 1, &name) == 0);
        CHECK(config_exposures(cfg) == NULL);
        CHECK(!cfg->demo);
    } else {
        printf("  %s", strbuf_cstr(&err));
    }
    config_free(cfg);
    strbuf_free(&p);
    strbuf_free(&t);
    strbuf_free(&k);
    strbuf_free(&err);
}

/* A bare name is a systemd credential: $CREDENTIALS_DIRECTORY/name. */
TEST(config_secrets_from_credentials)
{
    struct strbuf err = {0};
    secret_file("patron_key", HEX_A, 0400);
    unsetenv("CREDENTIALS_DIRECTORY");
    struct config *cfg = with_secrets("\"patron_key_file\": \"patron_key\"",
                                      "\"token_key\": \"" HEX_B "\"", "", "", &err);
    CHECK(cfg == NULL);
    CHECK(has(&err, "s.json: privacy.patron_key_file: \"patron_key\" is the name of a credential, "
                    "but CREDENTIALS_DIRECTORY is not set"));
    setenv("CREDENTIALS_DIRECTORY", tmpdir, 1);
    cfg = with_secrets("\"patron_key_file\": \"patron_key\"", "\"token_key\": \"" HEX_B "\"", "", "",
                       &err);
    CHECK(cfg != NULL && cfg->patron_key[0] == 0xa0);
    CHECK(cfg != NULL && config_exposures(cfg) == NULL);
    config_free(cfg);
    /* systemd gives the service read access by an ACL where it can, which
     * shows in the mode as group bits (the ACL's mask): not an exposure */
    chmod(secret_file("patron_key", HEX_A, 0440), 0440);
    cfg = with_secrets("\"patron_key_file\": \"patron_key\"", "\"token_key\": \"" HEX_B "\"", "", "",
                       &err);
    CHECK(cfg != NULL && config_exposures(cfg) == NULL);
    config_free(cfg);
    cfg = with_secrets("\"patron_key_file\": \"..\"", "\"token_key\": \"" HEX_B "\"", "", "", &err);
    CHECK(cfg == NULL && has(&err, "privacy.patron_key_file: \"..\" is not a credential name"));
    unsetenv("CREDENTIALS_DIRECTORY");
    strbuf_free(&err);
}

/* Every way a KEY_file can be wrong is an error naming the key's path,
 * all of them in one pass. */
TEST(config_secret_file_errors)
{
    struct strbuf err = {0}, text = {0};
    char big[SECRET_FILE_MAX_BYTES + 2];
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char fifo[PATH_MAX];
    snprintf(fifo, sizeof fifo, "%s/fifo", tmpdir);
    CHECK(mkfifo(fifo, 0600) == 0);
    strbuf_printf(&text,
        "{\"privacy\": {\"patron_key_file\": \"%s\"},"
        " \"touchpoints\": {\"token_key_file\": \"relative/token\"},"
        " \"api_keys\": [{\"name\": \"a\", \"key_file\": \"%s\", \"roles\": [\"ingest\"]},"
        "   {\"name\": \"b\", \"key_file\": \"%s\", \"roles\": [\"ingest\"]},"
        "   {\"name\": \"c\", \"key_file\": \"%s\", \"roles\": [\"ingest\"]},"
        "   {\"name\": \"d\", \"key_file\": \"%s\", \"roles\": [\"ingest\"]},"
        "   {\"name\": \"e\", \"key_file\": \"%s/none\", \"roles\": [\"ingest\"]},"
        "   {\"name\": \"f\", \"key_file\": \"%s\", \"key\": \"" LONG_KEY "\", \"roles\": [\"ingest\"]},"
        "   {\"name\": \"g\", \"roles\": [\"ingest\"]},"
        "   {\"name\": \"h\", \"key_file\": \"%s\", \"roles\": [\"ingest\"]}], " CATALOGUES "}",
        secret_file("shorthex", "abcd\n", 0600), secret_file("empty", "\n", 0600),
        secret_file("twolines", LONG_KEY "\n" LONG_KEY "\n", 0600), secret_file("big", big, 0600),
        fifo, tmpdir, secret_file("both", LONG_KEY, 0600), secret_file("short", "short-key\n", 0600));
    struct config *cfg = config_parse(strbuf_cstr(&text), "e.json", &err);
    CHECK(cfg == NULL);
    CHECK(has(&err, "e.json: privacy.patron_key_file: must be 64 hexadecimal digits"));
    CHECK(has(&err, "e.json: touchpoints.token_key_file: must be an absolute path, or the name of "
                    "a systemd credential (no '/'), got \"relative/token\""));
    CHECK(has(&err, "e.json: api_keys[0].key_file: "));
    CHECK(has(&err, "/empty: is empty"));
    CHECK(has(&err, "e.json: api_keys[1].key_file: "));
    CHECK(has(&err, "/twolines: must hold the key alone on one line"));
    CHECK(has(&err, "e.json: api_keys[2].key_file: "));
    CHECK(has(&err, "/big: is larger than 4096 bytes: not a key"));
    CHECK(has(&err, "e.json: api_keys[3].key_file: "));
    CHECK(has(&err, "/fifo: is not a regular file"));
    CHECK(has(&err, "e.json: api_keys[4].key_file: "));
    CHECK(has(&err, "/none: cannot read: No such file or directory"));
    CHECK(has(&err, "e.json: api_keys[5].key: give key or key_file, not both"));
    CHECK(has(&err, "e.json: api_keys[6].key: is required (or key_file, a file that holds it)"));
    CHECK(has(&err, "e.json: api_keys[7].key_file: must be at least 32 characters"));
    config_free(cfg);
    unlink(fifo);
    strbuf_free(&text);
    strbuf_free(&err);
}

/* The keys published in config/onloan.json, and API keys under 32
 * characters, only with "demo": true (then 16 at least). */
TEST(config_example_keys_only_for_demos)
{
    struct strbuf err = {0};
    static const char demo_keys[] =
        "{\"name\": \"ils\", \"key\": \"demo-ingest-key-change-me\", \"roles\": [\"ingest\"]}";
    struct config *cfg = with_secrets("\"patron_key\": \"" EXAMPLE_PATRON_KEY "\"",
                                      "\"token_key\": \"" EXAMPLE_TOKEN_KEY "\"", demo_keys, "", &err);
    CHECK(cfg == NULL);
    CHECK(has(&err, "s.json: privacy.patron_key: is a key published with onloan (for demos, with "
                    "\"demo\": true): make one of your own"));
    CHECK(has(&err, "s.json: touchpoints.token_key: is a key published with onloan"));
    CHECK(has(&err, "s.json: api_keys[0].key: is a key published with onloan"));
    /* upper case is the same key */
    cfg = with_secrets("\"patron_key\": \"6F6E6C6F616E2D64656D6F2D6B65792D6368616E67652D6D652D706C65617365\"",
                       "\"token_key\": \"" HEX_B "\"", "", "", &err);
    CHECK(cfg == NULL && has(&err, "privacy.patron_key: is a key published with onloan"));
    /* so is one in a file */
    struct strbuf p = {0};
    strbuf_printf(&p, "\"patron_key_file\": \"%s\"", secret_file("ex", EXAMPLE_PATRON_KEY "\n", 0600));
    cfg = with_secrets(strbuf_cstr(&p), "\"token_key\": \"" HEX_B "\"", "", "", &err);
    CHECK(cfg == NULL && has(&err, "privacy.patron_key_file: is a key published with onloan"));
    strbuf_free(&p);
    cfg = with_secrets("\"patron_key\": \"" EXAMPLE_PATRON_KEY "\"",
                       "\"token_key\": \"" EXAMPLE_TOKEN_KEY "\"", demo_keys, "\"demo\": true,", &err);
    CHECK(cfg != NULL && cfg->demo);
    config_free(cfg);
    cfg = with_secrets("\"patron_key\": \"" HEX_A "\"", "\"token_key\": \"" HEX_B "\"",
                       "{\"name\": \"a\", \"key\": \"0123456789abcdef0123456789abcde\", \"roles\": [\"ingest\"]}",
                       "", &err);
    CHECK(cfg == NULL && has(&err, "api_keys[0].key: must be at least 32 characters"));
    cfg = with_secrets("\"patron_key\": \"" HEX_A "\"", "\"token_key\": \"" HEX_B "\"",
                       "{\"name\": \"a\", \"key\": \"" LONG_KEY "\", \"roles\": [\"ingest\"]}", "", &err);
    CHECK(cfg != NULL);
    config_free(cfg);
    cfg = with_secrets("\"patron_key\": \"" HEX_A "\"", "\"token_key\": \"" HEX_B "\"",
                       "{\"name\": \"a\", \"key\": \"0123456789abcdef\", \"roles\": [\"ingest\"]}",
                       "\"demo\": true,", &err);
    CHECK(cfg != NULL);
    config_free(cfg);
    cfg = with_secrets("\"patron_key\": \"" HEX_A "\"", "\"token_key\": \"" HEX_B "\"",
                       "{\"name\": \"a\", \"key\": \"0123456789abcde\", \"roles\": [\"ingest\"]}",
                       "\"demo\": true,", &err);
    CHECK(cfg == NULL && has(&err, "api_keys[0].key: must be at least 16 characters"));
    cfg = with_secrets("\"patron_key\": \"" HEX_A "\"", "\"token_key\": \"" HEX_B "\"", "",
                       "\"demo\": \"yes\",", &err);
    CHECK(cfg == NULL && has(&err, "s.json: demo: must be true or false"));
    strbuf_free(&err);
}

/* Secrets that others can read: not errors, exposures, one per secret. */
TEST(config_exposures_of_secrets)
{
    struct strbuf err = {0}, text = {0};
    const char *shared = secret_file("shared-token", HEX_B, 0640);
    strbuf_printf(&text, "{\"privacy\": {\"patron_key\": \"" HEX_A "\"},"
                  " \"touchpoints\": {\"token_key_file\": \"%s\"},"
                  " \"api_keys\": [{\"name\": \"a\", \"key\": \"" LONG_KEY "\", \"roles\": [\"ingest\"]}],"
                  CATALOGUES "}", shared);
    const char *path = secret_file("config.json", strbuf_cstr(&text), 0644);
    struct config *cfg = config_load(path, &err);
    CHECK(cfg != NULL);
    const char *e = cfg ? config_exposures(cfg) : NULL;
    struct strbuf want = {0};
    strbuf_printf(&want, "%s: privacy.patron_key: a secret in a config file that its group or "
                  "others can read (mode 0644): chmod go= %s, or give it as patron_key_file\n",
                  path, path);
    CHECK(e && strstr(e, strbuf_cstr(&want)));
    CHECK(e && strstr(e, ": api_keys[0].key: a secret in a config file that its group or others "
                         "can read (mode 0644)"));
    CHECK(e && strstr(e, ": touchpoints.token_key_file: ") && strstr(e, "/shared-token: its group "
                         "or others can read it (mode 0640): chmod go= it\n"));
    config_free(cfg);
    /* 0600, the token file 0400: none */
    chmod(path, 0600);
    chmod(shared, 0400);
    cfg = config_load(path, &err);
    CHECK(cfg != NULL && config_exposures(cfg) == NULL);
    config_free(cfg);
    /* the published example keys are no secrets: a demo config may be read */
    path = secret_file("demo.json", "{\"demo\": true, \"privacy\": {\"patron_key\": \""
                       EXAMPLE_PATRON_KEY "\"}, \"touchpoints\": {\"token_key\": \""
                       EXAMPLE_TOKEN_KEY "\"}, \"api_keys\": [{\"name\": \"a\", \"key\": "
                       "\"demo-ingest-key-change-me\", \"roles\": [\"ingest\"]}], " CATALOGUES "}", 0644);
    cfg = config_load(path, &err);
    CHECK(cfg != NULL && config_exposures(cfg) == NULL);
    config_free(cfg);
    strbuf_free(&want);
    strbuf_free(&text);
    strbuf_free(&err);
}

/* Found by fuzz_config: a key with a newline made two lines of one error,
 * the second free to say anything. Control characters are escaped. */
TEST(config_error_lines_are_one_line_each)
{
    struct strbuf err = {0};
    struct config *cfg = config_parse("{\"list\\nfuzz.json: all is fine\": 1, \"tab\\there\\u0001\": 2, "
                                      PRIVACY ", " CATALOGUES "}", "n.json", &err);
    CHECK(cfg == NULL);
    CHECK_STR(strbuf_cstr(&err), "n.json: list\\nfuzz.json: all is fine: unknown key\n"
                                 "n.json: tab\\there\\x01: unknown key\n");
    strbuf_free(&err);
}

TEST(config_plugin_dir_absolute)
{
    struct strbuf err = {0};
    struct config *cfg = config_parse(good, "good.json", &err);
    CHECK(cfg != NULL && strcmp(cfg->plugin_dir, ONLOAN_PLUGIN_DIR) == 0);
    CHECK(ONLOAN_PLUGIN_DIR[0] == '/');
    config_free(cfg);
    cfg = config_parse("{\"plugin_dir\": \"build/plugins\", " PRIVACY ", " CATALOGUES "}", "p.json", &err);
    CHECK(cfg == NULL);
    CHECK(has(&err, "p.json: plugin_dir: must be an absolute path (code is loaded from it), got "
                    "\"build/plugins\""));
    strbuf_free(&err);
}

/* A config with one catalogue whose keys are given (JSON members). */
static const char one_catalogue[] =
    "{" PRIVACY ", \"catalogues\": [{\"name\": \"demo\", \"target\": \"h:1/d\", %s, "
    "\"link\": {\"plugin\": \"koha\", \"base_url\": \"https://x\"}}]}";

/* The config of one catalogue with keys; NULL (and the errors in err) if
 * refused. */
static struct config *parse_catalogue(const char *keys, struct strbuf *err)
{
    struct strbuf text = {0};
    strbuf_reset(err);
    strbuf_printf(&text, one_catalogue, keys);
    struct config *cfg = config_parse(strbuf_cstr(&text), "catalogue.json", err);
    strbuf_free(&text);
    return cfg;
}

/* Each bad[i][0] as a catalogue's keys is refused with bad[i][1] among
 * the errors. */
static void check_refusals(const char *const (*bad)[2], size_t n)
{
    struct strbuf err = {0};
    for (size_t i = 0; i < n; i++) {
        struct config *cfg = parse_catalogue(bad[i][0], &err);
        CHECK(cfg == NULL);
        if (!strstr(strbuf_cstr(&err), bad[i][1]))
            printf("  %s: %s", bad[i][0], strbuf_cstr(&err));
        CHECK(strstr(strbuf_cstr(&err), bad[i][1]) != NULL);
        config_free(cfg);
    }
    strbuf_free(&err);
}

/* fit: a subset of the three dimensions, each at most once;
 * loan_period_days within 1..365. */
TEST(config_fit_and_loan_period)
{
    struct strbuf err = {0};
    struct config *cfg = parse_catalogue("\"fit\": [\"format\"], \"loan_period_days\": 14", &err);
    CHECK(cfg && cfg->catalogues[0].fit == FIT_FORMAT && cfg->catalogues[0].loan_period_days == 14);
    config_free(cfg);
    cfg = parse_catalogue("\"fit\": []", &err);
    CHECK(cfg && cfg->catalogues[0].fit == 0);
    config_free(cfg);
    static const char *const bad[][2] = {
        {"\"fit\": \"format\"", "catalogues[0].fit: must be an array"},
        {"\"fit\": [\"colour\"]", "catalogues[0].fit: element 0 must be"},
        {"\"fit\": [\"format\", \"format\"]", "catalogues[0].fit: names \"format\" twice"},
        {"\"loan_period_days\": 0", "catalogues[0].loan_period_days"},
        {"\"loan_period_days\": 366", "catalogues[0].loan_period_days"},
    };
    check_refusals(bad, sizeof bad / sizeof bad[0]);
    strbuf_free(&err);
}

/* order: 1 to 4 reasons, each once, popular only last. */
TEST(config_order_of_reasons)
{
    struct strbuf err = {0};
    struct config *cfg =
        parse_catalogue("\"order\": [\"same_author\", \"also_borrowed\", \"popular\"]", &err);
    CHECK(cfg && cfg->catalogues[0].norder == 3);
    CHECK(cfg && cfg->catalogues[0].order[0] == REASON_SAME_AUTHOR &&
          cfg->catalogues[0].order[1] == REASON_ALSO_BORROWED &&
          cfg->catalogues[0].order[2] == REASON_POPULAR);
    config_free(cfg);
    static const char *const bad[][2] = {
        {"\"order\": \"popular\"", "catalogues[0].order: must be an array of 1 to 4"},
        {"\"order\": []", "catalogues[0].order: must be an array of 1 to 4"},
        {"\"order\": [1]", "catalogues[0].order: element 0 must be a string"},
        {"\"order\": [\"same_author\", \"liked\"]",
         "catalogues[0].order: element 1 (\"liked\") is not a reason"},
        {"\"order\": [\"same_author\", \"same_author\"]",
         "catalogues[0].order: element 1 (\"same_author\") is named twice"},
        {"\"order\": [\"popular\", \"also_borrowed\"]",
         "catalogues[0].order: element 0 (\"popular\") can only come last"},
    };
    check_refusals(bad, sizeof bad / sizeof bad[0]);
    strbuf_free(&err);
}

/* branches: code -> name for patrons; model.branch_counts: a bool, on
 * unless said otherwise. */
TEST(config_branches_and_branch_counts)
{
    struct strbuf err = {0};
    struct config *cfg = config_parse("{" PRIVACY ", " CATALOGUES ", \"branches\": "
                                      "{\"CEN\": \"Centrale Bibliotheek\", \"NRD\": \"Noord\"}}",
                                      "b.json", &err);
    CHECK(cfg && cfg->branch_counts == 1 && cfg->nbranch_names == 2);
    if (cfg) {
        CHECK_STR(config_branch_name(cfg, "NRD"), "Noord");
        CHECK_STR(config_branch_name(cfg, "CEN"), "Centrale Bibliotheek");
        CHECK_STR(config_branch_name(cfg, "ZUI"), "ZUI");
    }
    config_free(cfg);
    cfg = config_parse("{" PRIVACY ", " CATALOGUES ", \"model\": {\"branch_counts\": false}}",
                       "b.json", &err);
    CHECK(cfg && cfg->branch_counts == 0 && cfg->nbranch_names == 0);
    if (cfg)
        CHECK_STR(config_branch_name(cfg, "CEN"), "CEN");
    config_free(cfg);
    static const char *const bad[][2] = {
        {"\"model\": {\"branch_counts\": 1}", "model.branch_counts: must be true or false"},
        {"\"branches\": [\"CEN\"]", "branches: must be an object"},
        {"\"branches\": {\"C N\": \"x\"}", "branches.C N: is not a branch code"},
        {"\"branches\": {\"CEN\": \"\"}", "branches.CEN: must be the branch's name"},
        {"\"branches\": {\"CEN\": 7}", "branches.CEN: must be the branch's name"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct strbuf text = {0};
        strbuf_reset(&err);
        strbuf_printf(&text, "{" PRIVACY ", " CATALOGUES ", %s}", bad[i][0]);
        cfg = config_parse(strbuf_cstr(&text), "b.json", &err);
        CHECK(cfg == NULL && strstr(strbuf_cstr(&err), bad[i][1]));
        if (!strstr(strbuf_cstr(&err), bad[i][1]))
            printf("  %s: %s", bad[i][0], strbuf_cstr(&err));
        config_free(cfg);
        strbuf_free(&text);
    }
    /* the limits: CONFIG_MAX_BRANCHES branches, names of at most
     * CONFIG_MAX_BRANCH_NAME_BYTES; one more of either is refused */
    for (int over = 0; over <= 1; over++) {
        struct strbuf text = {0};
        strbuf_printf(&text, "{" PRIVACY ", " CATALOGUES ", \"branches\": {");
        for (int i = 0; i < CONFIG_MAX_BRANCHES + over; i++)
            strbuf_printf(&text, "%s\"B%d\": \"%*s\"", i ? ", " : "", i,
                          CONFIG_MAX_BRANCH_NAME_BYTES, "n");
        strbuf_puts(&text, "}}");
        strbuf_reset(&err);
        cfg = config_parse(strbuf_cstr(&text), "b.json", &err);
        CHECK(over ? cfg == NULL && strstr(strbuf_cstr(&err), "branches: must be an object of at "
                                                           "most 1000")
                   : cfg && cfg->nbranch_names == CONFIG_MAX_BRANCHES);
        config_free(cfg);
        strbuf_reset(&text);
        strbuf_printf(&text, "{" PRIVACY ", " CATALOGUES ", \"branches\": {\"CEN\": \"%*s\"}}",
                      CONFIG_MAX_BRANCH_NAME_BYTES + over, "n");
        strbuf_reset(&err);
        cfg = config_parse(strbuf_cstr(&text), "b.json", &err);
        CHECK(over ? cfg == NULL && strstr(strbuf_cstr(&err), "branches.CEN: must be the branch's")
                   : cfg != NULL);
        config_free(cfg);
        strbuf_free(&text);
    }
    strbuf_free(&err);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/onloan-test-config-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(config_defaults_and_values);
    RUN(config_reports_every_error_with_its_key);
    RUN(config_record_id_limit_within_a_zebra_term);
    RUN(config_syntax_error_has_line);
    RUN(config_rejects_names_for_redis);
    RUN(config_sentinels);
    RUN(config_public_base_url_is_unknown);
    RUN(config_marketing_sections);
    RUN(config_dates);
    RUN(config_id_field_syntax);
    RUN(config_split_address_bounds);
    RUN(config_join_max_not_below_batch_max);
    RUN(config_model_ingest_and_api_keys_checked);
    RUN(config_secrets_from_files);
    RUN(config_secrets_from_credentials);
    RUN(config_secret_file_errors);
    RUN(config_example_keys_only_for_demos);
    RUN(config_exposures_of_secrets);
    RUN(config_plugin_dir_absolute);
    RUN(config_error_lines_are_one_line_each);
    RUN(config_fit_and_loan_period);
    RUN(config_order_of_reasons);
    RUN(config_branches_and_branch_counts);
    char rm[128];
    snprintf(rm, sizeof rm, "rm -rf '%s'", tmpdir);
    if (system(rm) != 0)
        printf("  could not remove %s\n", tmpdir);
    return unit_failures != 0;
}
