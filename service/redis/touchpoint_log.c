/* touchpoint_log.c: see touchpoint_log.h. */
#include "redis/touchpoint_log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
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

/* "<ms>-<n>": a touchpoint's id, or its batch's. */
static void id_make(uint64_t ms, uint64_t n, char out[TOUCHPOINT_ID_MAX_BYTES + 1])
{
    snprintf(out, TOUCHPOINT_ID_MAX_BYTES + 1, "%llu-%llu", (unsigned long long)ms,
             (unsigned long long)n);
}

int touchpoint_id_batch(const char *id, char batch[TOUCHPOINT_ID_MAX_BYTES + 1], unsigned *place)
{
    char *end;
    if (*id < '0' || *id > '9')
        return -1;
    errno = 0;
    unsigned long long ms = strtoull(id, &end, 10);
    if (errno || *end != '-' || end[1] < '0' || end[1] > '9')
        return -1;
    const char *n_text = end + 1;
    unsigned long long n = strtoull(n_text, &end, 10);
    if (errno || *end || n > INT64_MAX)
        return -1;
    *place = (unsigned)(n & (TOUCHPOINT_BATCH_PLACES - 1));
    id_make(ms, n & ~(unsigned long long)(TOUCHPOINT_BATCH_PLACES - 1), batch);
    return 0;
}

/* How long a batch's tpd: is kept: while outcomes may come (the
 * token's life) and a day. */
static long long tpd_keep_s(const struct config *cfg)
{
    return (long long)cfg->token_ttl_s + 86400;
}

/* A batch of touchpoints in one script. KEYS[1] ru1:cells, KEYS[2]
 * ru1:ncells, KEYS[3] tp, KEYS[4] tpd:<the batch>, then each
 * touchpoint's ru1:<day>. ARGV[1] how long tpd: is kept (s), ARGV[2] the
 * stream's cap, ARGV[3] RU_NCOUNTERS, ARGV[4] how many touchpoints,
 * ARGV[5] how many fields a tp entry has, then their names (tp_fields);
 * then for each touchpoint: its cell's name, how many counters, the
 * counters, its tpd: value but for the cell's number, and its tp entry's
 * values but the last, the cell's number. Each cell is looked up once a
 * batch, each day's counters go in one BITFIELD, and tpd: is one small
 * hash, a field for each touchpoint by its place in the batch. Nothing
 * if tpd: is there: the batch was written before (sent again). */
static const char *const tp_fields[] = {"touchpoint", "time", "record", "catalogue", "status",
                                        "branch", "channel", "lang", "alternatives",
                                        "experiment", "arm", "day", "cell"};
#define TP_FIELDS (sizeof tp_fields / sizeof tp_fields[0])
_Static_assert(TOUCHPOINT_BATCH_PLACES == 64, "the script names 64 places");
static const char add_script[] =
    "if redis.call('EXISTS', KEYS[4]) == 1 then return 0 end\n"
    "-- a place's field name as a string: a number would be printed with %.14g\n"
    "local PLACES = {'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12', '13', '14', "
    "'15', '16', '17', '18', '19', '20', '21', '22', '23', '24', '25', '26', '27', '28', "
    "'29', '30', '31', '32', '33', '34', '35', '36', '37', '38', '39', '40', '41', '42', "
    "'43', '44', '45', '46', '47', '48', '49', '50', '51', '52', '53', '54', '55', '56', "
    "'57', '58', '59', '60', '61', '62', '63'}\n"
    "local cells, bf, h, f = {}, {}, {}, {}\n"
    "local nc, nf = tonumber(ARGV[3]), tonumber(ARGV[5])\n"
    "for i = 1, nf do f[2 * i - 1] = ARGV[5 + i] end\n"
    "local a = 6 + nf\n"
    "for t = 1, tonumber(ARGV[4]) do\n"
    "  local day = KEYS[4 + t]\n"
    "  local c = cells[ARGV[a]]\n"
    "  if not c then\n"
    "    local n = redis.call('HGET', KEYS[1], ARGV[a])\n"
    "    if not n then\n"
    "      n = redis.call('INCR', KEYS[2]) - 1\n"
    "      redis.call('HSET', KEYS[1], ARGV[a], n)\n"
    "    end\n"
    "    c = {name = tostring(n), at = tonumber(n) * nc, offset = {}}\n"
    "    cells[ARGV[a]] = c\n"
    "  end\n"
    "  local k = tonumber(ARGV[a + 1])\n"
    "  local b = bf[day]\n"
    "  if not b then b = {n = 0}; bf[day] = b end\n"
    "  for i = 1, k do\n"
    "    local counter = ARGV[a + 1 + i]\n"
    "    local off = c.offset[counter]\n"
    "    if not off then off = '#' .. (c.at + tonumber(counter)); c.offset[counter] = off end\n"
    "    b[b.n + 1] = 'INCRBY'; b[b.n + 2] = 'u32'; b[b.n + 3] = off; b[b.n + 4] = '1'\n"
    "    b.n = b.n + 4\n"
    "  end\n"
    "  a = a + 2 + k\n"
    "  for i = 1, nf - 1 do f[2 * i] = ARGV[a + i] end\n"
    "  f[2 * nf] = c.name\n"
    "  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*', unpack(f, 1, 2 * nf))\n"
    "  h[2 * t - 1] = PLACES[t]; h[2 * t] = ARGV[a] .. c.name\n"
    "  a = a + nf\n"
    "end\n"
    "for day, b in pairs(bf) do redis.call('BITFIELD', day, unpack(b, 1, b.n)) end\n"
    "redis.call('HSET', KEYS[4], unpack(h))\n"
    "redis.call('EXPIRE', KEYS[4], ARGV[1])\n"
    "return 1\n";

