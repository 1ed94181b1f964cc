/* eval_loans.c: see eval_loans.h. */
#include "cli/eval_loans.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/csv.h"
#include "core/pseudonym.h"
#include "ingest/loan_event.h"

#define MAX_COLUMNS 64          /* as the reader's (loan_event.c) */
#define DAY_S 86400LL

static int shape(const char *s, const char *pattern)
{
    for (; *pattern; s++, pattern++)
        if (*pattern == 'd' ? (*s < '0' || *s > '9') : *s != *pattern)
            return 0;
    return *s == '\0';
}

int eval_date_partial(const char *s)
{
    if (*s == '\0')
        return UNDATED_NONE;
    if (shape(s, "dddd"))
        return UNDATED_YEAR;
    if (shape(s, "dddd-dd"))
        return UNDATED_MONTH;
    if (shape(s, "--dd-dd"))
        return UNDATED_DAY;
    return -1;
}

void eval_loans_free(struct eval_loans *l)
{
    free(l->text);
    dict_free(l->raw_patrons, free);
    memset(l, 0, sizeof *l);
}

size_t eval_loans_undated(const struct eval_loans *l)
{
    size_t n = 0;
    for (int k = 0; k < UNDATED_KINDS; k++)
        n += l->undated[k];
    return n;
}

/* Remembers a raw patron id under its pseudonym (ids the reader will
 * refuse are left to it). */
static int remember_patron(struct eval_loans *out, const struct config *cfg, const char *raw)
{
    char pseudo[PSEUDONYM_HEX_LEN + 1];
    if (pseudonymise_patron(cfg->patron_key, raw, strlen(raw), pseudo) < 0 ||
        dict_get(out->raw_patrons, pseudo))
        return 0;
    char *copy = strdup(raw);
    if (!copy || dict_set(out->raw_patrons, pseudo, copy, NULL) < 0) {
        free(copy);
        return -1;
    }
    return 0;
}

/* One line of the text at a time, NUL-terminated in a buffer of ours. */
struct lines {
    const char *p, *end;
    const char *start;          /* the line's first byte in the text */
    char *line;
    size_t n, cap;
};

static int next_line(struct lines *it)
{
    if (it->p >= it->end)
        return 0;
    const char *nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
    it->start = it->p;
    it->n = nl ? (size_t)(nl - it->p) : (size_t)(it->end - it->p);
    if (it->n + 1 > it->cap) {
        size_t cap = it->n + 1 > 256 ? it->n + 1 : 256;
        char *grown = realloc(it->line, cap);
        if (!grown)
            return -1;
        it->line = grown;
        it->cap = cap;
    }
    memcpy(it->line, it->p, it->n);
    it->line[it->n] = '\0';
    it->p = nl ? nl + 1 : it->end;
    return 1;
}

static int blank(const char *s)
{
    return s[strspn(s, " \t\r")] == '\0';
}

/* The patrons of JSON lines (the text passes unchanged). */
static int json_patrons(struct lines *it, struct eval_loans *out, const struct config *cfg)
{
    int more;
    do {
        if (blank(it->line))
            continue;
        json_t *obj = json_loadb(it->line, it->n, 0, NULL);
        json_t *p = obj ? json_object_get(obj, "patron") : NULL;
        int rc = json_is_string(p) ? remember_patron(out, cfg, json_string_value(p)) : 0;
        json_decref(obj);
        if (rc < 0)
            return -1;
    } while ((more = next_line(it)) > 0);
    return more;
}

static int find_column(char **f, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(f[i], name) == 0)
            return i;
    return -1;
}

static int put_csv_field(struct strbuf *sb, const char *s)
{
    if (!s[strcspn(s, ",\"\r\n")])
        return strbuf_puts(sb, s);
    int rc = strbuf_puts(sb, "\"");
    for (const char *q; rc == 0 && (q = strchr(s, '"')); s = q + 1)
        rc = strbuf_append(sb, s, (size_t)(q - s)) | strbuf_puts(sb, "\"\"");
    return rc | strbuf_puts(sb, s) | strbuf_puts(sb, "\"");
}

/* The smallest shift in whole cycles that moves earliest to 1970 or later. */
static long long shift_for(long long earliest)
{
    if (earliest >= 0)
        return 0;
    long long cycle_s = EVAL_SHIFT_CYCLE_DAYS * DAY_S;
    return (-earliest + cycle_s - 1) / cycle_s * EVAL_SHIFT_CYCLE_DAYS;
}

