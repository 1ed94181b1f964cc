/* attribution.h: what a loan or hold from the library system says about
 * the touchpoint that last showed its title to the same patron: the rule
 * (the engine's part, ingest_attribution.c, finds the touchpoint in
 * at:<pseudonym> and counts the outcome; touchpoint_log.h).
 *
 * An event is attributed when its time (to the second) is at or after
 * the touchpoint's and at most window_s (touchpoints.attribution_days)
 * after it, and then:
 *   a loan of an alternative shown     -> attributed_borrow
 *   a hold of the wanted title         -> attributed_reserve
 *   a loan of the wanted title         -> attributed_borrow_wanted
 * Nothing else is: a hold of an alternative (the OPAC's own reserve
 * outcome covers the wanted title only), and a hold filled or cancelled
 * (what follows a hold already counted: the hold, and the loan that
 * fills it). */
#ifndef ONLOAN_INGEST_ATTRIBUTION_H
#define ONLOAN_INGEST_ATTRIBUTION_H

#include "ingest/loan_event.h"
#include "redis/touchpoint_log.h"

/* Whether an event of this type can be attributed at all (a loan or a
 * hold placed): the ones whose touchpoints are looked up. */
static inline int attribution_possible(enum loan_event_type type)
{
    return type == LOAN_EVENT_LOAN || type == LOAN_EVENT_HOLD;
}

/* The outcome type (a static string), or NULL when the event says
 * nothing about the touchpoint. */
const char *attribution_outcome(enum loan_event_type type, long long when,
                                const struct touchpoint_mark *m, long long window_s);

#endif
