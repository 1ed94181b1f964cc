/* rollup.c: see rollup.h. */
#include "redis/rollup.h"

#include <stdlib.h>
#include <string.h>

const char *const ru_counter_names[] = {
    "touchpoints", "on_loan", "with_alternatives", "shown", "click", "reserve", "borrow",
    "dismiss", "attributed_borrow", "attributed_reserve", "attributed_borrow_wanted", NULL};

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
