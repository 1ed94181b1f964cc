/* report_render.c: see report_render.h.
 *
 * The thread of a split report (struct render_half) owns what it writes
 * with: its row object, its text, a copy of the row writer. The loop
 * thread reads its text and status only after joining it; in between the
 * two share nothing but the finished report (read) and two atomic flags:
 * stop (loop to thread) and done (thread to loop, with the eventfd).
 * Below jansson, one thing more: it calls localeconv() for every real it
 * writes, and glibc's fills one static struct there, the same values from
 * either thread (a race only in the letter of C11; the one a threaded
 * program that prints reals with jansson has anyway). */
#include "report/report_render.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/calendar.h"
#include "core/csv.h"
#include "core/strbuf.h"

/* A rate's {"value","low","high"}, its reals set in place. */
struct rate_json {
    json_t *obj, *v[3];
};

/* A row (or the total) as one object whose values are set in place. */
struct row_json {
    json_t *obj;
    json_t *key[REPORT_NKEYS];      /* the keys' strings (NULL: not keyed) */
    const char *key_text[REPORT_NKEYS];     /* what key[k] holds now (report_key_value's
                                             * pointers stay while the report does) */
    json_t *count[RU_NCOUNTERS];
    struct rate_json rate[NRATES];
    json_t *diff;                   /* {"reference", rates}, with arm */
    json_t *diff_reference;
    struct rate_json diff_rate[NRATES];
};

/* What writing a row needs besides its object and its text: read only
 * once rows are written, and copied for the thread. */
struct row_writer {
    const struct report *r;
    enum report_format format;
    int with_arm;
};

/* The rows [first, end) of a split report, written by a thread of their
 * own (report_render_split). */
struct render_half {
    struct row_writer w;
    size_t first, end;
    struct row_json row;            /* JSON: the thread's own */
    struct strbuf text;             /* its rows, each JSON one after a comma */
    int rc;                         /* 0, or -1 when it ran out of memory */
    atomic_bool stop;               /* the loop's: give up before the next row */
    atomic_bool done;               /* the thread's last word: text and rc are final */
    pthread_t thread;
    bool running;                   /* started and not joined */
    int wake_fd;                    /* an eventfd the thread writes when done, or -1 */
    struct event *wake;             /* its event on the loop (with wake_fd) */
    report_render_ready *ready;
    void *ready_arg;
};

enum phase {
    PHASE_HEAD,
    PHASE_ROWS,                     /* the caller's rows */
    PHASE_HALF,                     /* the thread's rows, once it is done */
    PHASE_TAIL,
    PHASE_DONE
};

struct report_render {
    struct row_writer w;
    enum phase phase;
    size_t next;                    /* the next row */
    struct row_json row, total;     /* JSON */
    struct strbuf text;             /* a slice's text, before it goes to out */
    struct render_half *half;       /* a split report's second half, or NULL */
};

static int rate_json_new(struct rate_json *rj)
{
    if (!(rj->obj = json_object()))
        return -1;
    static const char *const names[3] = {"value", "low", "high"};
    for (int i = 0; i < 3; i++)
        if (!(rj->v[i] = json_real(0)) || json_object_set(rj->obj, names[i], rj->v[i]) < 0)
            return -1;
    return 0;
}

static void rate_json_free(struct rate_json *rj)
{
    for (int i = 0; i < 3; i++)
        json_decref(rj->v[i]);
    json_decref(rj->obj);
}

/* Sets key to e as {"value","low","high"} (rj), or null. */
static int set_estimate(json_t *obj, const char *key, struct rate_json *rj,
                        const struct estimate *e)
{
    if (!e->known)
        return json_object_set_new(obj, key, json_null());
    if (json_real_set(rj->v[0], e->value) < 0 || json_real_set(rj->v[1], e->low) < 0 ||
        json_real_set(rj->v[2], e->high) < 0)
        return -1;
    return json_object_set(obj, key, rj->obj);
}

/* The object of a row (keyed: with the report's keys and, with arm, its
 * difference), its members in the order they are written. */
