/* outcome_body.h: the body of POST /v1/touchpoints/<id>/events, checked.
 *
 * A pure function of the bytes, with no request or server behind it:
 * the handler (outcomes.c) answers with what it says, and the fuzzer
 * (tests/fuzz/fuzz_outcome_body.c) runs it on anything.
 *
 * The body is a JSON object of "type" (shown, click, reserve, borrow or
 * dismiss), "record" (a record id; required for click, reserve and
 * borrow) and "token" (the answer's touchpoint_token, 1..TOKEN_MAX_BYTES
 * bytes); nothing else, no key twice. */
#ifndef ONLOAN_HTTP_OUTCOME_BODY_H
#define ONLOAN_HTTP_OUTCOME_BODY_H

#include <jansson.h>
#include <stddef.h>

struct outcome_body {
    json_t *doc;                /* owned: type, record and token point into it */
    const char *type;
    const char *record;         /* NULL when the outcome names none */
    const char *token;
};

enum outcome_body_status {
    OUTCOME_BODY_OK,
    OUTCOME_BODY_INVALID,       /* err says what to answer */
    OUTCOME_BODY_NO_MEMORY,     /* nothing wrong with the body: 503 */
};

/* What is wrong with a body: the HTTP status (400; 403 for the token),
 * the field at fault and why. field may point into the body's doc: it
 * lives until outcome_body_free. */
struct outcome_body_error {
    int status;
    const char *field;
    const char *message;        /* static English text */
};

/* Checks len bytes at body (not NUL-terminated) against those rules,
 * with record ids of at most max_record_id_bytes. Call outcome_body_free
 * whatever it returns. */
enum outcome_body_status outcome_body_parse(const char *body, size_t len, int max_record_id_bytes,
                                            struct outcome_body *out,
                                            struct outcome_body_error *err);
void outcome_body_free(struct outcome_body *b);

#endif
