/* eval_loans.h: a loans file made ready for onloan eval.
 *
 * Real library loans are not all dated to the day, and historical ones
 * come before 1970, which the loan model refuses (loan_event.h): a loan
 * before any clock it keeps cannot be told from a bad one. Before the
 * daemon's own reader (loans_from_text) checks every row, a CSV's time
 * column is looked at here:
 *   - a row whose date is partial (YYYY, YYYY-MM, a day without a year
 *     --MM-DD) or missing is left out, counted by kind: it cannot be put
 *     in time order with the others, and the protocol (eval_protocol.h)
 *     is about order. Its line stays, blank, so that the reader's line
 *     numbers are still the file's;
 *   - when the earliest full time is before 1970, every time moves later
 *     by the same number of days, the smallest whole number of four-year
 *     cycles (1461 days) that brings it to 1970 or after: order and gaps
 *     are exact, and so are day and month (1901-2099). If the newest
 *     then lands more than a day in the future, the span is too long and
 *     that is an error. Moved times are written as Unix seconds;
 *   - anything else (a malformed time, a bad record) is left for the
 *     reader to report with its line.
 * The raw patron ids are read too, for onloan eval --titles to ask the
 * daemon with patron= (which pseudonymises them itself). MovieLens
 * ratings (Unix seconds) and JSON lines pass unchanged. */
#ifndef ONLOAN_CLI_EVAL_LOANS_H
#define ONLOAN_CLI_EVAL_LOANS_H

#include <stddef.h>

#include "core/config.h"
#include "core/dict.h"
#include "core/strbuf.h"

#define EVAL_SHIFT_CYCLE_DAYS 1461      /* four years, one leap day: the calendar repeats */

enum eval_undated { UNDATED_NONE, UNDATED_YEAR, UNDATED_MONTH, UNDATED_DAY, UNDATED_KINDS };

struct eval_loans {
    char *text;                     /* what the reader is to read (owned) */
    size_t len;
    size_t rows;                    /* data rows seen (left out ones included) */
    size_t undated[UNDATED_KINDS];  /* rows left out: no date, a year, year and month,
                                     * month and day */
    long long shift_days;           /* added to every time; 0: none */
    struct dict *raw_patrons;       /* pseudonym -> raw patron id (owned strings) */
};

/* Makes out from the file's text (len bytes; now: the time "the future"
 * starts after). Returns 0, or -1 with the reason in err: out of memory,
 * or a span that cannot be moved after 1970 ("file: ..."; name is the
 * file's name for messages). */
int eval_loans_prepare(const char *name, const char *text, size_t len, const struct config *cfg,
                       long long now, struct eval_loans *out, struct strbuf *err);
void eval_loans_free(struct eval_loans *l);
/* Rows left out, all kinds. */
size_t eval_loans_undated(const struct eval_loans *l);

/* The kind of a date that is not a full one, or -1 for a full time or
 * something else (which loan_time_parse judges). */
int eval_date_partial(const char *s);

#endif
