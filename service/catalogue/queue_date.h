/* queue_date.h: when a reservation placed now is likely ready.
 *
 * Each copy that can be lent serves the holds in turn: a copy on loan from
 * its due date (today if overdue; today plus a loan period if the
 * catalogue gives no date), a copy held for another patron from a loan
 * period after today (that patron borrows it first), a copy on the shelf
 * from today; each further hold on the same copy a loan period later. With
 * `queue` holds waiting, a new one is the queue + 1st served: the
 * earliest day by which the copies have served that many. Copies not for
 * loan or lost serve none. */
#ifndef ONLOAN_CATALOGUE_QUEUE_DATE_H
#define ONLOAN_CATALOGUE_QUEUE_DATE_H

#include <stdint.h>

#include "catalogue/holdings.h"

/* The day (days since 1970-01-01) a hold placed on `today` is likely
 * ready, or -1 when no copy can be lent. loan_period_days >= 1. */
long queue_ready_day(const struct bib *b, uint32_t queue, int loan_period_days, long today);

#endif
