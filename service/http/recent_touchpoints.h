/* recent_touchpoints.h: the touchpoints this daemon made in the last
 * hour, so that their outcomes can be checked and kept (spool.h) while
 * Redis, where every touchpoint is read back from, is away.
 *
 * At most limits.max_recent_touchpoints are kept; when full, a new one is
 * not (its outcomes then wait for Redis like any other's). */
#ifndef ONLOAN_HTTP_RECENT_TOUCHPOINTS_H
#define ONLOAN_HTTP_RECENT_TOUCHPOINTS_H

#include <stddef.h>
#include <stdint.h>

#include "redis/rollup.h"

#define RECENT_TOUCHPOINT_MS (3600 * 1000)

struct recent_touchpoint {
    int refs;
    char day[RU_DAY_BYTES + 1];
    char *alternatives;             /* shown: ids joined by ','; in text */
    char *cell_name;                /* its rollup cell (rollup_cell_name); in text */
    char record[];                  /* the wanted title, then the two above: one block */
};

struct ttl_cache;
struct ttl_cache *recent_touchpoints_new(size_t max_entries);
/* Keeps what an outcome needs of touchpoint id. Nothing kept when out of
 * memory or full. */
void recent_touchpoints_put(struct ttl_cache *c, const char *id, const char *record,
                            const char *alternatives, const char *day, const char *cell_name,
                            uint64_t now_ms);
/* Borrowed until the next put (or NULL). */
const struct recent_touchpoint *recent_touchpoints_get(struct ttl_cache *c, const char *id,
                                                       uint64_t now_ms);

#endif
