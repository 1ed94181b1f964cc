/* loan_event.c: see loan_event.h. */
#include "ingest/loan_event.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/csv.h"
#include "core/dict.h"
#include "core/ids.h"

#define MAX_COLUMNS 64

static int all_digits(const char *s, size_t n)
{
    return n > 0 && strspn(s, "0123456789") >= n;
}

/* Fixed-width digits at the given positions: strptime alone would skip
 * blanks and take one-digit months. */
static int digits_at(const char *s, const char *pattern)
{
    for (size_t i = 0; pattern[i]; i++) {
        if (pattern[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pattern[i])
            return 0;
    }
    return 1;
}

/* timegm, refusing dates the calendar does not have (2026-02-30). */
static int utc_seconds(struct tm *tm, long long *out)
{
    struct tm want = *tm, back;
    time_t t = timegm(tm);
    if (!gmtime_r(&t, &back) || back.tm_year != want.tm_year || back.tm_mon != want.tm_mon ||
        back.tm_mday != want.tm_mday || back.tm_hour != want.tm_hour ||
        back.tm_min != want.tm_min || back.tm_sec != want.tm_sec)
        return -1;
    *out = (long long)t;
    return 0;
}

static int parse_time(const char *s, int export_form, long long *out)
{
    struct tm tm = {0};
    size_t n = strlen(s);
    if (all_digits(s, n) && n <= 12) {
        *out = atoll(s);
        return 0;
    }
    if (n == 10) {
        if (!digits_at(s, "dddd-dd-dd") || !strptime(s, "%Y-%m-%d", &tm))
            return -1;
        return utc_seconds(&tm, out);
    }
    /* YYYY-MM-DDTHH:MM:SS, then .fraction, then Z or +HH:MM / -HH:MM;
     * for an export, a blank for the T and no zone too */
    int blank = export_form && n >= 19 && s[10] == ' ';
    if (n < (export_form ? 19 : 20) ||
        !digits_at(s, blank ? "dddd-dd-dd dd:dd:dd" : "dddd-dd-ddTdd:dd:dd"))
        return -1;
    const char *p = strptime(s, blank ? "%Y-%m-%d %H:%M:%S" : "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p || p != s + 19)
        return -1;
    if (*p == '.') {
        size_t digits = strspn(p + 1, "0123456789");
        if (digits == 0 || digits > 9)
            return -1;
        p += 1 + digits;
    }
    long long offset = 0;
    if ((p[0] == 'Z' && p[1] == '\0') || (export_form && p[0] == '\0')) {
        offset = 0;
    } else if ((p[0] == '+' || p[0] == '-') && strlen(p) == 6 && p[3] == ':' &&
               all_digits(p + 1, 2) && all_digits(p + 4, 2)) {
        int hh = (p[1] - '0') * 10 + (p[2] - '0'), mm = (p[4] - '0') * 10 + (p[5] - '0');
        if (hh > 23 || mm > 59)
            return -1;
        offset = (p[0] == '+' ? 1 : -1) * (hh * 3600LL + mm * 60LL);
    } else {
        return -1;
    }
    long long t;
    if (utc_seconds(&tm, &t) < 0)
        return -1;
    *out = t - offset;
    return 0;
}

int loan_time_parse(const char *s, long long *out)
{
    return parse_time(s, 0, out);
}

int loan_time_parse_export(const char *s, long long *out)
{
    return parse_time(s, 1, out);
}

static const char *const type_names[] = {
    [LOAN_EVENT_LOAN] = "loan",
    [LOAN_EVENT_HOLD] = "hold",
    [LOAN_EVENT_HOLD_FILLED] = "hold_filled",
    [LOAN_EVENT_HOLD_CANCELLED] = "hold_cancelled",
};
#define NTYPES (sizeof type_names / sizeof type_names[0])

int loan_event_type_parse(const char *name, size_t n, enum loan_event_type *out)
{
    for (size_t t = 0; t < NTYPES; t++) {
        if (strlen(type_names[t]) == n && memcmp(type_names[t], name, n) == 0) {
            *out = (enum loan_event_type)t;
            return 0;
        }
    }
    return -1;
}

const char *loan_event_type_name(enum loan_event_type type)
{
    return (size_t)type < NTYPES ? type_names[type] : "?";
}

#define TYPE_RULE "must be " LOAN_EVENT_TYPES

void loan_batch_free(struct loan_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->ev[i].record);      /* and the branch, which is in its block */
    free(b->ev);
    memset(b, 0, sizeof *b);
}

int loan_event_order(const void *x, const void *y)
{
    const struct loan_event *a = x, *b = y;
    int c = strcmp(a->patron, b->patron);
    if (c)
        return c;
    if (a->when != b->when)
        return a->when < b->when ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int by_time_seq(const void *x, const void *y)
{
    const struct loan_event *a = *(struct loan_event *const *)x, *b = *(struct loan_event *const *)y;
    if (a->when != b->when)
        return a->when < b->when ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Few events (a live job): grouped by comparing, no table to build. */
#define ORDER_FEW 32

int loan_order_by_patron(struct loan_event **ev, size_t n)
{
    if (n < 2)
        return 0;
    struct loan_event **out = malloc(n * sizeof *out);
    size_t *end = malloc(n * sizeof *end), ngroups = 0;     /* where each group ends in out */
    struct dict *seen = n > ORDER_FEW ? dict_new() : NULL;
    uint32_t *gid = n > ORDER_FEW ? malloc(n * sizeof *gid) : NULL;
    int rc = -1;
    if (!out || !end || (n > ORDER_FEW && (!seen || !gid)) || n >= UINT32_MAX)
        goto done;
    if (n <= ORDER_FEW) {
        unsigned char placed[ORDER_FEW] = {0};
        size_t w = 0;
        for (size_t i = 0; i < n; i++) {
            if (placed[i])
                continue;
            for (size_t j = i; j < n; j++) {
                if (!placed[j] && (j == i || strcmp(ev[j]->patron, ev[i]->patron) == 0)) {
                    placed[j] = 1;
                    out[w++] = ev[j];
                }
            }
            end[ngroups++] = w;
        }
    } else {
        size_t *at = calloc(n + 1, sizeof *at);
        if (!at)
            goto done;
        for (size_t i = 0; i < n; i++) {
            uintptr_t g = (uintptr_t)dict_get(seen, ev[i]->patron);
            if (!g) {
                g = ++ngroups;
                if (dict_set(seen, ev[i]->patron, (void *)g, NULL) < 0) {
                    free(at);
                    goto done;
                }
            }
            gid[i] = (uint32_t)g - 1;
            at[g]++;
        }
        for (size_t g = 0; g < ngroups; g++)
            at[g + 1] += at[g];
        for (size_t i = 0; i < n; i++)
            out[at[gid[i]]++] = ev[i];
        memcpy(end, at, ngroups * sizeof *end);
        free(at);
    }
    for (size_t g = 0, first = 0; g < ngroups; first = end[g++]) {
        size_t k = first + 1;
        while (k < end[g] && by_time_seq(&out[k - 1], &out[k]) <= 0)
            k++;
        if (k < end[g])
            qsort(out + first, end[g] - first, sizeof *out, by_time_seq);
    }
    memcpy(ev, out, n * sizeof *ev);
    rc = 0;
done:
    dict_free(seen, NULL);
    free(gid);
    free(end);
    free(out);
    return rc;
}

/* Room for n more events. A request's batch is sized to its events up
 * front: most live requests carry one, and a first block of 64 (6 KB)
 * made malloc sort its free lists on every such request. */
static int batch_reserve(struct loan_batch *b, size_t n)
{
    if (b->cap - b->n >= n)
        return 0;
    if (n > SIZE_MAX / sizeof *b->ev - b->n)
        return -1;
    size_t cap = b->n + n;
    struct loan_event *ev = realloc(b->ev, cap * sizeof *ev);
    if (!ev)
        return -1;
    b->ev = ev;
    b->cap = cap;
    return 0;
}

static struct loan_event *batch_push(struct loan_batch *b)
{
    if (b->n == b->cap && batch_reserve(b, b->cap ? b->cap : 64) < 0)
        return NULL;
    struct loan_event *e = &b->ev[b->n];
    memset(e, 0, sizeof *e);
    e->seq = b->n;
    return e;
}

/* The checks every event passes, whatever it came in. On success the
 * event is appended to b (strings copied, patron and id hashed). */
struct raw_event {
    const char *patron, *record, *record_prefix, *branch, *id;
    long long when;
    enum loan_event_type type;
};

/* What one event came to: taken, refused (field and message say why),
 * or not checked for want of memory (no fault of the event's). */
enum accept { ACCEPT_TAKEN, ACCEPT_REFUSED, ACCEPT_NO_MEMORY };

static enum accept event_accept(const struct raw_event *raw, const struct config *cfg,
                                long long now, struct loan_batch *b, const char **field,
                                const char **message)
{
    char patron[PSEUDONYM_HEX_LEN + 1];
    if (pseudonymise_patron(cfg->patron_key, raw->patron, strlen(raw->patron), patron) < 0) {
        *field = "patron";
        *message = PATRON_RULE;
        return ACCEPT_REFUSED;
    }
    /* The event's strings in one block, no printf: prefix + record, then
     * the branch. Checked in place, freed if refused. */
    const char *prefix = raw->record_prefix ? raw->record_prefix : "";
    size_t plen = strlen(prefix), rlen = strlen(raw->record);
    size_t blen = raw->branch ? strlen(raw->branch) + 1 : 0;
    char *record = malloc(plen + rlen + 1 + blen);
    if (!record)
        return ACCEPT_NO_MEMORY;
    memcpy(record, prefix, plen);
    memcpy(record + plen, raw->record, rlen + 1);
    char *branch = raw->branch ? memcpy(record + plen + rlen + 1, raw->branch, blen) : NULL;
    if (!record_id_valid(record, cfg->max_record_id_bytes)) {
        free(record);
        *field = "record";
        *message = "must be a record id of A-Z a-z 0-9 . _ : -";
        return ACCEPT_REFUSED;
    }
    if (raw->when > now + LOAN_MAX_FUTURE_S || raw->when < 0) {
        free(record);
        *field = "time";
        *message = "must not be in the future or before 1970";
        return ACCEPT_REFUSED;
    }
    if (branch && !branch_code_valid(branch)) {
        free(record);
        *field = "branch";
        *message = "must be 1 to 16 characters of A-Z a-z 0-9 _ -";
        return ACCEPT_REFUSED;
    }
    size_t idlen = raw->id ? strlen(raw->id) : 0;
    if (raw->id && (idlen == 0 || idlen > LOAN_MAX_ID_BYTES)) {
        free(record);
        *field = "id";
        *message = "must be 1 to 128 bytes";
        return ACCEPT_REFUSED;
    }
    struct loan_event *e = batch_push(b);
    if (!e) {
        free(record);
        return ACCEPT_NO_MEMORY;
    }
    e->record = record;
    e->branch = branch;
    e->when = raw->when;
    e->type = raw->type;
    memcpy(e->patron, patron, sizeof e->patron);
    if (raw->id) {
        /* Domain-separated from patron pseudonyms: "id:" + the id. */
        char tagged[sizeof "id:" - 1 + LOAN_MAX_ID_BYTES];
        memcpy(tagged, "id:", 3);
        memcpy(tagged + 3, raw->id, idlen);
        pseudonymise(cfg->patron_key, tagged, idlen + 3, e->id);
    }
    b->n++;
    return ACCEPT_TAKEN;
}

/* The one count kept outside a struct: jansson's allocator has no
 * context to keep it in. It only grows. Atomic: a report's second half
 * is dumped by jansson on a thread of its own (report_render.h), which
 * allocates through here too (and a failure there, in the same moments,
 * is taken for this load's: memory is short either way). */
static atomic_ulong json_alloc_failures;

static void *json_counted_malloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        atomic_fetch_add_explicit(&json_alloc_failures, 1, memory_order_relaxed);
    return p;
}

void loan_json_init(void)
{
    json_set_alloc_funcs(json_counted_malloc, free);
}

json_t *loan_json_load(const char *text, size_t len, json_error_t *jerr, enum loans_status *st)
{
    unsigned long failures = atomic_load_explicit(&json_alloc_failures, memory_order_relaxed);
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, jerr);
    if (doc)
        *st = LOANS_OK;
    /* An error without a text is one jansson never described: its
     * allocations fail silently (json_object(), its lexer's buffer). */
    else if (atomic_load_explicit(&json_alloc_failures, memory_order_relaxed) != failures ||
             jerr->text[0] == '\0' ||
             json_error_code(jerr) == json_error_out_of_memory)
        *st = LOANS_NO_MEMORY;
    else
        *st = LOANS_INVALID;
    return doc;
}

static void problem(struct loan_problem *probs, size_t maxp, size_t *nprobs, size_t index,
                    size_t line, const char *field, const char *message)
{
    if (*nprobs < maxp)
        probs[*nprobs] = (struct loan_problem){index, line, field, message};
    (*nprobs)++;
}

/* ---- JSON ------------------------------------------------------------------ */

static enum accept json_event(const json_t *obj, const struct config *cfg, long long now,
                              struct loan_batch *b, const char **field, const char **message)
{
    static const char *const known[] = {"patron", "record", "time", "branch", "id", "type", NULL};
    struct raw_event raw = {0};
    const char *key;
    json_t *value;
    char num[32];
    if (!json_is_object(obj)) {
        *field = "event";
        *message = "must be a JSON object";
        return ACCEPT_REFUSED;
    }
    json_object_foreach((json_t *)obj, key, value) {
        int found = 0;
        for (const char *const *k = known; *k; k++)
            found |= strcmp(*k, key) == 0;
        if (!found) {
            *field = "event";
            *message = "unknown field (known: patron, record, time, branch, id, type)";
            return ACCEPT_REFUSED;
        }
    }
    static const char *const required[] = {"patron", "record", "time"};
    for (int i = 0; i < 3; i++) {
        if (!json_object_get(obj, required[i])) {
            *field = required[i];
            *message = "is required";
            return ACCEPT_REFUSED;
        }
    }
    json_t *patron = json_object_get(obj, "patron"), *record = json_object_get(obj, "record");
    json_t *t = json_object_get(obj, "time"), *branch = json_object_get(obj, "branch");
    json_t *id = json_object_get(obj, "id"), *type = json_object_get(obj, "type");
    if (json_is_integer(patron)) {      /* card numbers are often sent as numbers */
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(patron));
        raw.patron = num;
    } else if (json_is_string(patron)) {
        raw.patron = json_string_value(patron);
    } else {
        *field = "patron";
        *message = "must be a string";
        return ACCEPT_REFUSED;
    }
    if (!json_is_string(record)) {
        *field = "record";
        *message = "must be a string";
        return ACCEPT_REFUSED;
    }
    raw.record = json_string_value(record);
    if (json_is_integer(t)) {
        raw.when = (long long)json_integer_value(t);
    } else if (!json_is_string(t) || loan_time_parse(json_string_value(t), &raw.when) < 0) {
        *field = "time";
        *message = "must be ISO 8601 (2026-11-22T10:31:00Z), a date or Unix seconds";
        return ACCEPT_REFUSED;
    }
    if (branch && !json_is_null(branch)) {
        if (!json_is_string(branch)) {
            *field = "branch";
            *message = "must be a string";
            return ACCEPT_REFUSED;
        }
        raw.branch = json_string_value(branch);
    }
    if (id && !json_is_null(id)) {
        if (!json_is_string(id)) {
            *field = "id";
            *message = "must be a string";
            return ACCEPT_REFUSED;
        }
        raw.id = json_string_value(id);
    }
    if (type && !json_is_null(type) &&
        (!json_is_string(type) ||
         loan_event_type_parse(json_string_value(type), json_string_length(type), &raw.type) < 0)) {
        *field = "type";
        *message = TYPE_RULE;
        return ACCEPT_REFUSED;
    }
    return event_accept(&raw, cfg, now, b, field, message);
}

