/* fuzz_config.c: libFuzzer harness for the configuration (config.h), all
 * of the input as the file's text: config_parse gives a config or errors,
 * every error line "fuzz.json: ..." (or with line:column for syntax), and
 * a config it gives keeps its promises (an absolute plugin_dir, limits in
 * range, at least one catalogue, each with a name, a target and a link).
 * KEY_file names in the input are opened: O_NONBLOCK and regular files
 * only, at most SECRET_FILE_MAX_BYTES, so no name can hang or flood a run.
 *
 * Built and run by `make fuzz` (clang); seeds from tests/fuzz/seeds.py. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "ingest/loan_event.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    loan_json_init();
    unsetenv("CREDENTIALS_DIRECTORY");
    return 0;
}

static void check_errors(const char *e)
{
    if (!*e)
        abort();                    /* refused without a word */
    for (const char *line = e, *nl; *line; line = nl + 1) {
        if (!(nl = strchr(line, '\n')) || strncmp(line, "fuzz.json", 9) != 0 ||
            (line[9] != ':'))
            abort();
    }
}

static void check_config(const struct config *cfg)
{
    if (!cfg->plugin_dir || cfg->plugin_dir[0] != '/' || cfg->ncatalogues < 1 ||
        cfg->default_alternatives > cfg->max_alternatives || cfg->max_alternatives < 1 ||
        cfg->max_record_id_bytes < 1 || cfg->max_record_id_bytes > 511 || !cfg->listen_host ||
        !cfg->redis_host || !cfg->redis_prefix || !cfg->log_level)
        abort();
    for (size_t i = 0; i < cfg->ncatalogues; i++) {
        const struct catalogue_config *c = &cfg->catalogues[i];
        if (!c->name || !c->target || !c->link || !c->id_field || !config_id_field_valid(c->id_field) ||
            c->join_max < c->batch_max || config_catalogue(cfg, c->name) != &cfg->catalogues[0] + i)
            abort();
    }
    for (size_t i = 0; i < cfg->napi_keys; i++)
        if (!cfg->api_keys[i].name || !cfg->api_keys[i].roles)
            abort();
    for (size_t i = 0; i < cfg->nexperiments; i++) {
        int total = 0;
        for (size_t j = 0; j < cfg->experiments[i].narms; j++)
            total += cfg->experiments[i].arms[j].share;
        if (total != 100)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct strbuf err = {0};
    struct config *cfg = config_parse(text, "fuzz.json", &err);
    if (cfg)
        check_config(cfg);
    else
        check_errors(strbuf_cstr(&err));
    config_free(cfg);
    strbuf_free(&err);
    free(text);
    return 0;
}