int eval_loans_prepare(const char *name, const char *text, size_t len, const struct config *cfg,
                       long long now, struct eval_loans *out, struct strbuf *err)
{
    memset(out, 0, sizeof *out);
    struct lines it = {.p = text, .end = text + len};
    struct strbuf sb = {0};
    char *f[MAX_COLUMNS];
    int more, nf = 0, pcol = -1, tcol = -1, dates = 0;
    long long earliest = 0, newest = 0;
    int any = 0;
    if (!(out->raw_patrons = dict_new()))
        goto oom;
    /* the header: the first line with something on it */
    while ((more = next_line(&it)) > 0 && blank(it.line))
        ;
    if (more < 0)
        goto oom;
    const char *header_end = it.p;
    if (more && len >= 3 && memcmp(it.line, "\xEF\xBB\xBF", 3) == 0)
        memmove(it.line, it.line + 3, it.n - 2);
    if (more && it.line[strspn(it.line, " \t")] == '{') {
        if (json_patrons(&it, out, cfg) < 0)
            goto oom;
    } else if (more && (nf = csv_split(it.line, f, MAX_COLUMNS)) > 0) {
        pcol = find_column(f, nf, "userId") >= 0 ? find_column(f, nf, "userId")
                                                 : find_column(f, nf, "patron");
        tcol = find_column(f, nf, "timestamp");
        if (tcol < 0 && (tcol = find_column(f, nf, "time")) < 0)
            tcol = find_column(f, nf, "date");
        dates = find_column(f, nf, "timestamp") < 0;
        /* first pass: the patrons, the partial dates, the span */
        while (pcol >= 0 && tcol >= 0 && (more = next_line(&it)) > 0) {
            if (blank(it.line) || csv_split(it.line, f, MAX_COLUMNS) != nf)
                continue;
            out->rows++;
            int kind = dates ? eval_date_partial(f[tcol]) : -1;
            long long t;
            if (kind >= 0) {
                out->undated[kind]++;
                continue;
            }
            if (remember_patron(out, cfg, f[pcol]) < 0)
                goto oom;
            if (loan_time_parse_export(f[tcol], &t) == 0) {
                earliest = any && earliest < t ? earliest : t;
                newest = any && newest > t ? newest : t;
                any = 1;
            }
        }
        if (more < 0)
            goto oom;
        out->shift_days = shift_for(earliest);
        if (any && newest + out->shift_days * DAY_S > now + LOAN_MAX_FUTURE_S) {
            strbuf_printf(err, "%s: the loans' dates span too long to be moved after 1970 "
                          "(moved by %lld days to begin after it, the newest would be in the "
                          "future)\n", name, out->shift_days);
            goto fail;
        }
    }
    if (!out->shift_days && !eval_loans_undated(out)) {
        if (!(out->text = malloc(len + 1)))
            goto oom;
        memcpy(out->text, text, len);
        out->text[len] = '\0';
        out->len = len;
        free(it.line);
        return 0;
    }
    /* second pass: the header as it was, every data line blank, moved or
     * as it was */
    if (strbuf_append(&sb, text, (size_t)(header_end - text)) < 0)
        goto oom;
    it.p = header_end;
    while ((more = next_line(&it)) > 0) {
        int n = blank(it.line) ? -1 : csv_split(it.line, f, MAX_COLUMNS);
        long long t;
        int bad;
        if (n != nf) {
            bad = strbuf_append(&sb, it.start, it.n) < 0;      /* for the reader to judge */
        } else if (eval_date_partial(f[tcol]) >= 0) {
            bad = 0;            /* left out: the line stays, empty */
        } else {
            char moved[32];
            if (loan_time_parse_export(f[tcol], &t) == 0) {
                snprintf(moved, sizeof moved, "%lld", t + out->shift_days * DAY_S);
                f[tcol] = moved;
            }
            bad = 0;
            for (int i = 0; i < n && !bad; i++)
                bad = (i && strbuf_puts(&sb, ",") < 0) || put_csv_field(&sb, f[i]) < 0;
        }
        if (bad || strbuf_puts(&sb, "\n") < 0)
            goto oom;
    }
    if (more < 0)
        goto oom;
    out->len = sb.len;
    out->text = sb.buf ? strbuf_steal(&sb) : strdup("");
    if (!out->text)
        goto oom;
    free(it.line);
    return 0;
oom:
    strbuf_printf(err, "%s: out of memory while reading its events (not a problem of the file)\n",
                  name);
fail:
    free(it.line);
    strbuf_free(&sb);
    eval_loans_free(out);
    return -1;
}