enum loans_status loans_from_json(const json_t *body, const struct config *cfg, long long now,
                                  size_t max_events, struct loan_batch *out,
                                  struct loan_problem *probs, size_t maxp, size_t *nprobs)
{
    const char *field, *message;
    *nprobs = 0;
    if (json_is_object(body)) {
        if (batch_reserve(out, 1) < 0)
            return LOANS_NO_MEMORY;
        enum accept a = json_event(body, cfg, now, out, &field, &message);
        if (a == ACCEPT_REFUSED)
            problem(probs, maxp, nprobs, 0, 0, field, message);
        return a == ACCEPT_NO_MEMORY ? LOANS_NO_MEMORY
               : a == ACCEPT_REFUSED ? LOANS_INVALID : LOANS_OK;
    }
    if (!json_is_array(body) || json_array_size(body) == 0) {
        problem(probs, maxp, nprobs, 0, 0, "events",
                "must be a loan event object or a non-empty array of them");
        return LOANS_INVALID;
    }
    if (json_array_size(body) > max_events) {
        problem(probs, maxp, nprobs, max_events, 0, "events", "too many events in one request");
        return LOANS_INVALID;
    }
    if (batch_reserve(out, json_array_size(body)) < 0)
        return LOANS_NO_MEMORY;
    size_t i;
    json_t *obj;
    json_array_foreach(body, i, obj) {
        enum accept a = json_event(obj, cfg, now, out, &field, &message);
        if (a == ACCEPT_NO_MEMORY)
            return LOANS_NO_MEMORY;
        if (a == ACCEPT_REFUSED)
            problem(probs, maxp, nprobs, i, 0, field, message);
    }
    return *nprobs ? LOANS_INVALID : LOANS_OK;
}

