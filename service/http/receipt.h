/* receipt.h: an answer of GET /v1/alternatives as a receipt printer's
 * text (format=receipt, for the self-service kiosk).
 *
 * Made from the answer's JSON as any caller gets it, so the receipt says
 * exactly what the answer says: the title, whether and when it is
 * expected back, what to take instead at the patron's branch (call number
 * and location) first and at other branches after, and how to reserve
 * (the reservation link); in Dutch or English. Every line fits the
 * printer's width in display cells (text_wrap.h). An answer the catalogue
 * could not make (status unknown) still prints: what is known, and to ask
 * at the desk. */
#ifndef ONLOAN_HTTP_RECEIPT_H
#define ONLOAN_HTTP_RECEIPT_H

#include <jansson.h>

#include "core/strbuf.h"

#define RECEIPT_MIN_WIDTH 16
#define RECEIPT_MAX_WIDTH 80
#define RECEIPT_DEFAULT_WIDTH 40

/* Appends the receipt of answer (borrowed) in lang ("nl" or "en"),
 * width RECEIPT_MIN_WIDTH..RECEIPT_MAX_WIDTH cells, to out: 0, or -1 when
 * out of memory (out as it was). */
int receipt_render(const json_t *answer, const char *lang, int width, struct strbuf *out);

#endif
