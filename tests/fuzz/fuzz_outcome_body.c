/* fuzz_outcome_body.c: libFuzzer harness for the body of POST
 * /v1/touchpoints/<id>/events (outcome_body.h), all of the input: what is
 * accepted has a type of the five, a record id (required for click,
 * reserve, borrow) and a token of 1..TOKEN_MAX_BYTES; what is refused is a
 * 400 or 403 naming a field.
 *
 * Built and run by `make fuzz` (clang); seeds from tests/fuzz/seeds.py. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "core/token.h"
#include "http/outcome_body.h"
#include "ingest/loan_event.h"
#include "redis/touchpoint_log.h"

#define MAX_RECORD_ID_BYTES 64

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    loan_json_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct outcome_body b;
    struct outcome_body_error err;
    switch (outcome_body_parse((const char *)data, size, MAX_RECORD_ID_BYTES, &b, &err)) {
    case OUTCOME_BODY_OK: {
        size_t tl = b.token ? strlen(b.token) : 0;
        int needs = strcmp(b.type, "shown") != 0 && strcmp(b.type, "dismiss") != 0;
        if (!touchpoint_outcome_type_valid(b.type) || tl < 1 || tl > TOKEN_MAX_BYTES ||
            (needs && !b.record) || (b.record && !record_id_valid(b.record, MAX_RECORD_ID_BYTES)))
            abort();
        break;
    }
    case OUTCOME_BODY_INVALID:
        if ((err.status != 400 && err.status != 403) || !err.field || !err.message ||
            (err.status == 403) != (strcmp(err.field, "token") == 0))
            abort();
        (void)strlen(err.field);        /* alive until outcome_body_free */
        break;
    case OUTCOME_BODY_NO_MEMORY:
        break;
    }
    outcome_body_free(&b);
    return 0;
}
