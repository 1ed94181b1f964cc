/* extsort.c: see extsort.h. */
#include "cli/extsort.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_READ_BUFFER (4u << 20)      /* bytes per run being read: more buys nothing */

struct run {
    uint64_t off;               /* bytes into the file */
    size_t n;                   /* records */
};

/* A run being read. */
struct cursor {
    uint64_t off;               /* of the next record not yet in buf */
    size_t left;                /* records not yet in buf */
    char *buf;
    size_t nbuf, pos, cap;      /* records in buf, the current one, room */
};

struct extsort {
    size_t rec, cap_records, memory;
    extsort_cmp *cmp;
    char *tmpdir;
    /* adding */
    char *buf;
    size_t n, cap;
    int buf_sorted;             /* buf's records are in order */
    int chain;                  /* ... and none is before the last run's last */
    char prev[EXTSORT_MAX_RECORD];
    int have_prev;
    /* the runs: one file, appended to; merge passes write a new one */
    int fd;
    uint64_t fd_end;
    struct run *runs;
    size_t nruns, capruns;
    /* reading */
    int finished;
    size_t mem_pos;             /* reading buf, when no run was written */
    struct cursor *cur;
    size_t ncur;
    size_t *heap, nheap;
    size_t pending;             /* the cursor whose record was handed out last, or SIZE_MAX */
    struct extsort_stats stats;
};

/* ---- in-memory sort -------------------------------------------------------- */

static void swap_rec(char *a, char *b, size_t size)
{
    char t[EXTSORT_MAX_RECORD];
    memcpy(t, a, size);
    memcpy(a, b, size);
    memcpy(b, t, size);
}

static void sift_down(char *base, size_t size, extsort_cmp *cmp, size_t i, size_t n)
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            return;
        if (c + 1 < n && cmp(base + c * size, base + (c + 1) * size) < 0)
            c++;
        if (cmp(base + i * size, base + c * size) >= 0)
            return;
        swap_rec(base + i * size, base + c * size, size);
        i = c;
    }
}

static void heap_sort(char *base, size_t n, size_t size, extsort_cmp *cmp)
{
    for (size_t i = n / 2; i-- > 0;)
        sift_down(base, size, cmp, i, n);
    for (size_t end = n; end-- > 1;) {
        swap_rec(base, base + end * size, size);
        sift_down(base, size, cmp, 0, end);
    }
}

static void insertion_sort(char *base, size_t n, size_t size, extsort_cmp *cmp)
{
    char t[EXTSORT_MAX_RECORD];
    for (size_t i = 1; i < n; i++) {
        if (cmp(base + (i - 1) * size, base + i * size) <= 0)
            continue;
        memcpy(t, base + i * size, size);
        size_t j = i;
        while (j > 0 && cmp(base + (j - 1) * size, t) > 0) {
            memcpy(base + j * size, base + (j - 1) * size, size);
            j--;
        }
        memcpy(base + j * size, t, size);
    }
}

/* Quicksort (median of three, the smaller side first so that the stack
 * stays O(log n)) that turns to heapsort past 2 log2 n levels. */
static void intro_sort(char *base, size_t n, size_t size, extsort_cmp *cmp, int depth)
{
    while (n > 16) {
        if (depth-- == 0) {
            heap_sort(base, n, size, cmp);
            return;
        }
        char *lo = base, *mid = base + (n / 2) * size, *hi = base + (n - 1) * size;
        if (cmp(mid, lo) < 0)
            swap_rec(mid, lo, size);
        if (cmp(hi, mid) < 0) {
            swap_rec(hi, mid, size);
            if (cmp(mid, lo) < 0)
                swap_rec(mid, lo, size);
        }
        /* the pivot goes to the end - 1; lo and hi are in place */
        char *pv = base + (n - 2) * size;
        swap_rec(mid, pv, size);
        size_t i = 0, j = n - 2;
        for (;;) {
            while (cmp(base + (++i) * size, pv) < 0)
                ;
            while (j > 0 && cmp(base + (--j) * size, pv) > 0)
                ;
            if (i >= j)
                break;
            swap_rec(base + i * size, base + j * size, size);
        }
        swap_rec(base + i * size, pv, size);
        size_t left = i, right = n - i - 1;
        if (left < right) {
            intro_sort(base, left, size, cmp, depth);
            base += (i + 1) * size;
            n = right;
        } else {
            intro_sort(base + (i + 1) * size, right, size, cmp, depth);
            n = left;
        }
    }
    insertion_sort(base, n, size, cmp);
}

