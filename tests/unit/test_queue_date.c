/* test_queue_date.c: when a reservation placed now is likely ready, from
 * the copies' due dates, the holds waiting and the loan period. */
#include <stdlib.h>

#include "catalogue/queue_date.h"
#include "core/calendar.h"
#include "unit.h"

/* A bib of copies given as status letters and due dates: 'o' on loan
 * (due "YYYY-MM-DD" or "" unknown), 'a' available, 'h' held for another
 * patron, 'n' not for loan, 'u' unavailable. */
static struct bib *bib_of(const char *statuses, const char *const *dues)
{
    struct bib *b = calloc(1, sizeof *b);
    size_t n = strlen(statuses);
    b->refs = 1;
    b->copies = calloc(n, sizeof *b->copies);
    b->ncopies = n;
    for (size_t i = 0; i < n; i++) {
        struct copy *c = &b->copies[i];
        c->branch = strdup("CEN");
        switch (statuses[i]) {
        case 'o':
            c->status = COPY_ON_LOAN;
            snprintf(c->due, sizeof c->due, "%s", dues[i]);
            break;
        case 'a': c->status = COPY_AVAILABLE; break;
        case 'h': c->status = COPY_HELD; break;
        case 'n': c->status = COPY_NOT_FOR_LOAN; break;
        default: c->status = COPY_UNAVAILABLE; break;
        }
    }
    return b;
}

static const char *ready(const struct bib *b, uint32_t queue, int loan, const char *today)
{
    static char out[CAL_DATE_BYTES + 1];
    long day = queue_ready_day(b, queue, loan, cal_days_from_civil(atoi(today), (unsigned)atoi(today + 5),
                                                                   (unsigned)atoi(today + 8)));
    if (day < 0)
        return "none";
    cal_date_text(day, out);
    return out;
}

TEST(one_copy_serves_the_queue_in_turn)
{
    static const char *const dues[] = {"2026-12-10"};
    struct bib *b = bib_of("o", dues);
    CHECK_STR(ready(b, 0, 21, "2026-12-05"), "2026-12-10");     /* no queue: when it is back */
    CHECK_STR(ready(b, 1, 21, "2026-12-05"), "2026-12-31");     /* after one loan period */
    CHECK_STR(ready(b, 3, 21, "2026-12-05"), "2027-02-11");     /* 10 Dec + 3 x 21 days */
    CHECK_STR(ready(b, 2, 14, "2026-12-05"), "2027-01-07");     /* the catalogue's period */
    bib_unref(b);
}

TEST(several_copies_share_the_queue)
{
    static const char *const dues[] = {"2026-12-10", "2026-12-20", "", "", ""};
    struct bib *b = bib_of("oonuh", dues);
    /* serving days: copy 1: 10 Dec, 31 Dec, ...; copy 2: 20 Dec, 10 Jan,
     * ...; the held copy: 26 Dec (5 Dec + 21), 16 Jan, ...; not for loan
     * and lost copies serve nobody */
    CHECK_STR(ready(b, 0, 21, "2026-12-05"), "2026-12-10");
    CHECK_STR(ready(b, 1, 21, "2026-12-05"), "2026-12-20");
    CHECK_STR(ready(b, 2, 21, "2026-12-05"), "2026-12-26");
    CHECK_STR(ready(b, 3, 21, "2026-12-05"), "2026-12-31");
    CHECK_STR(ready(b, 4, 21, "2026-12-05"), "2027-01-10");
    CHECK_STR(ready(b, 5, 21, "2026-12-05"), "2027-01-16");
    bib_unref(b);
}

TEST(overdue_unknown_due_and_no_copy)
{
    static const char *const overdue[] = {"2026-11-01"};
    struct bib *b = bib_of("o", overdue);
    CHECK_STR(ready(b, 0, 21, "2026-12-05"), "2026-12-05");     /* overdue: any day now */
    CHECK_STR(ready(b, 1, 21, "2026-12-05"), "2026-12-26");
    bib_unref(b);
    static const char *const unknown[] = {""};
    b = bib_of("o", unknown);                                   /* Sirsi: no due date */
    CHECK_STR(ready(b, 0, 21, "2026-12-05"), "2026-12-26");
    bib_unref(b);
    static const char *const none[] = {"", ""};
    b = bib_of("nu", none);
    CHECK_STR(ready(b, 0, 21, "2026-12-05"), "none");
    bib_unref(b);
    /* a long queue stays exact and quick */
    static const char *const one[] = {"2026-12-05"};
    b = bib_of("o", one);
    CHECK_STR(ready(b, 100000, 1, "2026-12-05"), "2300-09-20");
    CHECK(queue_ready_day(b, UINT32_MAX, 365, 0) == 365L * UINT32_MAX + 20792);
    bib_unref(b);
}

int main(void)
{
    RUN(one_copy_serves_the_queue_in_turn);
    RUN(several_copies_share_the_queue);
    RUN(overdue_unknown_due_and_no_copy);
    return unit_failures != 0;
}