static int row_json_new(struct row_json *rj, const struct report *r, int keyed, int with_arm)
{
    const struct report_query *q = report_query_of(r);
    if (!(rj->obj = json_object()))
        return -1;
    for (size_t i = 0; keyed && i < q->ngroup; i++) {
        enum report_key k = q->group[i];
        if (!(rj->key[k] = json_string("")) ||
            json_object_set(rj->obj, report_key_names[k], rj->key[k]) < 0)
            return -1;
    }
    for (int c = 0; c < RU_NCOUNTERS; c++)
        if (!(rj->count[c] = json_integer(0)) ||
            json_object_set(rj->obj, ru_counter_names[c], rj->count[c]) < 0)
            return -1;
    for (int k = 0; k < NRATES; k++)
        if (rate_json_new(&rj->rate[k]) < 0 ||
            json_object_set_new(rj->obj, rate_names[k], json_null()) < 0)
            return -1;
    if (!keyed || !with_arm)
        return 0;
    if (!(rj->diff = json_object()) || !(rj->diff_reference = json_string("")) ||
        json_object_set(rj->diff, "reference", rj->diff_reference) < 0 ||
        json_object_set_new(rj->obj, "difference", json_null()) < 0)
        return -1;
    for (int k = 0; k < NRATES; k++)
        if (rate_json_new(&rj->diff_rate[k]) < 0 ||
            json_object_set_new(rj->diff, rate_names[k], json_null()) < 0)
            return -1;
    return 0;
}

static void row_json_free(struct row_json *rj)
{
    for (int k = 0; k < REPORT_NKEYS; k++)
        json_decref(rj->key[k]);
    for (int c = 0; c < RU_NCOUNTERS; c++)
        json_decref(rj->count[c]);
    for (int k = 0; k < NRATES; k++) {
        rate_json_free(&rj->rate[k]);
        rate_json_free(&rj->diff_rate[k]);
    }
    json_decref(rj->diff_reference);
    json_decref(rj->diff);
    json_decref(rj->obj);
}

/* The row's values into the object. */
static int row_json_set(struct row_json *rj, const struct report *r, const struct report_row *row,
                        int keyed, int with_arm)
{
    const struct report_query *q = report_query_of(r);
    for (size_t i = 0; keyed && i < q->ngroup; i++) {
        enum report_key k = q->group[i];
        const char *v = report_key_value(r, row, k);
        if (v && v != rj->key_text[k]) {
            if (json_string_set(rj->key[k], v) < 0)
                return -1;
            rj->key_text[k] = v;
        }
        if (v ? json_object_set(rj->obj, report_key_names[k], rj->key[k]) < 0
              : json_object_set_new(rj->obj, report_key_names[k], json_null()) < 0)
            return -1;
    }
    for (int c = 0; c < RU_NCOUNTERS; c++)
        if (json_integer_set(rj->count[c], (json_int_t)row->count[c]) < 0)
            return -1;
    for (int k = 0; k < NRATES; k++) {
        struct estimate e;
        report_rate(row, (enum rate)k, &e);
        if (set_estimate(rj->obj, rate_names[k], &rj->rate[k], &e) < 0)
            return -1;
    }
    if (!keyed || !with_arm)
        return 0;
    const struct report_row *ref;
    const char *arm = report_reference(r, row, &ref);
    if (!arm)
        return json_object_set_new(rj->obj, "difference", json_null());
    if (json_string_set(rj->diff_reference, arm) < 0)
        return -1;
    for (int k = 0; k < NRATES; k++) {
        struct estimate e = {0, 0, 0, 0};
        if (ref)
            report_difference(row, ref, (enum rate)k, &e);
        if (set_estimate(rj->diff, rate_names[k], &rj->diff_rate[k], &e) < 0)
            return -1;
    }
    return json_object_set(rj->obj, "difference", rj->diff);
}

static int dump_to_strbuf(const char *buffer, size_t size, void *data)
{
    return strbuf_append(data, buffer, size);
}

static int dump(struct strbuf *text, const json_t *obj)
{
    return json_dump_callback(obj, dump_to_strbuf, text, REPORT_JSON_FLAGS);
}

/* A row's dump: into a buffer on the stack first (one append instead of
 * one per token), through dump() when it is larger. */
static int dump_row(struct strbuf *text, const json_t *obj)
{
    char buf[4096];
    size_t n = json_dumpb(obj, buf, sizeof buf, REPORT_JSON_FLAGS);
    if (n == 0)
        return -1;
    return n <= sizeof buf ? strbuf_append(text, buf, n) : dump(text, obj);
}

/* The head {"from", "to", "group", ["reference_arms"], "rows": []} without
 * its closing "]}": rows follow. */
