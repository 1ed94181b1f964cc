/* test_extsort.c: the external sort (extsort.h) with memory for a few
 * records only, so that a few thousand records make hundreds of runs and
 * several merge passes; in-order input that is never sorted; the
 * loader's two orders of load_rec (load_stream.h). */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/extsort.h"
#include "cli/load_stream.h"
#include "unit.h"

struct rec {
    uint32_t key;               /* sorted by key, then seq: every tie decided */
    uint32_t seq;
    char pad[8];                /* a record is more than its key */
};

static int by_key(const void *x, const void *y)
{
    const struct rec *a = x, *b = y;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int by_seq_desc(const void *x, const void *y)
{
    const struct rec *a = x, *b = y;
    return a->seq > b->seq ? -1 : a->seq < b->seq;
}

static char tmpdir[] = "/tmp/test_extsort-XXXXXX";

static int files_left(void)
{
    DIR *d = opendir(tmpdir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static uint32_t next_rand(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

/* Adds n records (keys from a small range: many equal keys), sorts with
 * memory bytes, and checks every record comes back once, in order. */
static void sort_and_check(size_t n, size_t memory, int in_order, struct extsort_stats *st)
{
    struct extsort *s = extsort_new(sizeof(struct rec), by_key, memory, tmpdir);
    struct strbuf err = {0};
    CHECK(s != NULL);
    uint32_t seed = 7;
    unsigned char *seen = calloc(n ? n : 1, 1);
    for (size_t i = 0; i < n; i++) {
        struct rec r = {in_order ? (uint32_t)i : next_rand(&seed) % 97, (uint32_t)i, "abcdefg"};
        CHECK(extsort_add(s, &r, &err) == 0);
    }
    CHECK(extsort_finish(s, &err) == 0);
    const void *p;
    struct rec last = {0};
    size_t got = 0;
    int rc;
    while ((rc = extsort_next(s, &p, &err)) == 1) {
        struct rec r;
        memcpy(&r, p, sizeof r);
        CHECK(r.seq < n && !seen[r.seq]);
        if (r.seq < n)
            seen[r.seq] = 1;
        CHECK(got == 0 || by_key(&last, &r) < 0);
        CHECK(strcmp(r.pad, "abcdefg") == 0);
        last = r;
        got++;
    }
    CHECK(rc == 0);
    CHECK(got == n);
    CHECK(err.len == 0);
    extsort_get_stats(s, st);
    CHECK(st->records == n);
    extsort_free(s);
    free(seen);
    strbuf_free(&err);
    CHECK(files_left() == 0);           /* the runs' files are unlinked when made */
}

TEST(many_runs_and_merge_passes)
{
    /* memory for 8 records: 4000 records make 500 runs; the merge fan-in
     * is 2 (a quarter of the memory reads), so some nine passes */
    struct extsort_stats st;
    sort_and_check(4000, 8 * sizeof(struct rec), 0, &st);
    CHECK(st.runs == 500);
    CHECK(st.merge_passes >= 8);
    CHECK(st.buffers_sorted == 500);
    CHECK(st.bytes_written >= (st.merge_passes + 1) * 4000 * sizeof(struct rec));
    /* a bigger fan-in: one pass or none */
    sort_and_check(4000, 1000 * sizeof(struct rec), 0, &st);
    CHECK(st.runs == 4 && st.merge_passes == 0);
}

TEST(all_in_memory_writes_nothing)
{
    struct extsort_stats st;
    sort_and_check(3000, 1 << 20, 0, &st);
    CHECK(st.runs == 0 && st.bytes_written == 0 && st.buffers_sorted == 1);
    sort_and_check(0, 1 << 20, 0, &st);
    CHECK(st.runs == 0 && st.records == 0);
    sort_and_check(1, 1 << 20, 0, &st);
    /* more than the quarter that reading keeps: written out as one run,
     * so that the buffer's memory is free while the records are read */
    sort_and_check(50, 100 * sizeof(struct rec), 0, &st);
    CHECK(st.runs == 1 && st.bytes_written == 50 * sizeof(struct rec) && st.buffers_sorted == 1);
    sort_and_check(25, 100 * sizeof(struct rec), 0, &st);
    CHECK(st.runs == 0 && st.bytes_written == 0);
}

TEST(in_order_input_is_never_sorted)
{
    /* 4000 records in order with room for 8: one run, written once */
    struct extsort_stats st;
    sort_and_check(4000, 8 * sizeof(struct rec), 1, &st);
    CHECK(st.runs == 1 && st.merge_passes == 0 && st.buffers_sorted == 0);
    CHECK(st.bytes_written == 4000 * sizeof(struct rec));
    sort_and_check(4000, 1 << 20, 1, &st);
    CHECK(st.runs == 0 && st.buffers_sorted == 0);
}

TEST(order_broken_once_starts_a_new_run)
{
    /* 0..99 in order, then 50..149 again (later seqs): two runs, the
     * second sorted only where it had to be */
    struct extsort *s = extsort_new(sizeof(struct rec), by_key, 10 * sizeof(struct rec), tmpdir);
    struct strbuf err = {0};
    for (uint32_t i = 0; i < 200; i++) {
        struct rec r = {i < 100 ? i : i - 50, i, "x"};
        CHECK(extsort_add(s, &r, &err) == 0);
    }
    CHECK(extsort_finish(s, &err) == 0);
    struct extsort_stats st;
    extsort_get_stats(s, &st);
    CHECK(st.runs == 2);
    CHECK(st.buffers_sorted == 0);      /* each buffer was in order: the break fell between them */
    const void *p;
    size_t n = 0;
    struct rec prev = {0};
    while (extsort_next(s, &p, &err) == 1) {
        struct rec r;
        memcpy(&r, p, sizeof r);
        CHECK(n == 0 || by_key(&prev, &r) < 0);
        prev = r;
        n++;
    }
    CHECK(n == 200);
    extsort_free(s);
    strbuf_free(&err);
}

TEST(set_cmp_spill_and_reorder)
{
    struct strbuf err = {0};
    struct extsort *s = extsort_new(sizeof(struct rec), by_key, 100 * sizeof(struct rec), tmpdir);
    for (uint32_t i = 0; i < 50; i++) {
        struct rec r = {i % 7, i, "x"};
        CHECK(extsort_add(s, &r, &err) == 0);
    }
    /* nothing on disk: the order may change */
    CHECK(extsort_set_cmp(s, by_seq_desc) == 0);
    CHECK(extsort_finish(s, &err) == 0);
    const void *p;
    uint32_t want = 49;
    while (extsort_next(s, &p, &err) == 1) {
        CHECK(((const struct rec *)p)->seq == want);
        want--;
    }
    CHECK(want == UINT32_MAX);
    extsort_free(s);

    s = extsort_new(sizeof(struct rec), by_key, 4 * sizeof(struct rec), tmpdir);
    for (uint32_t i = 0; i < 10; i++) {
        struct rec r = {10 - i, i, "x"};
        CHECK(extsort_add(s, &r, &err) == 0);
    }
    CHECK(extsort_spill(s, &err) == 0);                 /* a run now */
    CHECK(extsort_set_cmp(s, by_seq_desc) == -1);
    for (uint32_t i = 10; i < 12; i++) {
        struct rec r = {0, i, "x"};
        CHECK(extsort_add(s, &r, &err) == 0);          /* the buffer comes back */
    }
    CHECK(extsort_finish(s, &err) == 0);
    CHECK(extsort_reorder(s, by_seq_desc, NULL, NULL) == -1);   /* runs: not in memory */
    size_t n = 0;
    struct rec prev = {0};
    while (extsort_next(s, &p, &err) == 1) {
        struct rec r;
        memcpy(&r, p, sizeof r);
        CHECK(n == 0 || by_key(&prev, &r) < 0);
        prev = r;
        n++;
    }
    CHECK(n == 12);
    extsort_free(s);
    strbuf_free(&err);
}

static void bump_key(void *rec, void *arg)
{
    struct rec *r = rec;
    (*(int *)arg)++;
    r->key = 1000 - r->seq;
}

TEST(reorder_in_memory)
{
    struct strbuf err = {0};
    struct extsort *s = extsort_new(sizeof(struct rec), by_key, 1 << 16, tmpdir);
    for (uint32_t i = 0; i < 30; i++) {
        struct rec r = {i, i, "x"};
        CHECK(extsort_add(s, &r, &err) == 0);
    }
    CHECK(extsort_finish(s, &err) == 0);
    int calls = 0;
    CHECK(extsort_reorder(s, by_key, bump_key, &calls) == 0);
    CHECK(calls == 30);
    const void *p;
    uint32_t want = 29;
    while (extsort_next(s, &p, &err) == 1)
        CHECK(((const struct rec *)p)->seq == want--);
    extsort_free(s);
    strbuf_free(&err);
}

TEST(sort_in_place_matches_qsort)
{
    /* sizes around the insertion-sort cut and many duplicates of keys */
    uint32_t seed = 3;
    for (size_t n = 0; n < 300; n += 7) {
        struct rec *a = malloc((n ? n : 1) * sizeof *a), *b = malloc((n ? n : 1) * sizeof *b);
        for (size_t i = 0; i < n; i++)
            a[i] = b[i] = (struct rec){next_rand(&seed) % 5, (uint32_t)i, "x"};
        extsort_sort(a, n, sizeof *a, by_key);
        qsort(b, n, sizeof *b, by_key);
        CHECK(n == 0 || memcmp(a, b, n * sizeof *a) == 0);
        free(a);
        free(b);
    }
    /* sorted, reversed and all-equal-key inputs (quicksort's bad cases) */
    size_t n = 20000;
    struct rec *a = malloc(n * sizeof *a);
    for (int shape = 0; shape < 3; shape++) {
        for (size_t i = 0; i < n; i++)
            a[i] = (struct rec){shape == 0 ? (uint32_t)i : shape == 1 ? (uint32_t)(n - i) : 1,
                                shape == 2 ? (uint32_t)(n - i) : (uint32_t)i, "x"};
        extsort_sort(a, n, sizeof *a, by_key);
        int ok = 1;
        for (size_t i = 1; i < n; i++)
            ok &= by_key(&a[i - 1], &a[i]) < 0;
        CHECK(ok);
    }
    free(a);
}

TEST(tmpdir_that_cannot_be_written_is_named)
{
    struct strbuf err = {0};
    struct extsort *s = extsort_new(sizeof(struct rec), by_key, 4 * sizeof(struct rec),
                                    "/nonexistent-onloan-dir");
    int rc = 0;
    for (uint32_t i = 0; i < 10 && rc == 0; i++) {
        struct rec r = {i, i, "x"};
        rc = extsort_add(s, &r, &err);
    }
    CHECK(rc == -1);
    CHECK(strstr(strbuf_cstr(&err), "/nonexistent-onloan-dir: cannot make a temporary file") != NULL);
    extsort_free(s);
    strbuf_free(&err);
}

TEST(load_rec_orders)
{
    struct load_rec a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.patron[0] = 1;
    b.patron[0] = 2;
    a.seq = 9;
    b.seq = 1;
    CHECK(load_rec_by_patron(&a, &b) < 0);      /* pseudonym first */
    b.patron[0] = 1;
    CHECK(load_rec_by_patron(&a, &b) > 0);      /* then seq */
    a.first = 1;
    b.first = 1;
    a.when = 5;
    b.when = 6;
    CHECK(load_rec_by_first(&a, &b) < 0);       /* first, then time */
    b.when = 5;
    CHECK(load_rec_by_first(&a, &b) > 0);       /* then seq */
    a.first = 0;
    CHECK(load_rec_by_first(&a, &b) < 0);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(many_runs_and_merge_passes);
    RUN(all_in_memory_writes_nothing);
    RUN(in_order_input_is_never_sorted);
    RUN(order_broken_once_starts_a_new_run);
    RUN(set_cmp_spill_and_reorder);
    RUN(reorder_in_memory);
    RUN(sort_in_place_matches_qsort);
    RUN(tmpdir_that_cannot_be_written_is_named);
    RUN(load_rec_orders);
    rmdir(tmpdir);
    return unit_failures != 0;
}
