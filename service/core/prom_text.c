/* prom_text.c: Prometheus' text format; see prom_text.h. */
#include "core/prom_text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int name_ok(const char *s, int colon)
{
    if (!s || !*s)
        return 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (colon && c == ':');
        if (!alpha && !(p > s && c >= '0' && c <= '9'))
            return 0;
    }
    return 1;
}

int prom_metric_name_ok(const char *s)
{
    return name_ok(s, 1);
}

int prom_label_name_ok(const char *s)
{
    /* names beginning with __ are Prometheus' own */
    return name_ok(s, 0) && strncmp(s, "__", 2) != 0;
}

/* s with \ and newline escaped, and " too when quoted (a label value). */
static int put_escaped(struct strbuf *out, const char *s, int quoted)
{
    const char *run = s;
    for (const char *p = s;; p++) {
        const char *esc = *p == '\\' ? "\\\\" : *p == '\n' ? "\\n"
                        : *p == '"' && quoted ? "\\\"" : NULL;
        if (!esc && *p)
            continue;
        if (strbuf_append(out, run, (size_t)(p - run)) < 0)
            return -1;
        if (!*p)
            return 0;
        if (strbuf_puts(out, esc) < 0)
            return -1;
        run = p + 1;
    }
}

int prom_family(struct strbuf *out, const char *name, const char *type, const char *help)
{
    static const char *const types[] = {"counter", "gauge", "histogram", "summary", "untyped"};
    int known = 0;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        known |= type && strcmp(type, types[i]) == 0;
    if (!known || !prom_metric_name_ok(name))
        return -1;
    if (strbuf_puts(out, "# HELP ") < 0 || strbuf_puts(out, name) < 0 ||
        strbuf_puts(out, " ") < 0 || put_escaped(out, help, 0) < 0 ||
        strbuf_puts(out, "\n# TYPE ") < 0 || strbuf_puts(out, name) < 0 ||
        strbuf_puts(out, " ") < 0 || strbuf_puts(out, type) < 0 || strbuf_puts(out, "\n") < 0)
        return -1;
    return 0;
}

/* name{labels[,le="le"]} and the space before the value. */
static int put_series(struct strbuf *out, const char *name, const char *suffix,
                      const struct prom_label *labels, size_t nlabels, const char *le)
{
    if (!prom_metric_name_ok(name) || strbuf_puts(out, name) < 0 ||
        (suffix && strbuf_puts(out, suffix) < 0))
        return -1;
    if (nlabels || le) {
        if (strbuf_puts(out, "{") < 0)
            return -1;
        for (size_t i = 0; i < nlabels; i++) {
            if (!prom_label_name_ok(labels[i].name) || !labels[i].value ||
                (le && strcmp(labels[i].name, "le") == 0) ||
                (i && strbuf_puts(out, ",") < 0) || strbuf_puts(out, labels[i].name) < 0 ||
                strbuf_puts(out, "=\"") < 0 || put_escaped(out, labels[i].value, 1) < 0 ||
                strbuf_puts(out, "\"") < 0)
                return -1;
        }
        if (le && ((nlabels && strbuf_puts(out, ",") < 0) || strbuf_puts(out, "le=\"") < 0 ||
                   strbuf_puts(out, le) < 0 || strbuf_puts(out, "\"") < 0))
            return -1;
        if (strbuf_puts(out, "}") < 0)
            return -1;
    }
    return strbuf_puts(out, " ");
}

/* v as the format spells it: the shortest %g that reads back as v. */
static int put_double(struct strbuf *out, double v)
{
    if (isnan(v))
        return strbuf_puts(out, "NaN");
    if (isinf(v))
        return strbuf_puts(out, v > 0 ? "+Inf" : "-Inf");
    char buf[40];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return strbuf_puts(out, buf);
}

int prom_sample_u64(struct strbuf *out, const char *name, const struct prom_label *labels,
                    size_t nlabels, uint64_t value)
{
    if (put_series(out, name, NULL, labels, nlabels, NULL) < 0)
        return -1;
    return strbuf_printf(out, "%llu\n", (unsigned long long)value);
}

int prom_sample_double(struct strbuf *out, const char *name, const struct prom_label *labels,
                       size_t nlabels, double value)
{
    if (put_series(out, name, NULL, labels, nlabels, NULL) < 0 || put_double(out, value) < 0)
        return -1;
    return strbuf_puts(out, "\n");
}

int prom_histogram_init(struct prom_histogram *h, const double *bounds, size_t nbounds)
{
    *h = (struct prom_histogram){bounds, nbounds, calloc(nbounds + 1, sizeof *h->counts), 0, 0};
    return h->counts ? 0 : -1;
}

void prom_histogram_free(struct prom_histogram *h)
{
    free(h->counts);
    h->counts = NULL;
}

void prom_histogram_observe(struct prom_histogram *h, double value)
{
    size_t i = 0;
    while (i < h->nbounds && value > h->bounds[i])
        i++;
    h->counts[i]++;
    h->sum += value;
    h->count++;
}

int prom_histogram_samples(struct strbuf *out, const char *name, const struct prom_label *labels,
                           size_t nlabels, const struct prom_histogram *h)
{
    uint64_t cumulative = 0;
    struct strbuf le = {0};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i <= h->nbounds; i++) {
        cumulative += h->counts[i];
        strbuf_reset(&le);
        rc = (i < h->nbounds ? put_double(&le, h->bounds[i]) : strbuf_puts(&le, "+Inf")) < 0 ||
             put_series(out, name, "_bucket", labels, nlabels, strbuf_cstr(&le)) < 0 ||
             strbuf_printf(out, "%llu\n", (unsigned long long)cumulative) < 0 ? -1 : 0;
    }
    strbuf_free(&le);
    if (rc < 0 || put_series(out, name, "_sum", labels, nlabels, NULL) < 0 ||
        put_double(out, h->sum) < 0 || strbuf_puts(out, "\n") < 0 ||
        put_series(out, name, "_count", labels, nlabels, NULL) < 0 ||
        strbuf_printf(out, "%llu\n", (unsigned long long)h->count) < 0)
        return -1;
    return 0;
}
