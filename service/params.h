/* params.h: checking what callers send, before anything is looked up.
 *
 * Every check names the offending field, for a 400 {"error","field"}. */
#ifndef ONLOAN_PARAMS_H
#define ONLOAN_PARAMS_H

#include "config.h"
#include "pseudo.h"

struct alt_params {
    char *record;               /* all owned; NULL when absent */
    char *branch;
    char *catalogue;
    char patron[PSEUDONYM_HEX_LEN + 1];     /* the patron's pseudonym (pseudo.h), never
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

/* Local record ids: 1..max bytes of [A-Za-z0-9._:-]. Safe to put in a
 * PQF or CQL term, a Redis key and a URL. */
int params_valid_record(const char *s, int max_bytes);
/* Branch codes: 1..16 bytes of [A-Za-z0-9_-]. */
int params_valid_branch(const char *s);
/* Touchpoint ids (Redis stream ids): DIGITS-DIGITS. */
int params_valid_touchpoint(const char *s);

#endif
