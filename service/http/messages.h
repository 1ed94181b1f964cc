/* messages.h: patron-facing text, in Dutch and English. */
#ifndef ONLOAN_HTTP_MESSAGES_H
#define ONLOAN_HTTP_MESSAGES_H

#include "core/strbuf.h"

/* status: "on_loan", "available" or "unknown"; copies_out: some copy is
 * on loan (else none can be lent at all: reference, lost, no items);
 * expected_back (YYYY-MM-DD) may be NULL. With holds waiting (queue > 0;
 * -1 unknown) and expected_available (YYYY-MM-DD: when a hold placed now
 * is likely ready), it says so: "3 reserveringen voor u; verwacht voor u
 * rond 14 januari 2027." lang: "nl" or "en". */
int message_availability(struct strbuf *out, const char *lang, const char *status,
                         int copies_out, const char *expected_back, long queue,
                         const char *expected_available, int has_alternatives);

/* Why an alternative is shown, in lang, for the patron:
 *   also_borrowed  "12 van de 40 lezers van <title> leenden ook dit", when
 *                  both (patrons who borrowed it and the wanted title) is at
 *                  least min_patrons and borrowers (the wanted title's) is
 *                  known; else "Lezers van <title> leenden ook dit" (no
 *                  count), or, for a title only the patron's own history
 *                  brought (both 0), "Past bij wat u eerder leende";
 *   same_author    "Ook van <author>"; same_subject "Ook over <subject>";
 *   popular        "Veel geleend in <branch>" for one of the most borrowed
 *                  at the patron's branch (branch: its name), else
 *                  "Populair bij onze lezers".
 * reason is a reason_name() ("also_borrowed", ...); title and author are
 * the wanted title's, subject the one of its subject headings that found
 * the alternative (NULL: not known, a plainer sentence).
 * -1 when out of memory. */
int message_explanation(struct strbuf *out, const char *lang, const char *reason,
                        unsigned long both, unsigned long borrowers, unsigned long min_patrons,
                        const char *title, const char *author, const char *subject,
                        const char *branch);

/* "3 december 2026" / "3 December 2026"; -1 if date is malformed. */
int message_date(struct strbuf *out, const char *lang, const char *date);

#endif