/* ---- text ------------------------------------------------------------------ */

enum text_format { TEXT_LOANS_CSV, TEXT_MOVIELENS, TEXT_JSON_LINES };

struct columns {
    int n, patron, record, time, branch, id, type;
};

static int find_column(char **f, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(f[i], name) == 0)
            return i;
    return -1;
}

static const char *header_columns(char *line, enum text_format *fmt, struct columns *c)
{
    char *f[MAX_COLUMNS];
    int n = csv_split(line, f, MAX_COLUMNS);
    if (n <= 0)
        return "the header is not CSV (an unclosed quote, or more than 64 columns)";
    c->n = n;
    if (find_column(f, n, "userId") >= 0) {
        *fmt = TEXT_MOVIELENS;
        c->patron = find_column(f, n, "userId");
        c->record = find_column(f, n, "movieId");
        c->time = find_column(f, n, "timestamp");
        c->branch = c->id = c->type = -1;     /* every row a loan */
        return c->record >= 0 && c->time >= 0 ? NULL
               : "a MovieLens header must name userId, movieId and timestamp";
    }
    *fmt = TEXT_LOANS_CSV;
    c->patron = find_column(f, n, "patron");
    c->record = find_column(f, n, "record");
    c->time = find_column(f, n, "time");
    if (c->time < 0)
        c->time = find_column(f, n, "date");
    c->branch = find_column(f, n, "branch");
    c->id = find_column(f, n, "id");
    c->type = find_column(f, n, "type");
    return c->patron >= 0 && c->record >= 0 && c->time >= 0 ? NULL
           : "the header must name the columns patron, record and time (or date)";
}

