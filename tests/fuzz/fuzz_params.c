/* fuzz_params.c: libFuzzer harness for what callers put in a URL
 * (params.h): the query string of GET /v1/alternatives and the touchpoint
 * id of POST /v1/touchpoints/<id>/events.
 *
 * The first byte chooses: bit 0 clear, the rest is a query string (cut at
 * a NUL, as libevent hands one over); set, a touchpoint id (its bytes as
 * they are). What is accepted must be what params.h promises: a record id
 * of the allowed bytes and length, a limit in range, a language and a
 * channel of the lists, a pseudonym of 32 hex digits, a session of
 * printable ASCII; a touchpoint id DIGITS-DIGITS, each a 64-bit number.
 * What is refused names a field and says why.
 *
 * Built and run by `make fuzz` (clang); seeds from tests/fuzz/seeds.py. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/ids.h"
#include "http/params.h"
#include "redis/touchpoint_log.h"
#include "http/receipt.h"
#include "ingest/loan_event.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config *cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    loan_json_init();
    struct strbuf err = {0};
    cfg = config_parse("{\"privacy\": {\"patron_key\": \"" /* not a published key */
                       "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0\"},"
                       " \"touchpoints\": {\"token_key\": "
                       "\"f00f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1\"},"
                       " \"limits\": {\"max_record_id_bytes\": 64},"
                       " \"catalogues\": [{\"name\": \"demo\", \"target\": \"127.0.0.1:1/demo\","
                       " \"link\": {\"plugin\": \"koha\", \"base_url\": \"https://x\"}}]}",
                       "fuzz.json", &err);
    if (!cfg) {
        fprintf(stderr, "fuzz_params: %s", strbuf_cstr(&err));
        abort();
    }
    strbuf_free(&err);
    return 0;
}

static void check_u64(const char *s, size_t n)
{
    char buf[TOUCHPOINT_ID_MAX_BYTES + 1];
    if (n == 0 || n >= sizeof buf)
        abort();
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    (void)strtoull(buf, &end, 10);
    if (errno == ERANGE || *end || !isdigit((unsigned char)buf[0]))
        abort();                    /* no Redis stream id */
}

static void touchpoint_id(const char *s, size_t n)
{
    char out[TOUCHPOINT_ID_MAX_BYTES + 1];
    if (params_touchpoint_id(s, n, out) < 0)
        return;
    size_t len = strlen(out);
    const char *dash = strchr(out, '-');
    if (len != n || memcmp(out, s, n) != 0 || !dash || strchr(dash + 1, '-'))
        abort();
    check_u64(out, (size_t)(dash - out));
    check_u64(dash + 1, len - (size_t)(dash - out) - 1);
    /* the batch it names (touchpoint_log.h): the same time, its number
     * with the place's bits cleared */
    char batch[TOUCHPOINT_ID_MAX_BYTES + 1];
    unsigned place;
    if (touchpoint_id_batch(out, batch, &place) < 0)
        return;
    unsigned long long ms = strtoull(out, NULL, 10), number = strtoull(dash + 1, NULL, 10);
    const char *bdash = strchr(batch, '-');
    if (!bdash || strtoull(batch, NULL, 10) != ms || place >= TOUCHPOINT_BATCH_PLACES)
        abort();
    unsigned long long base = strtoull(bdash + 1, NULL, 10);
    if (base % TOUCHPOINT_BATCH_PLACES || base + place != number)
        abort();
}

static int one_of(const char *v, const char *const *names)
{
    for (; *names; names++)
        if (v == *names || (v && strcmp(v, *names) == 0))
            return 1;
    return 0;
}

static void query(const char *q)
{
    static const char *const langs[] = {"nl", "en", NULL};
    struct alt_params p;
    struct param_error err = {0};
    if (params_parse_alternatives(q, cfg, &p, &err) < 0) {
        if (!err.message || (!err.field && !err.no_memory))
            abort();                /* a refusal names the field */
        return;
    }
    size_t pl = strlen(p.patron);
    if (!p.record || !record_id_valid(p.record, cfg->max_record_id_bytes) ||
        p.limit < 1 || p.limit > cfg->max_alternatives || !one_of(p.lang, langs) ||
        !one_of(p.channel, channel_names) || strcmp(channel_names[p.channel_id], p.channel) != 0 ||
        (pl != 0 && pl != PSEUDONYM_HEX_LEN) || strspn(p.patron, "0123456789abcdef") != pl ||
        (p.branch && !branch_code_valid(p.branch)) ||
        (p.catalogue && !*p.catalogue) || (p.receipt != 0 && p.receipt != 1) ||
        p.width < RECEIPT_MIN_WIDTH || p.width > RECEIPT_MAX_WIDTH)
        abort();
    if (p.session) {
        size_t n = strlen(p.session);
        if (n < 1 || n > SESSION_MAX_BYTES)
            abort();
        for (const char *c = p.session; *c; c++)
            if (*c < 0x21 || *c > 0x7e)
                abort();
    }
    params_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    if (data[0] & 1) {
        touchpoint_id(s, n);
        return 0;
    }
    char *q = malloc(n + 1);
    if (!q)
        return 0;
    memcpy(q, s, n);
    q[n] = '\0';
    query(q);
    free(q);
    return 0;
}
