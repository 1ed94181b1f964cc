/* params.h: checking what callers send, before anything is looked up.
 *
 * Every check names the offending field, for a 400 {"error","field"}. */
#ifndef ONLOAN_HTTP_PARAMS_H
#define ONLOAN_HTTP_PARAMS_H

#include "core/config.h"
#include "core/pseudonym.h"

#define SESSION_MAX_BYTES 64

struct alt_params {
    char *record;               /* all owned; NULL when absent */
    char *branch;
    char *catalogue;
    char patron[PSEUDONYM_HEX_LEN + 1];     /* the patron's pseudonym (pseudonym.h), never
                                             * the raw id; "" when none was given */
    int limit;
    const char *lang;           /* "nl" or "en" (static) */
    const char *channel;        /* "opac", "kiosk", "app", "widget" (static) */
    enum channel channel_id;    /* the same, as config.h numbers it */
    char *session;              /* owned; NULL when absent: the OPAC's opaque id of the
                                 * visit, which keeps an experiment's arm without a patron */
    int receipt;                /* format=receipt: text for a receipt printer (receipt.h) */
    int width;                  /* its width in cells, RECEIPT_MIN_WIDTH..RECEIPT_MAX_WIDTH */
};

#define PARAM_NAME_MAX_BYTES 32

struct param_error {
    const char *field;
    const char *message;        /* static English text */
    int no_memory;              /* nothing wrong with the parameters: we ran out of memory */
    char name[PARAM_NAME_MAX_BYTES + 1];    /* field's text when it is a name the caller
                                             * sent (params_split_strict) */
};

/* Parses the query string of GET /v1/alternatives: 0, or -1 with err
 * naming the parameter at fault (or saying no_memory). */
int params_parse_alternatives(const char *query, const struct config *cfg,
                              struct alt_params *p, struct param_error *err);
void params_free(struct alt_params *p);

/* Splits a query string (libevent decodes it) into q for an endpoint
 * that takes only the parameters in known (NULL-terminated), each at most
 * once: 0, or -1 with err naming the parameter at fault (an unknown one by
 * its name when that is 1..PARAM_NAME_MAX_BYTES printable characters,
 * else "query"); q is the caller's to clear (evhttp_clear_headers) either
 * way. */
struct evkeyvalq;
int params_split_strict(const char *query, const char *const *known, struct evkeyvalq *q,
                        struct param_error *err);

/* A touchpoint id (a Redis stream id, DIGITS-DIGITS: two 64-bit numbers
 * at most) from n bytes at s, copied NUL-terminated to out; -1 if it is
 * not one. */
#define TOUCHPOINT_ID_MAX_BYTES 41
int params_touchpoint_id(const char *s, size_t n, char out[TOUCHPOINT_ID_MAX_BYTES + 1]);

#endif