static int json_head(struct report_render *rr)
{
    const struct report_query *q = report_query_of(rr->w.r);
    const struct config *cfg = NULL;
    char from[CAL_DATE_BYTES + 1], to[CAL_DATE_BYTES + 1];
    cal_date_text(q->from, from);
    cal_date_text(q->to, to);
    json_t *group = json_array(), *head = NULL;
    int rc = group ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < q->ngroup; i++)
        rc = json_array_append_new(group, json_string(report_key_names[q->group[i]]));
    if (rc == 0)
        head = json_pack("{s:s, s:s, s:O}", "from", from, "to", to, "group", group);
    rc = head ? 0 : -1;
    if (rc == 0 && rr->w.with_arm) {
        cfg = report_config_of(rr->w.r);
        json_t *arms = json_array();
        rc = arms ? json_object_set_new(head, "reference_arms", arms) : -1;
        for (size_t i = 0; rc == 0 && i < cfg->nexperiments; i++) {
            int control;
            const struct arm_config *ref = report_reference_arm(&cfg->experiments[i], &control);
            rc = json_array_append_new(arms, json_pack("{s:s, s:s, s:b}", "experiment",
                                                       cfg->experiments[i].name, "arm",
                                                       ref->name, "control", control));
        }
    }
    if (rc == 0)
        rc = json_object_set_new(head, "rows", json_array());
    size_t before = rr->text.len;
    if (rc == 0)
        rc = dump(&rr->text, head);
    json_decref(group);
    json_decref(head);
    if (rc < 0)
        return -1;
    /* the dump ends in the empty array of rows and the object's end */
    if (rr->text.len < before + 2 || memcmp(rr->text.buf + rr->text.len - 2, "]}", 2) != 0)
        return -1;
    rr->text.len -= 2;
    rr->text.buf[rr->text.len] = '\0';
    return 0;
}

/* "]," and {"total": {...}} without its "{": the end of the document. */
static int json_tail(struct report_render *rr)
{
    if (row_json_set(&rr->total, rr->w.r, report_total(rr->w.r), 0, 0) < 0)
        return -1;
    json_t *tail = json_object();
    struct strbuf t = {0};
    int rc = tail && json_object_set(tail, "total", rr->total.obj) == 0 ? dump(&t, tail) : -1;
    json_decref(tail);
    if (rc == 0 && (t.len < 1 || t.buf[0] != '{'))
        rc = -1;
    if (rc == 0)
        rc = strbuf_puts(&rr->text, "],") | strbuf_append(&rr->text, t.buf + 1, t.len - 1) |
             strbuf_puts(&rr->text, "\n");
    strbuf_free(&t);
    return rc ? -1 : 0;
}

void report_real_text(double v, char out[32])
{
    snprintf(out, 32, "%.*g", REPORT_REAL_PRECISION, v);
}

static int csv_estimate(struct strbuf *t, const struct estimate *e)
{
    char num[32];
    int rc = 0;
    for (int i = 0; i < 3; i++) {
        rc |= strbuf_append(t, ",", 1);
        if (e->known) {
            report_real_text(i == 0 ? e->value : i == 1 ? e->low : e->high, num);
            rc |= strbuf_puts(t, num);
        }
    }
    return rc;
}

static int csv_head(struct report_render *rr)
{
    const struct report_query *q = report_query_of(rr->w.r);
    struct strbuf *t = &rr->text;
    int rc = 0;
    const char *sep = "";
    for (size_t i = 0; i < q->ngroup; i++, sep = ",")
        rc |= strbuf_puts(t, sep) | strbuf_puts(t, report_key_names[q->group[i]]);
    for (int c = 0; c < RU_NCOUNTERS; c++, sep = ",")
        rc |= strbuf_puts(t, sep) | strbuf_puts(t, ru_counter_names[c]);
    for (int k = 0; k < NRATES; k++)
        rc |= strbuf_printf(t, ",%s,%s_low,%s_high", rate_names[k], rate_names[k],
                            rate_names[k]);
    if (rr->w.with_arm) {
        rc |= strbuf_puts(t, ",reference_arm");
        for (int k = 0; k < NRATES; k++)
            rc |= strbuf_printf(t, ",%s_difference,%s_difference_low,%s_difference_high",
                                rate_names[k], rate_names[k], rate_names[k]);
    }
    rc |= strbuf_puts(t, "\r\n");
    return rc ? -1 : 0;
}

