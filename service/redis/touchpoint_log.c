/* touchpoint_log.c: see touchpoint_log.h. */
#include "redis/touchpoint_log.h"

#include <string.h>
#include <time.h>

#include "core/strbuf.h"

static int utc_now(char out[21])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    return strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) ? 0 : -1;
}

static int add_field(struct rcmd *cmd, const char *name, const char *value)
{
    return rcmd_addstr(cmd, name) | rcmd_addstr(cmd, value ? value : "");
}

static int add_xadd_head(const struct config *cfg, struct rcmd *cmd, const char *stream)
{
    return rcmd_addstr(cmd, "XADD") | rcmd_addjoin(cmd, cfg->redis_prefix, stream, "") |
           rcmd_addstr(cmd, "MAXLEN") | rcmd_addstr(cmd, "~") |
           rcmd_addf(cmd, "%d", cfg->touchpoint_stream_max) | rcmd_addstr(cmd, "*");
}

int touchpoint_log_add(const struct config *cfg, const struct touchpoint *tp, struct rcmd *cmd)
{
    char now[21];
    struct strbuf alts = {0};
    int rc = utc_now(now);
    for (size_t i = 0; i < tp->nalternatives; i++)
        rc |= (i ? strbuf_append(&alts, ",", 1) : 0) | strbuf_puts(&alts, tp->alternatives[i]);
    rc |= add_xadd_head(cfg, cmd, "tp");
    rc |= add_field(cmd, "time", now) | add_field(cmd, "record", tp->record) |
          add_field(cmd, "catalogue", tp->catalogue) | add_field(cmd, "status", tp->status) |
          add_field(cmd, "branch", tp->branch) | add_field(cmd, "channel", tp->channel) |
          add_field(cmd, "lang", tp->lang) | add_field(cmd, "alternatives", strbuf_cstr(&alts));
    strbuf_free(&alts);
    return rc ? -1 : 0;
}

int touchpoint_log_outcome(const struct config *cfg, const char *touchpoint, const char *type,
                           const char *record, struct rcmd *cmd)
{
    char now[21];
    int rc = utc_now(now) | add_xadd_head(cfg, cmd, "ev") |
             add_field(cmd, "touchpoint", touchpoint) | add_field(cmd, "type", type) |
             add_field(cmd, "record", record) | add_field(cmd, "time", now);
    return rc ? -1 : 0;
}

int touchpoint_log_read(const struct config *cfg, const char *touchpoint, struct rcmd *cmd)
{
    int rc = rcmd_addstr(cmd, "XRANGE") | rcmd_addjoin(cmd, cfg->redis_prefix, "tp", "") |
             rcmd_addstr(cmd, touchpoint) | rcmd_addstr(cmd, touchpoint);
    return rc ? -1 : 0;
}

int touchpoint_outcome_type_valid(const char *type)
{
    static const char *const types[] = {"shown", "click", "reserve", "borrow", "dismiss"};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(type, types[i]) == 0)
            return 1;
    return 0;
}

int touchpoint_entry_shows(const redisReply *entry, const char *record)
{
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
        entry->element[1]->type != REDIS_REPLY_ARRAY)
        return -1;
    const redisReply *fields = entry->element[1];
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *k = fields->element[i], *v = fields->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            return -1;
        if (strcmp(k->str, "record") == 0 && strcmp(v->str, record) == 0)
            return 1;
        if (strcmp(k->str, "alternatives") == 0) {
            size_t n = strlen(record);
            for (const char *p = v->str; *p;) {
                size_t len = strcspn(p, ",");
                if (len == n && strncmp(p, record, n) == 0)
                    return 1;
                p += len + (p[len] == ',');
            }
        }
    }
    return 0;
}