void extsort_sort(void *base, size_t n, size_t rec_size, extsort_cmp *cmp)
{
    int depth = 0;
    for (size_t k = n; k > 1; k >>= 1)
        depth += 2;
    intro_sort(base, n, rec_size, cmp, depth);
}

/* ---- the runs' file ------------------------------------------------------ */

static int open_tmp(const char *tmpdir, struct strbuf *err)
{
    struct strbuf path = {0};
    if (strbuf_printf(&path, "%s/onloan-load-XXXXXX", tmpdir) < 0) {
        strbuf_puts(err, "out of memory\n");
        return -1;
    }
    int fd = mkstemp(path.buf);     /* 0600 */
    if (fd < 0)
        strbuf_printf(err, "%s: cannot make a temporary file: %s\n", tmpdir, strerror(errno));
    else
        unlink(path.buf);
    strbuf_free(&path);
    return fd;
}

static int write_at(struct extsort *s, int fd, uint64_t off, const char *p, size_t len,
                    struct strbuf *err)
{
    while (len) {
        ssize_t w = pwrite(fd, p, len, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            strbuf_printf(err, "%s: cannot write a temporary file: %s\n", s->tmpdir,
                          w < 0 ? strerror(errno) : "nothing written");
            return -1;
        }
        p += w;
        off += (uint64_t)w;
        len -= (size_t)w;
        s->stats.bytes_written += (unsigned long long)w;
    }
    return 0;
}

static int read_at(struct extsort *s, int fd, uint64_t off, char *p, size_t len, struct strbuf *err)
{
    while (len) {
        ssize_t r = pread(fd, p, len, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            strbuf_printf(err, "%s: cannot read a temporary file back: %s\n", s->tmpdir,
                          r < 0 ? strerror(errno) : "it is shorter than written");
            return -1;
        }
        p += r;
        off += (uint64_t)r;
        len -= (size_t)r;
    }
    return 0;
}

static int runs_push(struct extsort *s, uint64_t off, size_t n)
{
    if (s->nruns == s->capruns) {
        size_t cap = s->capruns ? 2 * s->capruns : 16;
        struct run *r = realloc(s->runs, cap * sizeof *r);
        if (!r)
            return -1;
        s->runs = r;
        s->capruns = cap;
    }
    s->runs[s->nruns++] = (struct run){off, n};
    return 0;
}

/* ---- adding ---------------------------------------------------------------- */

struct extsort *extsort_new(size_t rec_size, extsort_cmp *cmp, size_t memory, const char *tmpdir)
{
    if (rec_size == 0 || rec_size > EXTSORT_MAX_RECORD)
        return NULL;
    struct extsort *s = calloc(1, sizeof *s);
    if (!s || !(s->tmpdir = strdup(tmpdir))) {
        free(s);
        return NULL;
    }
    s->rec = rec_size;
    s->cmp = cmp;
    s->memory = memory;
    s->cap_records = memory / rec_size < 4 ? 4 : memory / rec_size;
    s->buf_sorted = s->chain = 1;
    s->fd = -1;
    s->pending = SIZE_MAX;
    return s;
}

void extsort_free(struct extsort *s)
{
    if (!s)
        return;
    if (s->fd >= 0)
        close(s->fd);
    for (size_t i = 0; i < s->ncur; i++)
        free(s->cur[i].buf);
    free(s->cur);
    free(s->heap);
    free(s->runs);
    free(s->buf);
    free(s->tmpdir);
    free(s);
}

/* Writes the buffer as a run (sorted first unless in order; appended to
 * the last run when it follows on from it) and empties it. */
static int spill(struct extsort *s, struct strbuf *err)
{
    if (s->n == 0)
        return 0;
    if (!s->buf_sorted) {
        extsort_sort(s->buf, s->n, s->rec, s->cmp);
        s->stats.buffers_sorted++;
    }
    if (s->fd < 0 && (s->fd = open_tmp(s->tmpdir, err)) < 0)
        return -1;
    if (write_at(s, s->fd, s->fd_end, s->buf, s->n * s->rec, err) < 0)
        return -1;
    if (s->chain && s->nruns > 0) {
        s->runs[s->nruns - 1].n += s->n;
    } else if (runs_push(s, s->fd_end, s->n) < 0) {
        strbuf_puts(err, "out of memory\n");
        return -1;
    }
    s->fd_end += (uint64_t)s->n * s->rec;
    /* what the next buffer must not go below to extend this run */
    memcpy(s->prev, s->buf + (s->n - 1) * s->rec, s->rec);
    s->have_prev = 1;
    s->n = 0;
    s->buf_sorted = s->chain = 1;
    return 0;
}

