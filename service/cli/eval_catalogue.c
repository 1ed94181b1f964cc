/* eval_catalogue.c: see eval_catalogue.h. */
#include "cli/eval_catalogue.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/eval_marc.h"
#include "cli/loader.h"
#include "core/clock.h"

#define RECORDS_FILE "titles.mrc"
#define WRITE_CHUNK (1 << 20)           /* records are written out this many bytes at a time */

long eval_zebraidx_inserted(const char *log_text)
{
    long inserted = -1;
    for (const char *p = log_text; (p = strstr(p, "Records: ")); p++) {
        const char *iud = strstr(p, "i/u/d ");
        const char *eol = strchr(p, '\n');
        char *end;
        if (!iud || (eol && iud > eol))
            continue;
        long n = strtol(iud + strlen("i/u/d "), &end, 10);
        if (end > iud + strlen("i/u/d ") && *end == '/')
            inserted = n;
    }
    return inserted;
}

static char *path_in(const char *dir, const char *name)
{
    char *p = NULL;
    return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

/* Writes every title's record to dir/titles.mrc. */
static int write_records(struct eval_catalogue *ec, const struct eval_titles *ts,
                         struct strbuf *err)
{
    char *path = path_in(ec->dir, RECORDS_FILE);
    FILE *f = path ? fopen(path, "w") : NULL;
    if (!f) {
        strbuf_printf(err, "%s: %s\n", path ? path : RECORDS_FILE,
                      path ? strerror(errno) : "out of memory");
        free(path);
        return -1;
    }
    char entered[7], barcode[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(entered, sizeof entered, "%y%m%d", gmtime_r(&now, &tm));
    struct strbuf out = {0};
    int rc = 0;
    for (size_t i = 0; i < ts->n && rc == 0; i++) {
        const char *why;
        snprintf(barcode, sizeof barcode, "E%012zu", i + 1);
        if (eval_marc_record(&ts->t[i], EVAL_BRANCH, barcode, entered, &out, &why) < 0) {
            strbuf_printf(err, "%s:%zu: record %s: %s\n", ts->name, ts->t[i].line,
                          ts->t[i].record, why);
            rc = -1;
        } else if (out.len >= WRITE_CHUNK || i + 1 == ts->n) {
            if (fwrite(out.buf, 1, out.len, f) != out.len) {
                strbuf_printf(err, "%s: %s\n", path, strerror(errno));
                rc = -1;
            }
            strbuf_reset(&out);
        }
    }
    if (fclose(f) != 0 && rc == 0) {
        strbuf_printf(err, "%s: %s\n", path, strerror(errno));
        rc = -1;
    }
    strbuf_free(&out);
    free(path);
    ec->records = rc == 0 ? ts->n : 0;
    return rc;
}

/* Writes template (in conf) to dir/name with each key of subst replaced
 * by the value after it (NULL-terminated pairs). */
static int instantiate(const char *conf, const char *template, const char *dir, const char *name,
                       const char *const *subst, struct strbuf *err)
{
    char *from = path_in(conf, template), *to = path_in(dir, name);
    size_t len;
    char *text = from ? loader_read_file(from, &len, err) : NULL;
    struct strbuf out = {0};
    int rc = -1;
    if (!from || !to) {
        strbuf_puts(err, "out of memory\n");
    } else if (text) {
        int bad = 0;
        for (const char *p = text; *p && !bad;) {
            size_t k = 0;
            while (subst[k] && strncmp(p, subst[k], strlen(subst[k])) != 0)
                k += 2;
            if (subst[k]) {
                bad = strbuf_puts(&out, subst[k + 1]) < 0;
                p += strlen(subst[k]);
            } else {
                bad = strbuf_append(&out, p++, 1) < 0;
            }
        }
        FILE *f = bad ? NULL : fopen(to, "w");
        if (bad)
            strbuf_puts(err, "out of memory\n");
        else if (!f || fwrite(out.buf, 1, out.len, f) != out.len)
            strbuf_printf(err, "%s: %s\n", to, strerror(errno));
        else
            rc = 0;
        if (f && fclose(f) != 0 && rc == 0) {
            strbuf_printf(err, "%s: %s\n", to, strerror(errno));
            rc = -1;
        }
    }
    free(text);
    strbuf_free(&out);
    free(from);
    free(to);
    return rc;
}

/* conf/ (a link to the index definitions) and the register's directories. */
static int make_dirs(const char *dir, const char *zebra_conf, struct strbuf *err)
{
    char real[PATH_MAX];
    char *link = path_in(dir, "conf");
    if (!link || !realpath(zebra_conf, real) || symlink(real, link) < 0) {
        strbuf_printf(err, "the Zebra configuration %s: %s\n", zebra_conf,
                      link ? strerror(errno) : "out of memory");
        free(link);
        return -1;
    }
    free(link);
    static const char *const sub[] = {"register", "shadow", "lock", "tmp"};
    for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++) {
        char *p = path_in(dir, sub[i]);
        if (!p || mkdir(p, 0700) < 0) {
            strbuf_printf(err, "%s: %s\n", p ? p : sub[i], p ? strerror(errno) : "out of memory");
            free(p);
            return -1;
        }
        free(p);
    }
    return 0;
}

/* zebraidx over the records; its count checked. */
static int index_records(struct eval_catalogue *ec, struct strbuf *err)
{
    char *log = path_in(ec->dir, "zebraidx.log");
    char *argv[] = {"zebraidx", "-c", "zebra.cfg", "-n", "-g", "demo", "-d", EVAL_CATALOGUE_DB,
                    "update", RECORDS_FILE, NULL};
    struct child idx;
    int rc = -1;
    if (!log) {
        strbuf_puts(err, "out of memory\n");
    } else if (child_start(&idx, "zebraidx", argv, ec->dir, log, err) == 0) {
        if (child_wait_exit(&idx, EVAL_ZEBRAIDX_WAIT_MS, err) == 0) {
            size_t len;
            char *text = loader_read_file(log, &len, err);
            long got = text ? eval_zebraidx_inserted(text) : -1;
            if (text && got != (long)ec->records) {
                strbuf_printf(err, "zebraidx indexed %ld of the %zu records (it stops at a "
                              "record it cannot take); the last it wrote (%s):\n", got,
                              ec->records, log);
                child_log_tail(log, err);
            } else if (text) {
                rc = 0;
            }
            free(text);
        }
        child_stop(&idx);
    }
    free(log);
    return rc;
}

static int serve(struct eval_catalogue *ec, const char *zebra_conf, struct strbuf *err)
{
    char port[16], *cfg = path_in(ec->dir, "yazserver.xml"), *log = path_in(ec->dir,
                                                                          "zebrasrv.log");
    int rc = -1;
    if ((ec->port = child_free_port()) < 0) {
        strbuf_printf(err, "no free port for zebrasrv: %s\n", strerror(errno));
    } else if (!cfg || !log) {
        strbuf_puts(err, "out of memory\n");
    } else {
        snprintf(port, sizeof port, "%d", ec->port);
        const char *subst[] = {"@OUT@", ec->dir, "@PORT@", port, NULL};
        char *argv[] = {"zebrasrv", "-T", "-v", "-log", "-f", cfg, NULL};
        if (instantiate(zebra_conf, "yazserver.xml.in", ec->dir, "yazserver.xml", subst,
                        err) == 0 &&
            child_start(&ec->zebrasrv, "zebrasrv", argv, ec->dir, log, err) == 0 &&
            child_wait_port(&ec->zebrasrv, ec->port, EVAL_ZEBRASRV_WAIT_MS, err) == 0)
            rc = 0;
    }
    free(cfg);
    free(log);
    return rc;
}

int eval_catalogue_start(struct eval_catalogue *ec, const char *dir, const char *zebra_conf,
                         const struct eval_titles *ts, struct strbuf *err)
{
    memset(ec, 0, sizeof *ec);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (!(ec->dir = strdup(dir))) {
        strbuf_puts(err, "out of memory\n");
        return -1;
    }
    const char *subst[] = {"@OUT@", ec->dir, NULL};
    if (write_records(ec, ts, err) < 0 || make_dirs(ec->dir, zebra_conf, err) < 0 ||
        instantiate(zebra_conf, "zebra.cfg.in", ec->dir, "zebra.cfg", subst, err) < 0)
        goto fail;
    ec->records_s = seconds_since(&t0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (index_records(ec, err) < 0)
        goto fail;
    ec->index_s = seconds_since(&t1);
    if (serve(ec, zebra_conf, err) < 0)
        goto fail;
    return 0;
fail:
    eval_catalogue_stop(ec);
    return -1;
}

void eval_catalogue_stop(struct eval_catalogue *ec)
{
    child_stop(&ec->zebrasrv);
    free(ec->dir);
    ec->dir = NULL;
}
