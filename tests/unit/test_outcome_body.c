/* test_outcome_body.c: the checks of an outcome's body (outcome_body.h),
 * each answer as POST /v1/touchpoints/<id>/events gives it. */
#include <stdlib.h>

#include "http/outcome_body.h"
#include "ingest/loan_event.h"
#include "unit.h"

/* Parses body; returns the status, with the error's "status field" in
 * what (or "ok type record token"). */
static enum outcome_body_status parse(const char *body, int max_id, char *what, size_t n)
{
    struct outcome_body b;
    struct outcome_body_error err;
    enum outcome_body_status st = outcome_body_parse(body, strlen(body), max_id, &b, &err);
    if (st == OUTCOME_BODY_OK)
        snprintf(what, n, "ok %s %s %s", b.type, b.record ? b.record : "-", b.token);
    else if (st == OUTCOME_BODY_INVALID)
        snprintf(what, n, "%d %s: %s", err.status, err.field, err.message);
    else
        snprintf(what, n, "no memory");
    outcome_body_free(&b);
    return st;
}

TEST(outcome_body_accepts_outcomes)
{
    char what[256];
    CHECK(parse("{\"type\": \"click\", \"record\": \"f377\", \"token\": \"17.abc\"}", 64, what,
                sizeof what) == OUTCOME_BODY_OK);
    CHECK_STR(what, "ok click f377 17.abc");
    CHECK(parse("{\"token\": \"t\", \"type\": \"shown\"}", 64, what, sizeof what) == OUTCOME_BODY_OK);
    CHECK_STR(what, "ok shown - t");
    CHECK(parse(" {\"type\": \"dismiss\", \"token\": \"t\"} ", 64, what, sizeof what) == OUTCOME_BODY_OK);
    CHECK(parse("{\"type\": \"borrow\", \"record\": \"x\", \"token\": \""
                "1234567890123456789012345678901234567890123456789012345678901234\"}", 64, what,
                sizeof what) == OUTCOME_BODY_OK);     /* a token of TOKEN_MAX_BYTES */
}

TEST(outcome_body_refusals_name_the_field)
{
    static const struct {
        const char *body, *want;
    } cases[] = {
        {"", "400 body: must be a JSON object"},
        {"not json", "400 body: must be a JSON object"},
        {"[{\"type\": \"click\"}]", "400 body: must be a JSON object"},
        {"\"click\"", "400 body: must be a JSON object"},
        {"{\"type\": \"click\", \"type\": \"borrow\", \"record\": \"x\", \"token\": \"t\"}",
         "400 body: "},                                  /* a key twice */
        {"{\"type\": \"click\", \"record\": \"x\", \"token\": \"t\", \"patron\": \"p\"}",
         "400 patron: unknown field"},
        {"{\"record\": \"x\", \"token\": \"t\"}", "400 type: must be one of shown, click, reserve"},
        {"{\"type\": \"like\", \"record\": \"x\", \"token\": \"t\"}", "400 type: "},
        {"{\"type\": 1, \"record\": \"x\", \"token\": \"t\"}", "400 type: "},
        {"{\"type\": \"click\", \"record\": 377, \"token\": \"t\"}", "400 record: must be a record id"},
        {"{\"type\": \"click\", \"record\": null, \"token\": \"t\"}", "400 record: must be a record id"},
        {"{\"type\": \"click\", \"record\": \"f/377\", \"token\": \"t\"}", "400 record: must be a record id"},
        {"{\"type\": \"click\", \"record\": \"12345\", \"token\": \"t\"}", "400 record: must be a record id"},
        {"{\"type\": \"reserve\", \"token\": \"t\"}",
         "400 record: is required for click, reserve and borrow"},
        {"{\"type\": \"click\", \"record\": \"x\"}", "403 token: the answer's touchpoint_token is required"},
        {"{\"type\": \"click\", \"record\": \"x\", \"token\": \"\"}", "403 token: "},
        {"{\"type\": \"click\", \"record\": \"x\", \"token\": 17}", "403 token: "},
        {"{\"type\": \"click\", \"record\": \"x\", \"token\": \""
         "12345678901234567890123456789012345678901234567890123456789012345\"}", "403 token: "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[256];
        int ok = parse(cases[i].body, 4, what, sizeof what) == OUTCOME_BODY_INVALID &&
                 strncmp(what, cases[i].want, strlen(cases[i].want)) == 0;
        if (!ok)
            printf("  %s: want \"%s\", got \"%s\"\n", cases[i].body, cases[i].want, what);
        CHECK(ok);
    }
}

/* Not NUL-terminated: only len bytes are read. */
TEST(outcome_body_reads_len_bytes)
{
    static const char body[] = "{\"type\": \"shown\", \"token\": \"t\"}garbage";
    struct outcome_body b;
    struct outcome_body_error err;
    CHECK(outcome_body_parse(body, sizeof body - 1 - 7, 64, &b, &err) == OUTCOME_BODY_OK);
    outcome_body_free(&b);
    CHECK(outcome_body_parse(body, sizeof body - 1, 64, &b, &err) == OUTCOME_BODY_INVALID);
    outcome_body_free(&b);
}

int main(void)
{
    loan_json_init();
    RUN(outcome_body_accepts_outcomes);
    RUN(outcome_body_refusals_name_the_field);
    RUN(outcome_body_reads_len_bytes);
    return unit_failures != 0;
}