void loan_text_init(struct loan_text *t, struct loan_problem *probs, size_t maxp)
{
    memset(t, 0, sizeof *t);
    t->format = TEXT_JSON_LINES;
    t->probs = probs;
    t->maxp = maxp;
}

void loan_text_free(struct loan_text *t)
{
    free(t->line);
    t->line = NULL;
    t->cap = 0;
}

static void columns_to(struct loan_text *t, const struct columns *c)
{
    t->col[0] = c->n;
    t->col[1] = c->patron;
    t->col[2] = c->record;
    t->col[3] = c->time;
    t->col[4] = c->branch;
    t->col[5] = c->id;
    t->col[6] = c->type;
}

static struct columns columns_of(const struct loan_text *t)
{
    return (struct columns){t->col[0], t->col[1], t->col[2], t->col[3], t->col[4], t->col[5],
                            t->col[6]};
}

enum loans_status loan_text_line(struct loan_text *t, const char *text, size_t n,
                                 const struct config *cfg, long long now, size_t max_events,
                                 struct loan_batch *out)
{
    enum accept a = ACCEPT_TAKEN;
    if (t->stop)
        return LOANS_OK;
    t->lineno++;
    if (n + 1 > t->cap) {
        size_t cap = n + 1 > 256 ? n + 1 : 256;
        char *grown = realloc(t->line, cap);
        if (!grown)
            return LOANS_NO_MEMORY;
        t->line = grown;
        t->cap = cap;
    }
    char *line = t->line;
    memcpy(line, text, n);
    line[n] = '\0';
    size_t before = t->nprobs;
    if (memchr(line, '\0', n)) {
        problem(t->probs, t->maxp, &t->nprobs, t->index, t->lineno, "line", "contains a NUL byte");
        return LOANS_INVALID;
    }
    /* a byte order mark, as spreadsheets write, is not part of the header */
    if (t->lineno == 1 && n >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
        n -= 3;
        memmove(line, line + 3, n + 1);
    }
    if (line[strspn(line, " \t\r")] == '\0')
        return LOANS_OK;
    enum text_format fmt = (enum text_format)t->format;
    struct columns col = columns_of(t);
    if (!t->have_header) {
        t->have_header = 1;
        if (line[strspn(line, " \t")] == '{') {
            t->format = fmt = TEXT_JSON_LINES;
        } else {
            const char *why = header_columns(line, &fmt, &col);
            t->format = fmt;
            columns_to(t, &col);
            if (why) {
                problem(t->probs, t->maxp, &t->nprobs, 0, t->lineno, "header", why);
                t->stop = 1;
                return LOANS_INVALID;
            }
            return LOANS_OK;
        }
    }
    if (t->index >= max_events) {
        problem(t->probs, t->maxp, &t->nprobs, t->index, t->lineno, "events", "too many events");
        t->stop = 1;
        return LOANS_INVALID;
    }
    const char *field = NULL, *message = NULL;
    if (fmt == TEXT_JSON_LINES) {
        json_error_t jerr;
        enum loans_status st;
        json_t *obj = loan_json_load(line, n, &jerr, &st);
        if (obj) {
            a = json_event(obj, cfg, now, out, &field, &message);
            json_decref(obj);
        } else if (st == LOANS_NO_MEMORY) {
            a = ACCEPT_NO_MEMORY;
        } else {
            field = "event";
            message = "malformed JSON";
        }
    } else {
        char *f[MAX_COLUMNS];
        int nf = csv_split(line, f, MAX_COLUMNS);
        struct raw_event raw = {0};
        if (nf != col.n) {
            field = "line";
            message = nf < 0 ? "malformed CSV" : "wrong number of columns";
        } else if (loan_time_parse_export(f[col.time], &raw.when) < 0) {
            field = fmt == TEXT_MOVIELENS ? "timestamp" : "time";
            message = "must be ISO 8601 (2026-11-22T10:31:00Z, 2026-11-22 10:31:00), a date or "
                      "Unix seconds";
        } else if (fmt == TEXT_MOVIELENS && !all_digits(f[col.record], strlen(f[col.record]))) {
            field = "movieId";
            message = "must be a number";
        } else if (col.type >= 0 && *f[col.type] &&
                   loan_event_type_parse(f[col.type], strlen(f[col.type]), &raw.type) < 0) {
            field = "type";
            message = TYPE_RULE;
        } else {
            raw.patron = f[col.patron];
            raw.record = f[col.record];
            raw.record_prefix = fmt == TEXT_MOVIELENS ? cfg->movielens_record_prefix : NULL;
            raw.branch = col.branch >= 0 && *f[col.branch] ? f[col.branch] : NULL;
            raw.id = col.id >= 0 && *f[col.id] ? f[col.id] : NULL;
            a = event_accept(&raw, cfg, now, out, &field, &message);
        }
    }
    if (a == ACCEPT_NO_MEMORY)
        return LOANS_NO_MEMORY;
    if (field)
        problem(t->probs, t->maxp, &t->nprobs, t->index, t->lineno, field, message);
    t->index++;
    return t->nprobs > before ? LOANS_INVALID : LOANS_OK;
}

