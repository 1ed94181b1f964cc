/* touchpoint_log.c: see touchpoint_log.h. */
#include "redis/touchpoint_log.h"

#include <limits.h>
#include <stdlib.h>
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
    int rc = utc_now(now) | add_xadd_head(cfg, cmd, "tp");
    rc |= add_field(cmd, "time", now) | add_field(cmd, "record", tp->record) |
          add_field(cmd, "catalogue", tp->catalogue) | add_field(cmd, "status", tp->status) |
          add_field(cmd, "branch", tp->branch) | add_field(cmd, "channel", tp->channel) |
          add_field(cmd, "lang", tp->lang) | add_field(cmd, "alternatives", tp->alternatives) |
          add_field(cmd, "experiment", tp->experiment) | add_field(cmd, "arm", tp->arm) |
          add_field(cmd, "day", tp->day) | rcmd_addstr(cmd, "cell") |
          rcmd_addf(cmd, "%lu", (unsigned long)tp->cell);
    return rc ? -1 : 0;
}

int touchpoint_log_read(const struct config *cfg, const char *touchpoint, struct rcmd *cmd)
{
    int rc = rcmd_addstr(cmd, "XRANGE") | rcmd_addjoin(cmd, cfg->redis_prefix, "tp", "") |
             rcmd_addstr(cmd, touchpoint) | rcmd_addstr(cmd, touchpoint);
    return rc ? -1 : 0;
}

int touchpoint_entry_parse(const redisReply *entry, struct touchpoint_entry *out)
{
    memset(out, 0, sizeof *out);
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
        entry->element[1]->type != REDIS_REPLY_ARRAY)
        return -1;
    const redisReply *fields = entry->element[1];
    const char *cell = NULL;
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *k = fields->element[i], *v = fields->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            return -1;
        if (strcmp(k->str, "record") == 0)
            out->record = v->str;
        else if (strcmp(k->str, "alternatives") == 0)
            out->alternatives = v->str;
        else if (strcmp(k->str, "day") == 0)
            out->day = v->str;
        else if (strcmp(k->str, "cell") == 0)
            cell = v->str;
    }
    if (!out->record)
        return -1;
    if (!out->alternatives)
        out->alternatives = "";
    if (cell && out->day && strlen(out->day) == RU_DAY_BYTES) {
        char *end;
        unsigned long n = strtoul(cell, &end, 10);
        if (*cell && !*end && n <= UINT32_MAX) {
            out->cell = (uint32_t)n;
            out->has_cell = 1;
        }
    }
    return 0;
}

int touchpoint_entry_shows(const struct touchpoint_entry *e, const char *record)
{
    if (strcmp(e->record, record) == 0)
        return 1;
    size_t n = strlen(record);
    for (const char *p = e->alternatives; *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, record, n) == 0)
            return 1;
        p += len + (p[len] == ',');
    }
    return 0;
}

static const struct {
    const char *type;
    enum ru_counter counter;
    int posted;                 /* may come from the OPAC */
} outcome_types[] = {
    {"shown", RU_SHOWN, 1},
    {"click", RU_CLICK, 1},
    {"reserve", RU_RESERVE, 1},
    {"borrow", RU_BORROW, 1},
    {"dismiss", RU_DISMISS, 1},
    {"attributed_borrow", RU_ATTRIBUTED_BORROW, 0},
    {"attributed_reserve", RU_ATTRIBUTED_RESERVE, 0},
    {"attributed_borrow_wanted", RU_ATTRIBUTED_BORROW_WANTED, 0},
};

int touchpoint_outcome_counter(const char *type)
{
    for (size_t i = 0; i < sizeof outcome_types / sizeof outcome_types[0]; i++)
        if (strcmp(type, outcome_types[i].type) == 0)
            return (int)outcome_types[i].counter;
    return -1;
}

int touchpoint_outcome_type_valid(const char *type)
{
    for (size_t i = 0; i < sizeof outcome_types / sizeof outcome_types[0]; i++)
        if (strcmp(type, outcome_types[i].type) == 0)
            return outcome_types[i].posted;
    return 0;
}

/* KEYS[1] tpo:<id>, KEYS[2] ru1:<day>, KEYS[3] ev; ARGV[1] "<type>|<record>",
 * ARGV[2] how long tpo:<id> is kept (s), ARGV[3] the counter's BITFIELD
 * index ("" when not counted), ARGV[4] the stream's cap, then the ev
 * entry's fields and values. */
static const char outcome_script[] =
    "if redis.call('HSETNX', KEYS[1], ARGV[1], 1) == 0 then return 0 end\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
    "if ARGV[3] ~= '' then redis.call('BITFIELD', KEYS[2], 'INCRBY', 'u32', ARGV[3], 1) end\n"
    "return redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', unpack(ARGV, 5))\n";