static int csv_row(const struct row_writer *w, struct strbuf *t, const struct report_row *row)
{
    const struct report *r = w->r;
    const struct report_query *q = report_query_of(r);
    int rc = 0;
    for (size_t i = 0; i < q->ngroup; i++) {
        const char *v = report_key_value(r, row, q->group[i]);
        if (i)
            rc |= strbuf_append(t, ",", 1);
        if (v)
            rc |= csv_put_field(t, v, strlen(v));
    }
    for (int c = 0; c < RU_NCOUNTERS; c++) {
        if (q->ngroup || c)
            rc |= strbuf_append(t, ",", 1);
        rc |= strbuf_put_ll(t, (long long)row->count[c]);
    }
    for (int k = 0; k < NRATES; k++) {
        struct estimate e;
        report_rate(row, (enum rate)k, &e);
        rc |= csv_estimate(t, &e);
    }
    if (w->with_arm) {
        const struct report_row *ref;
        const char *arm = report_reference(r, row, &ref);
        rc |= strbuf_append(t, ",", 1);
        if (arm)
            rc |= csv_put_field(t, arm, strlen(arm));
        for (int k = 0; k < NRATES; k++) {
            struct estimate e = {0, 0, 0, 0};
            if (arm && ref)
                report_difference(row, ref, (enum rate)k, &e);
            rc |= csv_estimate(t, &e);
        }
    }
    rc |= strbuf_puts(t, "\r\n");
    return rc ? -1 : 0;
}

/* Row i into t: JSON after a comma (but the first), with rj; CSV a line. */
static int write_row(const struct row_writer *w, struct row_json *rj, struct strbuf *t, size_t i)
{
    const struct report_row *row = report_row(w->r, i);
    if (w->format == REPORT_CSV)
        return csv_row(w, t, row);
    if ((i && strbuf_append(t, ",", 1) < 0) || row_json_set(rj, w->r, row, 1, w->with_arm) < 0)
        return -1;
    return dump_row(t, rj->obj);
}

/* ---- the second half, on a thread of its own ----------------------------------- */

static void *half_run(void *arg)
{
    struct render_half *h = arg;
    int rc = 0;
    for (size_t i = h->first; rc == 0 && i < h->end; i++) {
        if (atomic_load_explicit(&h->stop, memory_order_relaxed))
            break;              /* nobody reads the text any more */
        rc = write_row(&h->w, &h->row, &h->text, i);
    }
    h->rc = rc;
    atomic_store_explicit(&h->done, true, memory_order_release);
    if (h->wake_fd >= 0) {
        /* a fresh eventfd takes one write of 1 whatever happens (EAGAIN
         * only when the count would pass 2^64 - 2) */
        uint64_t one = 1;
        ssize_t n = write(h->wake_fd, &one, sizeof one);
        (void)n;
    }
    return NULL;
}

/* The thread's half is written: the caller's ready (which may free all). */
static void half_woken(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct render_half *h = arg;
    h->ready(h->ready_arg);
}

/* The thread stopped, if it runs, and joined; then what it held. */
static void half_free(struct render_half *h)
{
    if (!h)
        return;
    if (h->running) {
        atomic_store_explicit(&h->stop, true, memory_order_relaxed);
        pthread_join(h->thread, NULL);
    }
    if (h->wake)
        event_free(h->wake);
    if (h->wake_fd >= 0)
        close(h->wake_fd);
    row_json_free(&h->row);
    strbuf_free(&h->text);
    free(h);
}

/* Starts h's thread with every signal blocked: signals stay the loop's
 * (libevent's evsignal). An errno value, or 0. */
static int half_start(struct render_half *h)
{
    sigset_t all, old;
    sigfillset(&all);
    int err = pthread_sigmask(SIG_SETMASK, &all, &old);
    if (err)
        return err;
    err = pthread_create(&h->thread, NULL, half_run, h);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    h->running = err == 0;
    return err;
}

