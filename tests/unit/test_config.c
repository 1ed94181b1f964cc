/* test_config.c: the strict configuration reader. */
#include <stdlib.h>

#include "config.h"
#include "unit.h"

#define PRIVACY "\"privacy\": {\"patron_key\": " \
    "\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"}"
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
    CHECK_STR(cfg->catalogues[0].holdings, "koha952");
    CHECK_STR(cfg->catalogues[0].record_charset, "marc8s");
    CHECK(cfg->catalogues[0].batch_max == 10);
    CHECK(cfg->catalogues[0].join_max == 50);
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
        "   \"protocol\": \"gopher\", \"holdings\": \"999\", \"link\": {\"plugin\": \"koha\"}}]}";
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
    CHECK(strstr(e, "bad.json: catalogues[0].holdings: unknown holdings mapping") != NULL);
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
    strbuf_free(&err);
}

int main(void)
{
    RUN(config_defaults_and_values);
    RUN(config_reports_every_error_with_its_key);
    RUN(config_syntax_error_has_line);
    RUN(config_rejects_names_for_redis);
    RUN(config_split_address_bounds);
    RUN(config_join_max_not_below_batch_max);
    return unit_failures != 0;
}
