/* rollup.c: see rollup.h. */
#include "redis/rollup.h"

#include <stdlib.h>
#include <string.h>

#include "core/dict.h"

const char *const ru_counter_names[] = {
    "touchpoints", "on_loan", "with_alternatives", "shown", "click", "reserve", "borrow",
    "dismiss", "attributed_borrow", "attributed_reserve", "attributed_borrow_wanted", NULL};

/* KEYS[1] ru1:cells, KEYS[2] ru1:ncells; ARGV[1] the cell's name. */
static const char number_script[] =
    "local n = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "if n then return tonumber(n) end\n"
    "n = redis.call('INCR', KEYS[2]) - 1\n"
    "redis.call('HSET', KEYS[1], ARGV[1], n)\n"
    "return n\n";

int rollup_cell_name(const struct ru_cell *c, struct strbuf *out)
{
    const char *part[5] = {c->catalogue, c->branch, c->channel, c->status, c->arm};
    int rc = 0;
    for (int i = 0; i < 5; i++) {
        if (i)
            rc |= strbuf_append(out, (const char[]){RU_CELL_SEPARATOR}, 1);
        rc |= strbuf_puts(out, part[i] ? part[i] : "");
    }
    return rc ? -1 : 0;
}

int rollup_cell_split(char *name, struct ru_cell *c)
{
    const char **part[5] = {&c->catalogue, &c->branch, &c->channel, &c->status, &c->arm};
    for (int i = 0; i < 5; i++) {
        *part[i] = name;
        char *sep = strchr(name, RU_CELL_SEPARATOR);
        if ((i < 4) != (sep != NULL))
            return -1;
        if (sep) {
            *sep = '\0';
            name = sep + 1;
        }
    }
    return 0;
}

void rollup_day(time_t t, char out[RU_DAY_BYTES + 1])
{
    struct tm tm;
    localtime_r(&t, &tm);
    if (!strftime(out, RU_DAY_BYTES + 1, "%Y%m%d", &tm))
        memcpy(out, "19700101", RU_DAY_BYTES + 1);
}

int rollup_number_command(const struct config *cfg, const char *cell_name, struct rcmd *cmd)
{
    int rc = rcmd_addstr(cmd, "EVAL") | rcmd_addstr(cmd, number_script) | rcmd_addstr(cmd, "2") |
             rcmd_addjoin(cmd, cfg->redis_prefix, "ru1:cells", "") |
             rcmd_addjoin(cmd, cfg->redis_prefix, "ru1:ncells", "") | rcmd_addstr(cmd, cell_name);
    return rc ? -1 : 0;
}

int rollup_incr_command(const struct config *cfg, const char *day, uint32_t cell,
                        const enum ru_counter *counters, size_t n, uint32_t by,
                        struct rcmd *cmd)
{
    int rc = rcmd_addstr(cmd, "BITFIELD") | rcmd_addjoin(cmd, cfg->redis_prefix, "ru1:", day);
    for (size_t i = 0; i < n; i++)
        rc |= rcmd_addstr(cmd, "INCRBY") | rcmd_addstr(cmd, "u32") |
              rcmd_addf(cmd, "#%llu", (unsigned long long)cell * RU_NCOUNTERS + counters[i]) |
              rcmd_addf(cmd, "%u", by);
    return rc ? -1 : 0;
}

struct ru_cells {
    struct dict *numbers;       /* name -> number + 1 (so that none is NULL) */
    size_t max;
};

struct ru_cells *ru_cells_new(size_t max_entries)
{
    struct ru_cells *rc = calloc(1, sizeof *rc);
    if (rc && !(rc->numbers = dict_new())) {
        free(rc);
        return NULL;
    }
    if (rc)
        rc->max = max_entries;
    return rc;
}

void ru_cells_free(struct ru_cells *rc)
{
    if (!rc)
        return;
    dict_free(rc->numbers, NULL);
    free(rc);
}

long ru_cells_get(const struct ru_cells *rc, const char *cell_name)
{
    uintptr_t v = (uintptr_t)dict_get(rc->numbers, cell_name);
    return v ? (long)(v - 1) : -1;
}

void ru_cells_put(struct ru_cells *rc, const char *cell_name, uint32_t cell)
{
    if (dict_size(rc->numbers) < rc->max)
        dict_set(rc->numbers, cell_name, (void *)((uintptr_t)cell + 1), NULL);
}