int touchpoint_writes_add(const struct config *cfg, struct touchpoint_writes *w,
                          const struct touchpoint *tp, uint64_t ms, uint64_t draw,
                          const enum ru_counter *counters, size_t ncounters,
                          char id[TOUCHPOINT_ID_MAX_BYTES + 1])
{
    if (w->n >= TOUCHPOINT_BATCH_PLACES)
        return -1;
    if (w->n == 0) {
        w->ms = ms;
        w->base = (draw >> 1) & ~(uint64_t)(TOUCHPOINT_BATCH_PLACES - 1);     /* below 2^63 */
        id_make(w->ms, w->base, w->batch);
    }
    id_make(w->ms, w->base + w->n, id);
    int nkeys = w->keys.argc, nargs = w->args.argc;
    time_t t = time(NULL);
    if (t != w->now_s || !w->now[0]) {          /* the batch's touchpoints share their second */
        w->now_s = t;
        if (utc_now(w->now) < 0)
            return -1;
    }
    int rc = rcmd_addjoin(&w->keys, cfg->redis_prefix, "ru1:", tp->day) |
             rcmd_addstr(&w->args, tp->cell_name) | rcmd_addu(&w->args, ncounters);
    for (size_t i = 0; i < ncounters; i++)
        rc |= rcmd_addu(&w->args, (unsigned)counters[i]);
    /* the tpd: value, then the values of tp_fields but the cell's */
    const char *values[TP_FIELDS - 1] = {id, w->now, tp->record, tp->catalogue, tp->status,
                                         tp->branch, tp->channel, tp->lang, tp->alternatives,
                                         tp->experiment, tp->arm, tp->day};
    const char *tpd_value[] = {tp->record, tp->alternatives, tp->catalogue, tp->day};
    rc |= rcmd_addparts(&w->args, tpd_value, 4, " ");
    for (size_t i = 0; i < TP_FIELDS - 1; i++)
        rc |= rcmd_addstr(&w->args, values[i] ? values[i] : "");
    if (rc) {
        /* the batch as it was: what this one copied stays unused */
        w->keys.argc = nkeys < w->keys.argc ? nkeys : w->keys.argc;
        w->args.argc = nargs < w->args.argc ? nargs : w->args.argc;
        return -1;
    }
    w->n++;
    return 0;
}

int touchpoint_writes_command(const struct config *cfg, const struct touchpoint_writes *w,
                              struct rcmd *cmd)
{
    const char *pfx = cfg->redis_prefix;
    int rc = rcmd_addstr(cmd, "EVAL") | rcmd_addstr(cmd, add_script) |
             rcmd_addf(cmd, "%d", 4 + w->keys.argc) | rcmd_addjoin(cmd, pfx, "ru1:cells", "") |
             rcmd_addjoin(cmd, pfx, "ru1:ncells", "") | rcmd_addjoin(cmd, pfx, "tp", "") |
             rcmd_addjoin(cmd, pfx, "tpd:", w->batch);
    for (int i = 0; i < w->keys.argc; i++)
        rc |= rcmd_add(cmd, w->keys.argv[i], w->keys.len[i]);
    rc |= rcmd_addf(cmd, "%lld", tpd_keep_s(cfg)) |
          rcmd_addf(cmd, "%d", cfg->touchpoint_stream_max) | rcmd_addf(cmd, "%d", RU_NCOUNTERS) |
          rcmd_addf(cmd, "%zu", w->n) | rcmd_addf(cmd, "%zu", TP_FIELDS);
    for (size_t i = 0; i < TP_FIELDS; i++)
        rc |= rcmd_addstr(cmd, tp_fields[i]);
    for (int i = 0; i < w->args.argc; i++)
        rc |= rcmd_add(cmd, w->args.argv[i], w->args.len[i]);
    return rc ? -1 : 0;
}

