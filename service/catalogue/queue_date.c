/* queue_date.c: see queue_date.h. */
#include "catalogue/queue_date.h"

#include "core/config.h"

/* The day a copy is first free for the queue, or -1 if it never is. */
static long copy_free_day(const struct copy *c, long loan, long today)
{
    switch (c->status) {
    case COPY_AVAILABLE:
        return today;
    case COPY_HELD:
        return today + loan;
    case COPY_ON_LOAN: {
        long due = c->due[0] ? config_date_days(c->due) : -1;
        return due < 0 ? today + loan : due < today ? today : due;
    }
    case COPY_NOT_FOR_LOAN:
    case COPY_UNAVAILABLE:
        break;
    }
    return -1;
}

/* Holds the copies have served by the end of day t, counting at most
 * `enough` (so that nothing overflows). */
static uint64_t served_by(const struct bib *b, long t, long loan, long today, uint64_t enough)
{
    uint64_t n = 0;
    for (size_t i = 0; i < b->ncopies && n < enough; i++) {
        long from = copy_free_day(&b->copies[i], loan, today);
        if (from >= 0 && from <= t)
            n += (uint64_t)((t - from) / loan) + 1;
    }
    return n;
}

long queue_ready_day(const struct bib *b, uint32_t queue, int loan_period_days, long today)
{
    long loan = loan_period_days >= 1 ? loan_period_days : 1;
    long first = -1;
    for (size_t i = 0; i < b->ncopies; i++) {
        long from = copy_free_day(&b->copies[i], loan, today);
        if (from >= 0 && (first < 0 || from < first))
            first = from;
    }
    if (first < 0)
        return -1;
    /* The first free copy alone serves queue + 1 holds by first + queue *
     * loan: the answer is in [first, that], and served_by grows with t. */
    uint64_t want = (uint64_t)queue + 1;
    long lo = first, hi = first + (long)queue * loan;
    while (lo < hi) {
        long mid = lo + (hi - lo) / 2;
        if (served_by(b, mid, loan, today, want) >= want)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}