int extsort_add(struct extsort *s, const void *rec, struct strbuf *err)
{
    if (s->n == s->cap_records && spill(s, err) < 0)
        return -1;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 1024;
        if (cap > s->cap_records)
            cap = s->cap_records;
        char *b = realloc(s->buf, cap * s->rec);
        if (!b) {
            strbuf_puts(err, "out of memory\n");
            return -1;
        }
        s->buf = b;
        s->cap = cap;
    }
    if (s->have_prev && s->cmp(s->prev, rec) > 0) {
        s->buf_sorted = s->n == 0 ? s->buf_sorted : 0;
        s->chain = 0;
    }
    memcpy(s->buf + s->n * s->rec, rec, s->rec);
    memcpy(s->prev, rec, s->rec);
    s->have_prev = 1;
    s->n++;
    s->stats.records++;
    return 0;
}

int extsort_set_cmp(struct extsort *s, extsort_cmp *cmp)
{
    if (s->nruns > 0)
        return -1;
    s->cmp = cmp;
    s->buf_sorted = s->n < 2;
    s->have_prev = s->n > 0;
    if (s->n)
        memcpy(s->prev, s->buf + (s->n - 1) * s->rec, s->rec);
    return 0;
}

int extsort_spill(struct extsort *s, struct strbuf *err)
{
    if (spill(s, err) < 0)
        return -1;
    free(s->buf);
    s->buf = NULL;
    s->cap = 0;
    return 0;
}

/* ---- merging --------------------------------------------------------------- */

static int cursor_fill(struct extsort *s, struct cursor *c, struct strbuf *err)
{
    size_t k = c->left < c->cap ? c->left : c->cap;
    if (read_at(s, s->fd, c->off, c->buf, k * s->rec, err) < 0)
        return -1;
    c->off += (uint64_t)k * s->rec;
    c->left -= k;
    c->nbuf = k;
    c->pos = 0;
    return 0;
}

static const char *cursor_rec(const struct extsort *s, size_t i)
{
    const struct cursor *c = &s->cur[i];
    return c->buf + c->pos * s->rec;
}

static void heap_down(struct extsort *s, size_t i)
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->nheap)
            return;
        if (c + 1 < s->nheap && s->cmp(cursor_rec(s, s->heap[c + 1]), cursor_rec(s, s->heap[c])) < 0)
            c++;
        if (s->cmp(cursor_rec(s, s->heap[i]), cursor_rec(s, s->heap[c])) <= 0)
            return;
        size_t t = s->heap[i];
        s->heap[i] = s->heap[c];
        s->heap[c] = t;
        i = c;
    }
}

static void merge_close(struct extsort *s)
{
    for (size_t i = 0; i < s->ncur; i++)
        free(s->cur[i].buf);
    free(s->cur);
    free(s->heap);
    s->cur = NULL;
    s->heap = NULL;
    s->ncur = s->nheap = 0;
    s->pending = SIZE_MAX;
}

/* Read buffers for n runs (and one output): a quarter of memory. */
static size_t read_buffer_records(const struct extsort *s, size_t n)
{
    size_t bytes = s->memory / 4 / (n + 1);
    if (bytes > MAX_READ_BUFFER)
        bytes = MAX_READ_BUFFER;
    return bytes / s->rec ? bytes / s->rec : 1;
}

/* The runs a merge of at most this many fits in memory. */
static size_t fanin(const struct extsort *s)
{
    size_t f = s->memory / 4 / s->rec;
    f = f > 1 ? f - 1 : 1;
    if (f < 2)
        f = 2;
    return f < EXTSORT_MAX_FANIN ? f : EXTSORT_MAX_FANIN;
}

static int merge_open(struct extsort *s, const struct run *runs, size_t n, struct strbuf *err)
{
    size_t per = read_buffer_records(s, n);
    s->cur = calloc(n, sizeof *s->cur);
    s->heap = malloc(n * sizeof *s->heap);
    if (!s->cur || !s->heap) {
        strbuf_puts(err, "out of memory\n");
        return -1;
    }
    s->ncur = n;
    for (size_t i = 0; i < n; i++) {
        struct cursor *c = &s->cur[i];
        c->off = runs[i].off;
        c->left = runs[i].n;
        c->cap = per;
        if (!(c->buf = malloc(per * s->rec))) {
            strbuf_puts(err, "out of memory\n");
            return -1;
        }
        if (c->left == 0)
            continue;
        if (cursor_fill(s, c, err) < 0)
            return -1;
        s->heap[s->nheap++] = i;
    }
    for (size_t i = s->nheap / 2; i-- > 0;)
        heap_down(s, i);
    return 0;
}