void touchpoint_writes_clear(struct touchpoint_writes *w)
{
    rcmd_free(&w->keys);
    rcmd_free(&w->args);
    memset(w, 0, sizeof *w);
}

int touchpoint_log_read(const struct config *cfg, const char *touchpoint,
                        struct rcmd cmds[TOUCHPOINT_READ_CMDS])
{
    char batch[TOUCHPOINT_ID_MAX_BYTES + 1] = "-";     /* no batch's: never written */
    unsigned place = 0;
    touchpoint_id_batch(touchpoint, batch, &place);
    int rc = rcmd_addstr(&cmds[0], "HGET") | rcmd_addjoin(&cmds[0], cfg->redis_prefix, "tpd:", batch) |
             rcmd_addu(&cmds[0], place) | rcmd_addstr(&cmds[1], "HGETALL") |
             rcmd_addjoin(&cmds[1], cfg->redis_prefix, "tpd:", touchpoint);
    return rc ? -1 : 0;
}

static int mark_number(const char *s, size_t len, size_t *at, unsigned long long max,
                       unsigned long long *out);

/* A rollup cell's number: s all digits, at most UINT32_MAX. */
static int cell_number(const char *s, uint32_t *cell)
{
    size_t at = 0, len = strlen(s);
    unsigned long long n;
    if (mark_number(s, len, &at, UINT32_MAX, &n) < 0 || at != len)
        return -1;
    *cell = (uint32_t)n;
    return 0;
}

/* "<record> <alternatives> <catalogue> <day> <cell>", split in place:
 * none of them holds a space (record ids, catalogue names, days, cell
 * numbers; alternatives are record ids joined by ','). */
static int parse_packed(char *s, struct touchpoint_entry *out)
{
    char *part[5];
    for (int i = 0; i < 5; i++) {
        part[i] = s;
        s = strchr(s, ' ');
        if (i < 4 && !s)
            return -1;
        if (s)
            *s++ = '\0';
    }
    if (s || !*part[0])
        return -1;
    out->record = part[0];
    out->alternatives = part[1];
    out->catalogue = part[2];
    out->day = part[3];
    if (strlen(part[3]) != RU_DAY_BYTES || cell_number(part[4], &out->cell) < 0)
        return -1;
    out->has_cell = 1;
    return 0;
}

/* A tpd:<id> hash's fields (as touchpoints were kept before 2026-12). */
static int parse_fields(const redisReply *fields, struct touchpoint_entry *out)
{
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
        else if (strcmp(k->str, "catalogue") == 0)
            out->catalogue = v->str;
        else if (strcmp(k->str, "cell") == 0)
            cell = v->str;
    }
    if (!out->record)
        return -1;
    if (!out->alternatives)
        out->alternatives = "";
    if (cell && out->day && strlen(out->day) == RU_DAY_BYTES && cell_number(cell, &out->cell) == 0)
        out->has_cell = 1;
    return 0;
}

int touchpoint_entry_parse(redisReply *reply, struct touchpoint_entry *out)
{
    memset(out, 0, sizeof *out);
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != TOUCHPOINT_READ_CMDS)
        return -1;
    redisReply *packed = reply->element[0], *fields = reply->element[1];
    if (packed->type == REDIS_REPLY_STRING)
        return parse_packed(packed->str, out) < 0 ? -1 : 1;
    if (packed->type != REDIS_REPLY_NIL || fields->type != REDIS_REPLY_ARRAY)
        return -1;
    if (fields->elements == 0)
        return 0;
    return parse_fields(fields, out) < 0 ? -1 : 1;
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

