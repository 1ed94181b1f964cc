/* report.c: see report.h.
 *
 * Rows are found without hashing: a report's days fall into buckets, runs
 * of days with the same date keys (one bucket a day with day, a week with
 * week, all of them without date keys), and its cells into groups, the
 * combinations of their parts that the keys asked for. Days come in
 * ascending order, so a bucket's rows are all made before the next
 * bucket's: rowof[group] is the row of that group in the current bucket
 * (if its stamp says so), and a row once left is never touched again. */
#include "report/report.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/calendar.h"
#include "core/dict.h"

const char *const report_key_names[] = {"day", "week", "month", "catalogue", "branch",
                                        "channel", "status", "arm", NULL};
const char *const report_format_names[] = {"json", "csv", "table", NULL};
const enum ru_counter report_rate_counter[NRATES] = {RU_CLICK, RU_RESERVE,
                                                     RU_ATTRIBUTED_BORROW};

#define CELL_PARTS 5            /* catalogue, branch, channel, status, arm */
#define PART_OF(k) ((k) - REPORT_CATALOGUE)

/* ---- the query ----------------------------------------------------------------- */

void report_query_init(struct report_query *q)
{
    memset(q, 0, sizeof *q);
    q->format = REPORT_JSON;
}

static int query_error(struct report_error *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int query_error(struct report_error *err, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    /* every message is ours and short; a long value is never quoted in it */
    if (n < 0 || (size_t)n >= sizeof err->message)
        snprintf(err->message, sizeof err->message, "is not valid");
    err->field = field;
    return -1;
}

static int parse_group(struct report_query *q, const char *value, struct report_error *err)
{
    q->ngroup = 0;
    if (!*value)
        return 0;
    for (const char *p = value;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        int k = 0;
        while (report_key_names[k] &&
               (strlen(report_key_names[k]) != n || memcmp(report_key_names[k], p, n) != 0))
            k++;
        if (!report_key_names[k])
            return query_error(err, "group", "%s: each must be one of day, week, month, "
                               "catalogue, branch, channel, status, arm",
                               n == 0 ? "an empty key" : "an unknown key");
        for (size_t i = 0; i < q->ngroup; i++)
            if (q->group[i] == (enum report_key)k)
                return query_error(err, "group", "%s is given twice", report_key_names[k]);
        q->group[q->ngroup++] = (enum report_key)k;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

int report_query_set(struct report_query *q, const char *name, const char *value, int table_ok,
                     struct report_error *err)
{
    if (strcmp(name, "from") == 0 || strcmp(name, "to") == 0) {
        int is_from = name[0] == 'f';
        long d = config_date_days(value);
        if (d < 0)
            return query_error(err, is_from ? "from" : "to",
                               "must be a date YYYY-MM-DD (a real one, 1970 or later)");
        *(is_from ? &q->from : &q->to) = d;
        *(is_from ? &q->from_given : &q->to_given) = 1;
        return 0;
    }
    if (strcmp(name, "group") == 0)
        return parse_group(q, value, err);
    if (strcmp(name, "format") == 0) {
        for (int f = 0; report_format_names[f]; f++)
            if (strcmp(report_format_names[f], value) == 0 && (f != REPORT_TABLE || table_ok)) {
                q->format = (enum report_format)f;
                return 0;
            }
        return query_error(err, "format", table_ok ? "must be table, csv or json"
                                                   : "must be json or csv");
    }
    return query_error(err, name, "unknown parameter");
}

int report_query_finish(struct report_query *q, const struct config *cfg, long today,
                        struct report_error *err)
{
    if (!q->to_given)
        q->to = today;
    if (!q->from_given)
        q->from = q->to - (REPORT_DEFAULT_DAYS - 1);
    if (q->to < q->from)
        return q->to_given ? query_error(err, "to", "must not be before from")
                           : query_error(err, "from", "must not be after to (today, when to "
                                                      "is not given)");
    long days = q->to - q->from + 1;
    if (days > cfg->report_max_days)
        return query_error(err, q->to_given ? "to" : "from",
                           "from..to is %ld days, more than reports.max_days (%d; from and to "
                           "both count)", days, cfg->report_max_days);
    return 0;
}

long report_query_days(const struct report_query *q)
{
    return q->to < q->from ? 0 : q->to - q->from + 1;
}

/* ---- the cells ----------------------------------------------------------------- */

struct cell {
    char *name;                 /* owned; its separators made NULs */
    const char *part[CELL_PARTS];
};

struct report_cells {
    struct cell **by_number;    /* NULL where no cell has that number */
    uint32_t span, cap;
    size_t count, skipped;
};

struct report_cells *report_cells_new(void)
{
    return calloc(1, sizeof(struct report_cells));
}

void report_cells_free(struct report_cells *c)
{
    if (!c)
        return;
    for (uint32_t i = 0; i < c->span; i++)
        if (c->by_number[i]) {
            free(c->by_number[i]->name);
            free(c->by_number[i]);
        }
    free(c->by_number);
    free(c);
}

int report_cells_add(struct report_cells *c, const char *name, size_t name_len,
                     const char *number, size_t number_len)
{
    unsigned long n = 0;
    int ok = number_len > 0 && number_len <= 10 && !memchr(name, '\0', name_len);
    for (size_t i = 0; ok && i < number_len; i++) {
        ok = number[i] >= '0' && number[i] <= '9';
        n = n * 10 + (unsigned long)(number[i] - '0');
    }
    if (!ok || n >= REPORT_MAX_CELLS || (n < c->span && c->by_number[n])) {
        c->skipped++;
        return 0;
    }
    struct cell *cell = calloc(1, sizeof *cell);
    if (!cell || !(cell->name = malloc(name_len + 1))) {
        free(cell);
        return -1;
    }
    memcpy(cell->name, name, name_len);
    cell->name[name_len] = '\0';
    struct ru_cell parts;
    int printable = 1;
    for (size_t i = 0; i < name_len && printable; i++)
        printable = name[i] >= 0x20 && name[i] <= 0x7e;
    if (!printable || rollup_cell_split(cell->name, &parts) < 0) {
        free(cell->name);
        free(cell);
        c->skipped++;
        return 0;
    }
    cell->part[0] = parts.catalogue;
    cell->part[1] = parts.branch;
    cell->part[2] = parts.channel;
    cell->part[3] = parts.status;
    cell->part[4] = parts.arm;
    if (n >= c->cap) {
        uint32_t cap = c->cap ? c->cap : 256;
        while (cap <= n)
            cap *= 2;
        struct cell **grown = realloc(c->by_number, cap * sizeof *grown);
        if (!grown) {
            free(cell->name);
            free(cell);
            return -1;
        }
        memset(grown + c->cap, 0, (cap - c->cap) * sizeof *grown);
        c->by_number = grown;
        c->cap = cap;
    }
    c->by_number[n] = cell;
    if (n >= c->span)
        c->span = (uint32_t)n + 1;
    c->count++;
    return 0;
}

size_t report_cells_count(const struct report_cells *c)
{
    return c->count;
}

size_t report_cells_skipped(const struct report_cells *c)
{
    return c->skipped;
}

uint32_t report_cells_span(const struct report_cells *c)
{
    return c->span;
}

/* ---- a report ------------------------------------------------------------------ */

/* A run of days with the same date keys. */
struct bucket {
    long first;                 /* its first day */
    long value[3];              /* day, Monday of its week, month (cal_month) */
    char day[CAL_DATE_BYTES + 1], week[CAL_WEEK_BYTES + 1], month[CAL_MONTH_BYTES + 1];
};

/* A combination of the cell keys asked for. */
struct group {
    const char *part[CELL_PARTS];   /* borrowed from the cells; "" when none */
    uint32_t rank[CELL_PARTS];      /* the part's place among the groups' (sorting) */
    long reference;                 /* the group with the reference arm, or -1 */
    const char *reference_arm;      /* its name (borrowed from the config), or NULL */
};

struct report {
    const struct config *cfg;
    struct report_query q;
    struct report_segment seg;
    size_t max_rows;
    int keyed[REPORT_NKEYS];        /* 1 for the keys asked for */

    long ndays;
    uint32_t *bucket_of;            /* per day of the span */
    struct bucket *buckets;
    size_t nbuckets;

    const struct report_cells *cells;
    int32_t *group_of;              /* per cell number: its group, or -1 (not counted) */
    unsigned char *on_loan_cell;    /* per cell number: its status is on_loan */
    struct group *groups;
    size_t ngroups;
    uint32_t *rowof, *rowof_stamp;  /* per group: its row in bucket rowof_stamp - 1 */

    struct report_row *rows;
    size_t nrows, caprows;
    struct report_row total;
    long last_day;
};

struct report *report_new(const struct config *cfg, const struct report_query *q,
                          const struct report_segment *seg, size_t max_rows)
{
    struct report *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->cfg = cfg;
    r->q = *q;
    if (seg)
        r->seg = *seg;
    r->max_rows = max_rows;
    r->last_day = q->from - 1;
    for (size_t i = 0; i < q->ngroup; i++)
        r->keyed[q->group[i]] = 1;
    r->ndays = report_query_days(q);
    r->bucket_of = calloc((size_t)r->ndays + 1, sizeof *r->bucket_of);
    r->buckets = calloc((size_t)r->ndays + 1, sizeof *r->buckets);
    if (!r->bucket_of || !r->buckets) {
        report_free(r);
        return NULL;
    }
    /* buckets: a new one whenever a date key asked for changes */
    for (long i = 0; i < r->ndays; i++) {
        long d = q->from + i;
        long v[3] = {d, cal_monday(d), cal_month(d)};
        int same = r->nbuckets > 0;
        for (int k = 0; k < 3 && same; k++)
            same = !r->keyed[k] || r->buckets[r->nbuckets - 1].value[k] == v[k];
        if (!same) {
            struct bucket *b = &r->buckets[r->nbuckets++];
            b->first = d;
            memcpy(b->value, v, sizeof v);
            cal_date_text(d, b->day);
            cal_week_text(d, b->week);
            cal_month_text(d, b->month);
        }
        r->bucket_of[i] = (uint32_t)(r->nbuckets - 1);
    }
    if (r->nbuckets == 0) {     /* an empty span still has its total */
        r->nbuckets = 1;
        r->buckets[0].first = q->from;
    }
    return r;
}

void report_free(struct report *r)
{
    if (!r)
        return;
    free(r->bucket_of);
    free(r->buckets);
    free(r->group_of);
    free(r->on_loan_cell);
    free(r->groups);
    free(r->rowof);
    free(r->rowof_stamp);
    free(r->rows);
    free(r);
}

static int segment_admits(const struct report_segment *s, const struct cell *c)
{
    const char *want[CELL_PARTS] = {s->catalogue, s->branch, s->channel, NULL, s->arm};
    for (int i = 0; i < CELL_PARTS; i++)
        if (want[i] && strcmp(want[i], c->part[i]) != 0)
            return 0;
    return 1;
}

/* "part|part|..." of the parts the report is keyed by, arm as given (a
 * cell's parts hold no '|'); NULL when out of memory. */
static char *group_name(const struct report *r, const char *const part[CELL_PARTS],
                        const char *arm)
{
    size_t len = 1;
    for (int i = 0; i < CELL_PARTS; i++)
        len += strlen(i == PART_OF(REPORT_ARM) ? arm : part[i]) + 1;
    char *name = malloc(len), *p = name;
    if (!name)
        return NULL;
    for (int i = 0; i < CELL_PARTS; i++) {
        const char *s = i == PART_OF(REPORT_ARM) ? arm : part[i];
        if (r->keyed[REPORT_CATALOGUE + i]) {
            size_t n = strlen(s);
            memcpy(p, s, n);
            p += n;
        }
        *p++ = '|';
    }
    *p = '\0';
    return name;
}

static const struct experiment_config *experiment_of_arm(const struct config *cfg,
                                                         const char *arm)
{
    for (size_t i = 0; i < cfg->nexperiments; i++)
        for (size_t j = 0; j < cfg->experiments[i].narms; j++)
            if (strcmp(cfg->experiments[i].arms[j].name, arm) == 0)
                return &cfg->experiments[i];
    return NULL;
}

const struct arm_config *report_reference_arm(const struct experiment_config *ex,
                                              int *is_control)
{
    for (size_t j = 0; j < ex->narms; j++)
        if (ex->arms[j].alternatives == 0) {
            *is_control = 1;
            return &ex->arms[j];
        }
    *is_control = 0;
    return &ex->arms[0];
}

struct rank_sort {
    const struct group *groups;
    int part;
};

static int rank_cmp(const void *a, const void *b, void *arg)
{
    const struct rank_sort *rs = arg;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return strcmp(rs->groups[x].part[rs->part], rs->groups[y].part[rs->part]);
}

/* Each keyed part's rank among the groups, so that sorting rows compares
 * numbers. */
static int rank_groups(struct report *r)
{
    uint32_t *order = malloc((r->ngroups + 1) * sizeof *order);
    if (!order)
        return -1;
    for (int p = 0; p < CELL_PARTS; p++) {
        if (!r->keyed[REPORT_CATALOGUE + p])
            continue;
        for (size_t i = 0; i < r->ngroups; i++)
            order[i] = (uint32_t)i;
        struct rank_sort rs = {r->groups, p};
        qsort_r(order, r->ngroups, sizeof *order, rank_cmp, &rs);
        uint32_t rank = 0;
        for (size_t i = 0; i < r->ngroups; i++) {
            if (i && strcmp(r->groups[order[i]].part[p], r->groups[order[i - 1]].part[p]) != 0)
                rank++;
            r->groups[order[i]].rank[p] = rank;
        }
    }
    free(order);
    return 0;
}

/* With arm among the keys: each group's reference group (the same parts,
 * the reference arm). */
static int find_references(struct report *r, struct dict *names)
{
    for (size_t g = 0; g < r->ngroups; g++) {
        struct group *gr = &r->groups[g];
        gr->reference = -1;
        const char *arm = gr->part[PART_OF(REPORT_ARM)];
        const struct experiment_config *ex = *arm ? experiment_of_arm(r->cfg, arm) : NULL;
        if (!ex)
            continue;
        int control;
        const struct arm_config *ref = report_reference_arm(ex, &control);
        if (strcmp(ref->name, arm) == 0)
            continue;
        gr->reference_arm = ref->name;
        char *name = group_name(r, gr->part, ref->name);
        if (!name)
            return -1;
        uintptr_t v = (uintptr_t)dict_get(names, name);
        free(name);
        gr->reference = v ? (long)v - 1 : -1;
    }
    return 0;
}

enum report_status report_bind(struct report *r, const struct report_cells *cells)
{
    r->cells = cells;
    size_t span = cells->span ? cells->span : 1;
    struct dict *names = dict_new();
    int oom = !names || !(r->group_of = malloc(span * sizeof *r->group_of)) ||
              !(r->on_loan_cell = calloc(span, 1)) ||
              !(r->groups = calloc(cells->count + 1, sizeof *r->groups));
    for (uint32_t n = 0; n < cells->span && !oom; n++) {
        const struct cell *c = cells->by_number[n];
        r->group_of[n] = -1;
        if (!c || !segment_admits(&r->seg, c))
            continue;
        r->on_loan_cell[n] = strcmp(c->part[PART_OF(REPORT_STATUS)], "on_loan") == 0;
        char *name = group_name(r, c->part, c->part[PART_OF(REPORT_ARM)]);
        if (!name) {
            oom = 1;
            break;
        }
        uintptr_t v = (uintptr_t)dict_get(names, name);
        if (!v) {
            struct group *g = &r->groups[r->ngroups];
            for (int p = 0; p < CELL_PARTS; p++)
                g->part[p] = r->keyed[REPORT_CATALOGUE + p] ? c->part[p] : "";
            v = ++r->ngroups;
            if (dict_set(names, name, (void *)v, NULL) < 0)
                oom = 1;
        }
        free(name);
        r->group_of[n] = (int32_t)(v - 1);
    }
    if (!oom)
        oom = !(r->rowof = calloc(r->ngroups + 1, sizeof *r->rowof)) ||
              !(r->rowof_stamp = calloc(r->ngroups + 1, sizeof *r->rowof_stamp)) ||
              rank_groups(r) < 0 || (r->keyed[REPORT_ARM] && find_references(r, names) < 0);
    dict_free(names, NULL);
    return oom ? REPORT_NO_MEMORY : REPORT_OK;
}

static struct report_row *new_row(struct report *r, uint32_t bucket, uint32_t group)
{
    if (r->nrows == r->caprows) {
        size_t cap = r->caprows ? r->caprows * 2 : 64;
        if (cap > r->max_rows)
            cap = r->max_rows;
        if (r->nrows >= cap)
            return NULL;
        struct report_row *grown = realloc(r->rows, cap * sizeof *grown);
        if (!grown)
            return NULL;
        r->rows = grown;
        r->caprows = cap;
    }
    struct report_row *row = &r->rows[r->nrows++];
    memset(row, 0, sizeof *row);
    row->bucket = bucket;
    row->group = group;
    return row;
}

static inline uint32_t be32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return __builtin_bswap32(v);
}

enum report_status report_add_day(struct report *r, long day, const unsigned char *counts,
                                  size_t len)
{
    if (day < r->q.from || day > r->q.to)
        return REPORT_OK;
    if (day <= r->last_day)
        return REPORT_OUT_OF_ORDER;
    r->last_day = day;
    if (!r->cells)
        return REPORT_OK;
    uint32_t bucket = r->bucket_of[day - r->q.from];
    /* BITFIELD writes a string only as far as the counter it sets: the
     * last cell may be cut short, its missing counters 0 */
    size_t cell_bytes = RU_NCOUNTERS * 4, ncells = (len + cell_bytes - 1) / cell_bytes;
    if (ncells > r->cells->span)
        ncells = r->cells->span;
    static const unsigned char zeros[RU_NCOUNTERS * 4];
    unsigned char last[RU_NCOUNTERS * 4];
    for (size_t n = 0; n < ncells; n++) {
        int32_t g = r->group_of[n];
        const unsigned char *p = counts + n * cell_bytes;
        if (g < 0)
            continue;
        if ((n + 1) * cell_bytes > len) {
            memset(last, 0, sizeof last);
            memcpy(last, p, len - n * cell_bytes);
            p = last;
        }
        if (memcmp(p, zeros, sizeof zeros) == 0)
            continue;
        struct report_row *row;
        if (r->rowof_stamp[g] == bucket + 1) {
            row = &r->rows[r->rowof[g]];
        } else {
            if (r->nrows >= r->max_rows)
                return REPORT_TOO_MANY_ROWS;
            if (!(row = new_row(r, bucket, (uint32_t)g)))
                return REPORT_NO_MEMORY;
            r->rowof[g] = (uint32_t)(r->nrows - 1);
            r->rowof_stamp[g] = bucket + 1;
        }
        for (int c = 0; c < RU_NCOUNTERS; c++)
            row->count[c] += be32(p + 4 * c);
        if (r->on_loan_cell[n])
            for (int k = 0; k < NRATES; k++)
                row->rate_count[k] += be32(p + 4 * report_rate_counter[k]);
    }
    return REPORT_OK;
}

static int row_cmp(const void *a, const void *b, void *arg)
{
    const struct report *r = arg;
    const struct report_row *x = a, *y = b;
    for (size_t i = 0; i < r->q.ngroup; i++) {
        enum report_key k = r->q.group[i];
        long vx, vy;
        if (REPORT_KEY_IS_DATE(k)) {
            vx = r->buckets[x->bucket].value[k];
            vy = r->buckets[y->bucket].value[k];
        } else {
            vx = r->groups[x->group].rank[PART_OF(k)];
            vy = r->groups[y->group].rank[PART_OF(k)];
        }
        if (vx != vy)
            return vx < vy ? -1 : 1;
    }
    return 0;
}

/* The row with probe's keys (rows sorted), or NULL. */
static const struct report_row *find_row(const struct report *r, const struct report_row *probe)
{
    size_t lo = 0, hi = r->nrows;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = row_cmp(&r->rows[mid], probe, (void *)r);
        if (c == 0)
            return &r->rows[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

enum report_status report_finish(struct report *r)
{
    if (r->q.ngroup == 0 && r->nrows == 0 && !new_row(r, 0, 0))
        return REPORT_NO_MEMORY;
    if (r->q.ngroup && r->nrows > 1)
        qsort_r(r->rows, r->nrows, sizeof *r->rows, row_cmp, r);
    memset(&r->total, 0, sizeof r->total);
    for (size_t i = 0; i < r->nrows; i++) {
        for (int c = 0; c < RU_NCOUNTERS; c++)
            r->total.count[c] += r->rows[i].count[c];
        for (int k = 0; k < NRATES; k++)
            r->total.rate_count[k] += r->rows[i].rate_count[k];
    }
    return REPORT_OK;
}

const struct report_query *report_query_of(const struct report *r)
{
    return &r->q;
}

const struct config *report_config_of(const struct report *r)
{
    return r->cfg;
}

size_t report_nrows(const struct report *r)
{
    return r->nrows;
}

const struct report_row *report_row(const struct report *r, size_t i)
{
    return &r->rows[i];
}

const struct report_row *report_total(const struct report *r)
{
    return &r->total;
}

int report_has_key(const struct report *r, enum report_key k)
{
    return r->keyed[k];
}

const char *report_key_value(const struct report *r, const struct report_row *row,
                             enum report_key k)
{
    const struct bucket *b = &r->buckets[row->bucket];
    switch (k) {
    case REPORT_DAY:
        return b->day;
    case REPORT_WEEK:
        return b->week;
    case REPORT_MONTH:
        return b->month;
    default:
        break;
    }
    if (!r->ngroups)
        return NULL;
    const char *part = r->groups[row->group].part[PART_OF(k)];
    return *part ? part : NULL;
}

long report_row_day(const struct report *r, const struct report_row *row)
{
    return r->buckets[row->bucket].first;
}

void report_rate(const struct report_row *row, enum rate rate, struct estimate *e)
{
    rate_wilson(row->rate_count[rate], row->count[RU_ON_LOAN], e);
}

const char *report_reference(const struct report *r, const struct report_row *row,
                             const struct report_row **ref)
{
    *ref = NULL;
    if (!r->keyed[REPORT_ARM] || !r->ngroups)
        return NULL;
    const struct group *g = &r->groups[row->group];
    if (!g->reference_arm)
        return NULL;
    if (g->reference >= 0) {
        struct report_row probe = {.bucket = row->bucket, .group = (uint32_t)g->reference};
        *ref = find_row(r, &probe);
    }
    return g->reference_arm;
}

void report_difference(const struct report_row *row, const struct report_row *ref,
                       enum rate rate, struct estimate *e)
{
    rate_difference(row->rate_count[rate], row->count[RU_ON_LOAN], ref->rate_count[rate],
                    ref->count[RU_ON_LOAN], e);
}