/* The smallest record of the merge (valid until the next call): 1, 0
 * when none is left, -1 on error. */
static int merge_pop(struct extsort *s, const void **rec, struct strbuf *err)
{
    if (s->pending != SIZE_MAX) {
        struct cursor *c = &s->cur[s->pending];
        s->pending = SIZE_MAX;
        if (++c->pos == c->nbuf) {
            if (c->left == 0) {
                s->heap[0] = s->heap[--s->nheap];
            } else if (cursor_fill(s, c, err) < 0) {
                return -1;
            }
        }
        heap_down(s, 0);
    }
    if (s->nheap == 0)
        return 0;
    s->pending = s->heap[0];
    *rec = cursor_rec(s, s->heap[0]);
    return 1;
}

/* One pass: the runs merged fanin at a time into a new file. */
static int merge_pass(struct extsort *s, struct strbuf *err)
{
    size_t f = fanin(s);
    int out = open_tmp(s->tmpdir, err);
    if (out < 0)
        return -1;
    struct run *runs = NULL;
    size_t nruns = 0;
    uint64_t end = 0;
    size_t outcap = read_buffer_records(s, f);
    char *obuf = malloc(outcap * s->rec);
    int rc = -1;
    if (!obuf || !(runs = malloc(((s->nruns + f - 1) / f) * sizeof *runs))) {
        strbuf_puts(err, "out of memory\n");
        goto done;
    }
    for (size_t first = 0; first < s->nruns; first += f) {
        size_t k = s->nruns - first < f ? s->nruns - first : f, total = 0, nout = 0;
        for (size_t i = 0; i < k; i++)
            total += s->runs[first + i].n;
        if (merge_open(s, s->runs + first, k, err) < 0)
            goto done;
        runs[nruns++] = (struct run){end, total};
        const void *rec;
        int got;
        while ((got = merge_pop(s, &rec, err)) == 1) {
            memcpy(obuf + nout * s->rec, rec, s->rec);
            if (++nout == outcap) {
                if (write_at(s, out, end, obuf, nout * s->rec, err) < 0)
                    goto done;
                end += (uint64_t)nout * s->rec;
                nout = 0;
            }
        }
        if (got < 0 || (nout && write_at(s, out, end, obuf, nout * s->rec, err) < 0))
            goto done;
        end += (uint64_t)nout * s->rec;
        merge_close(s);
    }
    close(s->fd);
    s->fd = out;
    out = -1;
    s->fd_end = end;
    free(s->runs);
    s->runs = runs;
    runs = NULL;
    s->nruns = s->capruns = nruns;
    s->stats.merge_passes++;
    rc = 0;
done:
    merge_close(s);
    if (out >= 0)
        close(out);
    free(runs);
    free(obuf);
    return rc;
}

int extsort_finish(struct extsort *s, struct strbuf *err)
{
    s->finished = 1;
    if (s->nruns == 0 && s->n * s->rec <= s->memory / 4) {  /* kept in memory: no file */
        if (!s->buf_sorted) {
            extsort_sort(s->buf, s->n, s->rec, s->cmp);
            s->stats.buffers_sorted++;
        }
        s->mem_pos = 0;
        return 0;
    }
    if (extsort_spill(s, err) < 0)
        return -1;
    s->stats.runs = s->nruns;
    while (s->nruns > fanin(s))
        if (merge_pass(s, err) < 0)
            return -1;
    return merge_open(s, s->runs, s->nruns, err);
}

int extsort_reorder(struct extsort *s, extsort_cmp *cmp, void (*edit)(void *rec, void *arg),
                    void *arg)
{
    if (!s->finished || s->nruns > 0)
        return -1;
    for (size_t i = 0; i < s->n; i++)
        edit(s->buf + i * s->rec, arg);
    s->cmp = cmp;
    extsort_sort(s->buf, s->n, s->rec, s->cmp);
    s->stats.buffers_sorted++;
    s->mem_pos = 0;
    return 0;
}

int extsort_next(struct extsort *s, const void **rec, struct strbuf *err)
{
    if (!s->finished) {
        strbuf_puts(err, "extsort_next before extsort_finish\n");
        return -1;
    }
    if (s->nruns == 0) {
        if (s->mem_pos == s->n)
            return 0;
        *rec = s->buf + s->mem_pos++ * s->rec;
        return 1;
    }
    return merge_pop(s, rec, err);
}

void extsort_get_stats(const struct extsort *s, struct extsort_stats *st)
{
    *st = s->stats;
    if (!s->finished)
        st->runs = s->nruns;
}