/* KEYS[1] tpo:<id>, KEYS[2] ru1:<day>, KEYS[3] ev, KEYS[4] ru1:cells,
 * KEYS[5] ru1:ncells; ARGV[1] "<type>|<record>", ARGV[2] how long
 * tpo:<id> is kept (s), ARGV[3] the counter ("" when not counted), ARGV[4]
 * the cell's number, or "" and ARGV[5] its name (numbered here if new:
 * an outcome that reaches Redis before its touchpoint still counts),
 * ARGV[6] RU_NCOUNTERS, ARGV[7] the stream's cap, then the ev entry's
 * fields and values. */
static const char outcome_script[] =
    "if redis.call('HSETNX', KEYS[1], ARGV[1], 1) == 0 then return 0 end\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
    "if ARGV[3] ~= '' then\n"
    "  local cell = ARGV[4]\n"
    "  if cell == '' then\n"
    "    cell = redis.call('HGET', KEYS[4], ARGV[5])\n"
    "    if not cell then\n"
    "      cell = redis.call('INCR', KEYS[5]) - 1\n"
    "      redis.call('HSET', KEYS[4], ARGV[5], cell)\n"
    "    end\n"
    "  end\n"
    "  local at = tonumber(cell) * tonumber(ARGV[6]) + tonumber(ARGV[3])\n"
    "  redis.call('BITFIELD', KEYS[2], 'INCRBY', 'u32', '#' .. at, 1)\n"
    "end\n"
    "return redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[7], '*', unpack(ARGV, 8))\n";

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
    const char *pfx = cfg->redis_prefix;
    int rc = utc_now(now) | rcmd_addstr(cmd, "EVAL") | rcmd_addstr(cmd, outcome_script) |
             rcmd_addstr(cmd, "5") | rcmd_addjoin(cmd, pfx, "tpo:", o->touchpoint) |
             rcmd_addjoin(cmd, pfx, "ru1:", o->day ? o->day : "") | rcmd_addjoin(cmd, pfx, "ev", "") |
             rcmd_addjoin(cmd, pfx, "ru1:cells", "") | rcmd_addjoin(cmd, pfx, "ru1:ncells", "") |
             rcmd_addf(cmd, "%s|%s", o->type, o->record ? o->record : "") |
             rcmd_addf(cmd, "%lld", keep_s);
    rc |= o->day ? rcmd_addf(cmd, "%d", counter) : rcmd_addstr(cmd, "");
    rc |= o->cell_name ? rcmd_addstr(cmd, "") | rcmd_addstr(cmd, o->cell_name)
                       : rcmd_addf(cmd, "%lu", (unsigned long)o->cell) | rcmd_addstr(cmd, "");
    rc |= rcmd_addf(cmd, "%d", RU_NCOUNTERS) | rcmd_addf(cmd, "%d", cfg->touchpoint_stream_max) |
          add_field(cmd, "touchpoint", o->touchpoint) | add_field(cmd, "type", o->type) |
          add_field(cmd, "record", o->record) | add_field(cmd, "time", now);
    return rc ? -1 : 0;
}

/* KEYS[1] at:<pseudonym>, KEYS[2] ru1:cells; ARGV[1] the cell's name,
 * ARGV[2] how long at: is kept (s), then each record and "<touchpoint>
 * <role> <day>" (the cell's number is added). */
static const char remember_script[] =
    "local cell = redis.call('HGET', KEYS[2], ARGV[1])\n"
    "if not cell then return 0 end\n"
    "for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1] .. ' ' .. cell) end\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
    "return 1\n";

int touchpoint_log_remember(const struct config *cfg, const char *pseudonym,
                            const struct touchpoint *tp, struct rcmd *cmd)
{
    const char *pfx = cfg->redis_prefix;
    int rc = rcmd_addstr(cmd, "EVAL") | rcmd_addstr(cmd, remember_script) | rcmd_addstr(cmd, "2") |
             rcmd_addjoin(cmd, pfx, "at:", pseudonym) | rcmd_addjoin(cmd, pfx, "ru1:cells", "") |
             rcmd_addstr(cmd, tp->cell_name) |
             rcmd_addf(cmd, "%lld", (long long)cfg->attribution_days * 86400) |
             rcmd_addstr(cmd, tp->record) |
             rcmd_addf(cmd, "%s %c %s", tp->id, TOUCHPOINT_ROLE_WANTED, tp->day);
    for (const char *p = tp->alternatives; *p;) {
        size_t len = strcspn(p, ",");
        rc |= rcmd_add(cmd, p, len) |
              rcmd_addf(cmd, "%s %c %s", tp->id, TOUCHPOINT_ROLE_ALTERNATIVE, tp->day);
        p += len + (p[len] == ',');
    }
    return rc ? -1 : 0;
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
