/* attribution.c: see attribution.h. */
#include "ingest/attribution.h"

const char *attribution_outcome(enum loan_event_type type, long long when,
                                const struct touchpoint_mark *m, long long window_s)
{
    long long shown = m->ms / 1000;     /* the events' times are whole seconds */
    if (when < shown || when - shown > window_s)
        return NULL;
    int wanted = m->role == TOUCHPOINT_ROLE_WANTED;
    switch (type) {
    case LOAN_EVENT_LOAN:
        return wanted ? "attributed_borrow_wanted" : "attributed_borrow";
    case LOAN_EVENT_HOLD:
        return wanted ? "attributed_reserve" : NULL;
    case LOAN_EVENT_HOLD_FILLED:
    case LOAN_EVENT_HOLD_CANCELLED:
        break;
    }
    return NULL;
}
