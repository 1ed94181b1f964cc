/* params.h: checking what callers send, before anything is looked up.
 *
 * Every check names the offending field, for a 400 {"error","field"}. */
#ifndef ONLOAN_HTTP_PARAMS_H
#define ONLOAN_HTTP_PARAMS_H

#include "core/config.h"
#include "core/pseudonym.h"

struct alt_params {
    char *record;               /* all owned; NULL when absent */
    char *branch;
    char *catalogue;
    char patron[PSEUDONYM_HEX_LEN + 1];     /* the patron's pseudonym (pseudonym.h), never
                                             * the raw id; "" when none was given */
    int limit;
    const char *lang;           /* "nl" or "en" (static) */
    const char *channel;        /* "opac", "kiosk", "app", "widget" (static) */
};

struct param_error {
    const char *field;
    const char *message;        /* static English text */
};

/* Parses the query string of GET /v1/alternatives. */
int params_parse_alternatives(const char *query, const struct config *cfg,
                              struct alt_params *p, struct param_error *err);
void params_free(struct alt_params *p);

/* Touchpoint ids (Redis stream ids): DIGITS-DIGITS. */
int params_valid_touchpoint(const char *s);

#endif
