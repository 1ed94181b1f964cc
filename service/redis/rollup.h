/* rollup.h: counts of touchpoints and of what patrons did with them, per
 * day and per cell, kept up to date as they are written: what reports
 * read (never the streams).
 *
 * A cell is one combination of catalogue, branch, channel, status (of the
 * wanted title: available, on_loan, unknown) and experiment arm, "" where
 * there is none. Cells are numbered once, for every daemon:
 *   <prefix>ru1:cells   hash    "catalogue|branch|channel|status|arm" -> n
 *   <prefix>ru1:ncells  string  the next number
 * A day's counts are one string of 32-bit big-endian unsigned integers:
 *   <prefix>ru1:<YYYYMMDD>      counter c of cell n at index
 *                               n * RU_NCOUNTERS + c (BITFIELD u32 #index)
 * written with BITFIELD INCRBY (atomic; a missing part reads as 0), so a
 * year of a few thousand cells is read in a few hundred GETs. A day is
 * the touchpoint's, in the daemon's local time (TZ): an outcome counts on
 * the day of the answer it followed, so that every rate divides counts
 * of the same touchpoints. */
#ifndef ONLOAN_REDIS_ROLLUP_H
#define ONLOAN_REDIS_ROLLUP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/config.h"
#include "core/strbuf.h"
#include "redis/rcmd.h"

/* Never reordered: the index of a counter is part of the stored layout
 * (a new layout gets a new key prefix, ru2:). */
enum ru_counter {
    RU_TOUCHPOINTS,             /* answers given */
    RU_ON_LOAN,                 /* of which the wanted title was on loan */
    RU_WITH_ALTERNATIVES,       /* of which some alternative was shown */
    RU_SHOWN,                   /* outcomes posted, each once per touchpoint (and record) */
    RU_CLICK,
    RU_RESERVE,
    RU_BORROW,
    RU_DISMISS,
    RU_ATTRIBUTED_BORROW,       /* an alternative shown, borrowed later (library system) */
    RU_ATTRIBUTED_RESERVE,      /* the wanted title reserved later (library system) */
    RU_ATTRIBUTED_BORROW_WANTED,/* the wanted title borrowed later (library system) */
    RU_NCOUNTERS
};
extern const char *const ru_counter_names[];    /* "touchpoints", "on_loan", ... */

#define RU_DAY_BYTES 8          /* YYYYMMDD */
#define RU_CELL_SEPARATOR '|'

/* What a cell is (borrowed strings; NULL is ""). */
struct ru_cell {
    const char *catalogue, *branch, *channel, *status, *arm;
};

/* The cell's name as ru1:cells holds it, appended to out. -1 when out of
 * memory. */
int rollup_cell_name(const struct ru_cell *c, struct strbuf *out);
/* Splits a cell's name (modified: separators become NULs) into c. -1 when
 * it does not have five parts. */
int rollup_cell_split(char *name, struct ru_cell *c);

/* The day of Unix time t, local time: YYYYMMDD and a NUL. */
void rollup_day(time_t t, char out[RU_DAY_BYTES + 1]);

/* Reading: counter c of cell n in a day's string (len bytes; past its end
 * every count is 0). */
static inline uint32_t rollup_count(const unsigned char *day, size_t len, uint32_t cell,
                                    enum ru_counter c)
{
    size_t at = ((size_t)cell * RU_NCOUNTERS + (size_t)c) * 4;
    if (at + 4 > len)
        return 0;
    return (uint32_t)day[at] << 24 | (uint32_t)day[at + 1] << 16 | (uint32_t)day[at + 2] << 8 |
           day[at + 3];
}

#endif
