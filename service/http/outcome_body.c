/* outcome_body.c: the outcome body's checks; see outcome_body.h. */
#include "http/outcome_body.h"

#include <string.h>

#include "core/ids.h"
#include "core/token.h"
#include "ingest/loan_event.h"
#include "redis/touchpoint_log.h"

static enum outcome_body_status invalid(struct outcome_body_error *err, int status,
                                        const char *field, const char *message)
{
    *err = (struct outcome_body_error){status, field, message};
    return OUTCOME_BODY_INVALID;
}

enum outcome_body_status outcome_body_parse(const char *body, size_t len, int max_record_id_bytes,
                                            struct outcome_body *out,
                                            struct outcome_body_error *err)
{
    *out = (struct outcome_body){0};
    json_error_t jerr;
    enum loans_status st;
    json_t *ev = out->doc = loan_json_load(body, len, &jerr, &st);  /* tells out of memory apart */
    if (st == LOANS_NO_MEMORY)
        return OUTCOME_BODY_NO_MEMORY;
    if (!ev || !json_is_object(ev))
        return invalid(err, 400, "body",
                       "must be a JSON object {\"type\": ..., \"record\": ..., \"token\": ...}");
    const char *key;
    json_t *value;
    json_object_foreach(ev, key, value) {
        if (strcmp(key, "type") != 0 && strcmp(key, "record") != 0 && strcmp(key, "token") != 0)
            return invalid(err, 400, key, "unknown field");
    }
    json_t *rec = json_object_get(ev, "record"), *tok = json_object_get(ev, "token");
    out->type = json_string_value(json_object_get(ev, "type"));
    out->record = json_string_value(rec);
    out->token = json_string_value(tok);
    if (!out->type || !touchpoint_outcome_type_valid(out->type))
        return invalid(err, 400, "type", "must be one of shown, click, reserve, borrow, dismiss");
    if ((rec && !out->record) ||
        (out->record && !record_id_valid(out->record, max_record_id_bytes)))
        return invalid(err, 400, "record", "must be a record id");
    if (!out->record && strcmp(out->type, "shown") != 0 && strcmp(out->type, "dismiss") != 0)
        return invalid(err, 400, "record", "is required for click, reserve and borrow");
    if (!out->token || !*out->token || strlen(out->token) > TOKEN_MAX_BYTES)
        return invalid(err, 403, "token", "the answer's touchpoint_token is required (a string)");
    return OUTCOME_BODY_OK;
}

void outcome_body_free(struct outcome_body *b)
{
    json_decref(b->doc);
    *b = (struct outcome_body){0};
}
