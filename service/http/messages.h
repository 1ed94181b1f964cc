/* messages.h: patron-facing text, in Dutch and English. */
#ifndef ONLOAN_HTTP_MESSAGES_H
#define ONLOAN_HTTP_MESSAGES_H

#include "core/strbuf.h"

/* status: "on_loan", "available" or "unknown"; copies_out: some copy is
 * on loan (else none can be lent at all: reference, lost, no items);
 * expected_back (YYYY-MM-DD) may be NULL. lang: "nl" or "en". */
int message_availability(struct strbuf *out, const char *lang, const char *status,
                         int copies_out, const char *expected_back, int has_alternatives);

/* "3 december 2026" / "3 December 2026"; -1 if date is malformed. */
int message_date(struct strbuf *out, const char *lang, const char *date);

#endif