int touchpoint_log_outcome(const struct config *cfg, const struct outcome *o, struct rcmd *cmd)
{
    char now[21];
    int counter = touchpoint_outcome_counter(o->type);
    /* an outcome may come as long as its token lives, an attribution as
     * long as the window: the marks outlive both */
    long long keep_s = (long long)cfg->token_ttl_s;
    if ((long long)cfg->attribution_days * 86400 > keep_s)
        keep_s = (long long)cfg->attribution_days * 86400;
    keep_s += 86400;
    if (counter < 0)
        return -1;
    int rc = utc_now(now) | rcmd_addstr(cmd, "EVAL") | rcmd_addstr(cmd, outcome_script) |
             rcmd_addstr(cmd, "3") | rcmd_addjoin(cmd, cfg->redis_prefix, "tpo:", o->touchpoint) |
             rcmd_addjoin(cmd, cfg->redis_prefix, "ru1:", o->day ? o->day : "") |
             rcmd_addjoin(cmd, cfg->redis_prefix, "ev", "") |
             rcmd_addf(cmd, "%s|%s", o->type, o->record ? o->record : "") |
             rcmd_addf(cmd, "%lld", keep_s);
    rc |= o->day ? rcmd_addf(cmd, "#%llu", (unsigned long long)o->cell * RU_NCOUNTERS +
                                               (unsigned)counter)
                 : rcmd_addstr(cmd, "");
    rc |= rcmd_addf(cmd, "%d", cfg->touchpoint_stream_max) |
          add_field(cmd, "touchpoint", o->touchpoint) | add_field(cmd, "type", o->type) |
          add_field(cmd, "record", o->record) | add_field(cmd, "time", now);
    return rc ? -1 : 0;
}

/* One HSET field: the record (n bytes), and "<touchpoint> <role> <day>
 * <cell>". */
static int remember_field(struct rcmd *cmd, const char *record, size_t n, const char *touchpoint,
                          char role, const struct touchpoint *tp)
{
    return rcmd_add(cmd, record, n) |
           rcmd_addf(cmd, "%s %c %s %lu", touchpoint, role, tp->day, (unsigned long)tp->cell);
}

int touchpoint_log_remember(const struct config *cfg, const char *pseudonym,
                            const char *touchpoint, const struct touchpoint *tp,
                            struct rcmd_list *cs)
{
    struct rcmd *set = rcmd_list_key(cs, "HSET", cfg->redis_prefix, "at:", pseudonym);
    if (!set)
        return -1;
    int rc = remember_field(set, tp->record, strlen(tp->record), touchpoint,
                            TOUCHPOINT_ROLE_WANTED, tp);
    for (const char *p = tp->alternatives; *p;) {
        size_t len = strcspn(p, ",");
        rc |= remember_field(set, p, len, touchpoint, TOUCHPOINT_ROLE_ALTERNATIVE, tp);
        p += len + (p[len] == ',');
    }
    cs->failed |= rc;
    struct rcmd *expire = rcmd_list_key(cs, "EXPIRE", cfg->redis_prefix, "at:", pseudonym);
    if (expire)
        cs->failed |= rcmd_addf(expire, "%lld", (long long)cfg->attribution_days * 86400);
    return cs->failed ? -1 : 0;
}

/* 1 to 20 digits at s[*at..], up to a space or the end, as a number no
 * greater than max; *at moves past them. */
static int mark_number(const char *s, size_t len, size_t *at, unsigned long long max,
                       unsigned long long *out)
{
    size_t i = *at;
    unsigned long long v = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9' && i - *at < 20) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
        i++;
    }
    if (i == *at)
        return -1;
    *at = i;
    *out = v;
    return 0;
}

int touchpoint_mark_parse(const char *s, size_t len, struct touchpoint_mark *m)
{
    size_t at = 0;
    unsigned long long ms, seq, cell;
    /* "<ms>-<seq> " */
    if (mark_number(s, len, &at, LLONG_MAX, &ms) < 0 || at >= len || s[at++] != '-' ||
        mark_number(s, len, &at, ULLONG_MAX, &seq) < 0 || at >= len || s[at] != ' ')
        return -1;
    memcpy(m->touchpoint, s, at);       /* at most 20 + 1 + 20 bytes */
    m->touchpoint[at++] = '\0';
    m->ms = (long long)ms;
    /* "<role> " */
    if (at + 2 > len || (s[at] != TOUCHPOINT_ROLE_WANTED && s[at] != TOUCHPOINT_ROLE_ALTERNATIVE) ||
        s[at + 1] != ' ')
        return -1;
    m->role = s[at];
    at += 2;
    /* "<YYYYMMDD> <cell>" and nothing after */
    if (at + RU_DAY_BYTES + 1 > len || s[at + RU_DAY_BYTES] != ' ')
        return -1;
    for (size_t i = 0; i < RU_DAY_BYTES; i++)
        if (s[at + i] < '0' || s[at + i] > '9')
            return -1;
    memcpy(m->day, s + at, RU_DAY_BYTES);
    m->day[RU_DAY_BYTES] = '\0';
    at += RU_DAY_BYTES + 1;
    if (mark_number(s, len, &at, UINT32_MAX, &cell) < 0 || at != len)
        return -1;
    m->cell = (uint32_t)cell;
    return 0;
}