int report_render_split(struct report_render *rr, size_t min_rows, struct event_base *base,
                        report_render_ready *ready, void *arg)
{
    size_t n = report_nrows(rr->w.r);
    if (rr->half || rr->phase != PHASE_HEAD || n < min_rows || n < 2)
        return 0;
    struct render_half *h = calloc(1, sizeof *h);
    if (!h)
        return -1;
    h->w = rr->w;
    h->first = n / 2;
    h->end = n;
    h->wake_fd = -1;
    atomic_init(&h->stop, false);
    atomic_init(&h->done, false);
    int err = 0;
    if (rr->w.format == REPORT_JSON && row_json_new(&h->row, rr->w.r, 1, rr->w.with_arm) < 0)
        err = ENOMEM;
    if (!err && base) {
        h->ready = ready;
        h->ready_arg = arg;
        if ((h->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
            err = errno;
        else if (!(h->wake = event_new(base, h->wake_fd, EV_READ, half_woken, h)))
            err = ENOMEM;
    }
    if (!err)
        err = half_start(h);
    if (err) {
        half_free(h);
        errno = err;
        return -1;
    }
    rr->half = h;
    return 0;
}

static void free_text(const void *data, size_t len, void *extra)
{
    (void)len;
    (void)extra;
    free((void *)data);
}

/* The thread's half after what the loop wrote (rr->text first): 1 when
 * it is in out, 0 when the thread is not done (woken later: waiting), -1
 * when out of memory, here or in the thread. */
static int half_take(struct report_render *rr, struct evbuffer *out)
{
    struct render_half *h = rr->half;
    if (h->wake && !atomic_load_explicit(&h->done, memory_order_acquire))
        return event_add(h->wake, NULL) < 0 ? -1 : 0;
    if (h->running) {               /* done (or, without a loop, waited for here) */
        pthread_join(h->thread, NULL);
        h->running = false;
    }
    if (h->wake)
        event_del(h->wake);         /* an eventfd written after a wait began */
    if (h->rc < 0)
        return -1;
    if (rr->text.len && evbuffer_add(out, rr->text.buf, rr->text.len) < 0)
        return -1;
    strbuf_reset(&rr->text);
    if (h->text.len) {
        size_t len = h->text.len;
        char *text = strbuf_steal(&h->text);    /* out's from here: free_text */
        if (evbuffer_add_reference(out, text, len, free_text, NULL) < 0) {
            free(text);
            return -1;
        }
    }
    return 1;
}

struct report_render *report_render_new(const struct report *r, enum report_format format)
{
    struct report_render *rr = calloc(1, sizeof *rr);
    if (!rr)
        return NULL;
    rr->w.r = r;
    rr->w.format = format;
    rr->w.with_arm = report_has_key(r, REPORT_ARM);
    if (format == REPORT_JSON && (row_json_new(&rr->row, r, 1, rr->w.with_arm) < 0 ||
                                  row_json_new(&rr->total, r, 0, 0) < 0)) {
        report_render_free(rr);
        return NULL;
    }
    return rr;
}

void report_render_free(struct report_render *rr)
{
    if (!rr)
        return;
    half_free(rr->half);
    row_json_free(&rr->row);
    row_json_free(&rr->total);
    strbuf_free(&rr->text);
    free(rr);
}

enum report_render_step report_render_some(struct report_render *rr, struct evbuffer *out,
                                           size_t max_rows)
{
    const struct report *r = rr->w.r;
    int json = rr->w.format == REPORT_JSON;
    int rc = 0;
    strbuf_reset(&rr->text);
    if (rr->phase == PHASE_HEAD) {
        rc = json ? json_head(rr) : csv_head(rr);
        rr->phase = PHASE_ROWS;
    }
    if (rc == 0 && rr->phase == PHASE_ROWS) {
        size_t mine = rr->half ? rr->half->first : report_nrows(r);     /* the caller's rows */
        size_t end = max_rows < mine - rr->next ? rr->next + max_rows : mine;
        for (; rc == 0 && rr->next < end; rr->next++)
            rc = write_row(&rr->w, &rr->row, &rr->text, rr->next);
        if (rc == 0 && rr->next == mine)
            rr->phase = rr->half ? PHASE_HALF : PHASE_TAIL;
    }
    if (rc == 0 && rr->phase == PHASE_HALF) {
        rc = half_take(rr, out);
        if (rc == 0) {
            /* what this call wrote goes now; the rest once woken */
            if (rr->text.len && evbuffer_add(out, rr->text.buf, rr->text.len) < 0)
                return REPORT_RENDER_NO_MEMORY;
            return REPORT_RENDER_WAITING;
        }
        rc = rc < 0 ? -1 : 0;
        rr->next = report_nrows(r);
        rr->phase = PHASE_TAIL;
    }
    if (rc == 0 && rr->phase == PHASE_TAIL) {
        rc = json ? json_tail(rr) : 0;
        rr->phase = PHASE_DONE;
    }
    if (rc == 0 && rr->text.len && evbuffer_add(out, rr->text.buf, rr->text.len) < 0)
        rc = -1;
    if (rc < 0)
        return REPORT_RENDER_NO_MEMORY;
    return rr->phase == PHASE_DONE ? REPORT_RENDER_DONE : REPORT_RENDER_MORE;
}
