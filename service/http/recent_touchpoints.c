/* recent_touchpoints.c: see recent_touchpoints.h. */
#include "http/recent_touchpoints.h"

#include <stdlib.h>
#include <string.h>

#include "core/ttl_cache.h"

static void recent_unref(void *v)
{
    struct recent_touchpoint *t = v;
    if (--t->refs == 0)
        free(t);
}

struct ttl_cache *recent_touchpoints_new(size_t max_entries)
{
    return ttl_cache_new(max_entries, recent_unref);
}

void recent_touchpoints_put(struct ttl_cache *c, const char *id, const char *record,
                            const char *alternatives, const char *day, const char *cell_name,
                            uint64_t now_ms)
{
    if (!ttl_cache_has_room(c, now_ms))
        return;                 /* (a new id: nothing to replace) */
    size_t nr = strlen(record) + 1, na = strlen(alternatives) + 1, nc = strlen(cell_name) + 1;
    struct recent_touchpoint *t = malloc(sizeof *t + nr + na + nc);
    if (!t)
        return;
    t->refs = 1;
    memcpy(t->record, record, nr);
    t->alternatives = memcpy(t->record + nr, alternatives, na);
    t->cell_name = memcpy(t->record + nr + na, cell_name, nc);
    strncpy(t->day, day, RU_DAY_BYTES);
    t->day[RU_DAY_BYTES] = '\0';
    ttl_cache_put(c, id, t, now_ms + RECENT_TOUCHPOINT_MS, now_ms);
}

const struct recent_touchpoint *recent_touchpoints_get(struct ttl_cache *c, const char *id,
                                                       uint64_t now_ms)
{
    return ttl_cache_get(c, id, now_ms);
}
