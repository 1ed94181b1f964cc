/* fuzz_loan_events.c: libFuzzer harness for loan events (loan_event.h), as
 * POST /v1/loans and onloan load read them.
 *
 * The first byte chooses the format (its value mod 5), the rest is the
 * body:
 *   0  JSON (an object or an array of them)
 *   1  CSV rows under the header "patron,record,time,branch,id"
 *   2  JSON lines
 *   3  MovieLens rows under "userId,movieId,rating,timestamp"
 *   4  a text whose own first line says what it is
 * Whatever is taken must be what loan_event.h promises: a pseudonym (never
 * the raw id), a record id of the allowed bytes, a branch code or none, a
 * time at most LOAN_MAX_FUTURE_S ahead, a hashed event id or none, in
 * arrival order; at most max_events; a batch refused names a field and
 * says why. loan_order_by_patron then orders the events taken.
 *
 * Built and run by `make fuzz` (clang); seeds from tests/fuzz/seeds.py. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/ids.h"
#include "ingest/loan_event.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1795437192LL        /* 2026-11-24: a fixed "now" */
#define MAX_EVENTS 200
#define MAX_PROBLEMS 20

static struct config *cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    loan_json_init();
    struct strbuf err = {0};
    cfg = config_parse("{\"privacy\": {\"patron_key\": "
                       "\"0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0\"},"
                       " \"touchpoints\": {\"token_key\": "
                       "\"f00f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1\"},"
                       " \"limits\": {\"max_record_id_bytes\": 64},"
                       " \"ingest\": {\"movielens_record_prefix\": \"f\"},"
                       " \"catalogues\": [{\"name\": \"demo\", \"target\": \"127.0.0.1:1/demo\","
                       " \"link\": {\"plugin\": \"koha\", \"base_url\": \"https://x\"}}]}",
                       "fuzz.json", &err);
    if (!cfg) {
        fprintf(stderr, "fuzz_loan_events: %s", strbuf_cstr(&err));
        abort();
    }
    strbuf_free(&err);
    return 0;
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int hex32(const char *s)
{
    return strlen(s) == PSEUDONYM_HEX_LEN && strspn(s, "0123456789abcdef") == PSEUDONYM_HEX_LEN;
}

static void check(enum loans_status st, const struct loan_batch *b,
                  const struct loan_problem *probs, size_t nprobs)
{
    if (st == LOANS_NO_MEMORY)
        return;
    if ((st == LOANS_OK) != (nprobs == 0) || b->n > MAX_EVENTS)
        abort();
    for (size_t i = 0; i < nprobs && i < MAX_PROBLEMS; i++)
        if (!probs[i].field || !probs[i].message)
            abort();
    for (size_t i = 0; i < b->n; i++) {
        const struct loan_event *e = &b->ev[i];
        if (!hex32(e->patron) || (e->id[0] && !hex32(e->id)) ||
            !record_id_valid(e->record, cfg->max_record_id_bytes) ||
            (e->branch && !branch_code_valid(e->branch)) || e->when > NOW + LOAN_MAX_FUTURE_S ||
            (i && e->seq <= b->ev[i - 1].seq))
            abort();
    }
    if (st != LOANS_OK || b->n == 0)
        return;
    struct loan_event **order = malloc(b->n * sizeof *order);
    if (!order)
        return;
    for (size_t i = 0; i < b->n; i++)
        order[i] = &b->ev[i];
    if (loan_order_by_patron(order, b->n) == 0) {
        /* each event once; a patron's together (no patron starts two
         * groups), in time, then arrival */
        unsigned char *seen = calloc(b->n, 1);
        const char **starts = calloc(b->n, sizeof *starts);
        size_t nstarts = 0;
        for (size_t i = 0; seen && starts && i < b->n; i++) {
            size_t k = (size_t)(order[i] - b->ev);
            if (k >= b->n || seen[k]++)
                abort();
            if (i && strcmp(order[i]->patron, order[i - 1]->patron) == 0) {
                if (loan_event_order(order[i - 1], order[i]) > 0)
                    abort();
            } else {
                starts[nstarts++] = order[i]->patron;
            }
        }
        if (starts) {
            qsort(starts, nstarts, sizeof *starts, by_string);
            for (size_t i = 1; i < nstarts; i++)
                if (strcmp(starts[i - 1], starts[i]) == 0)
                    abort();
        }
        free(starts);
        free(seen);
    }
    free(order);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const headers[] = {NULL, "patron,record,time,branch,id\n", NULL,
                                          "userId,movieId,rating,timestamp\n", NULL};
    if (size < 1)
        return 0;
    int fmt = data[0] % 5;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    struct loan_batch b = {0};
    struct loan_problem probs[MAX_PROBLEMS];
    size_t nprobs = 0;
    enum loans_status st;
    if (fmt == 0) {
        json_error_t jerr;
        json_t *doc = loan_json_load(body, len, &jerr, &st);
        if (!doc)
            return 0;
        st = loans_from_json(doc, cfg, NOW, MAX_EVENTS, &b, probs, MAX_PROBLEMS, &nprobs);
        json_decref(doc);
    } else {
        const char *h = headers[fmt];
        size_t hl = h ? strlen(h) : 0;
        char *text = malloc(hl + len + 1);      /* exact size: ASan sees an overread */
        if (!text)
            return 0;
        memcpy(text, h ? h : "", hl);
        memcpy(text + hl, body, len);
        st = loans_from_text(text, hl + len, cfg, NOW, MAX_EVENTS, &b, probs, MAX_PROBLEMS, &nprobs);
        free(text);
    }
    check(st, &b, probs, nprobs);
    loan_batch_free(&b);
    return 0;
}