void loan_text_skip(struct loan_text *t, const char *field, const char *message)
{
    if (t->stop)
        return;
    t->lineno++;
    problem(t->probs, t->maxp, &t->nprobs, t->index, t->lineno, field, message);
}

void loan_text_refuse(struct loan_text *t, const char *field, const char *message)
{
    problem(t->probs, t->maxp, &t->nprobs, t->index ? t->index - 1 : 0, t->lineno, field,
            message);
}

enum loans_status loan_text_end(struct loan_text *t)
{
    if (!t->have_header && t->nprobs == 0)
        problem(t->probs, t->maxp, &t->nprobs, 0, 0, "events", "no events");
    return t->nprobs ? LOANS_INVALID : LOANS_OK;
}

enum loans_status loans_from_text(const char *text, size_t len, const struct config *cfg,
                                  long long now, size_t max_events, struct loan_batch *out,
                                  struct loan_problem *probs, size_t maxp, size_t *nprobs)
{
    struct loan_text t;
    loan_text_init(&t, probs, maxp);
    const char *p = text, *end = text + len;
    enum loans_status st = LOANS_OK;
    while (p < end && !t.stop) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if ((st = loan_text_line(&t, p, n, cfg, now, max_events, out)) == LOANS_NO_MEMORY)
            break;
        p = nl ? nl + 1 : end;
    }
    loan_text_free(&t);
    if (st != LOANS_NO_MEMORY)
        st = loan_text_end(&t);
    *nprobs = t.nprobs;
    return st;
}
