/* prom_text.h: Prometheus' text exposition format (version 0.0.4),
 * written into a strbuf; and the histogram it writes.
 *
 * A metric family is its "# HELP" and "# TYPE" lines, then its samples,
 * each "name{label="value",...} value". Label values are escaped (\ as
 * \\, " as \", a newline as \n), HELP text likewise (\ and newline).
 * A histogram is written as _bucket samples, cumulative, each with its
 * upper bound in le and the last le="+Inf" (as many as _count), then
 * _sum and _count. Names are checked against the format's grammar
 * (metric [a-zA-Z_:][a-zA-Z0-9_:]*, label [a-zA-Z_][a-zA-Z0-9_]*):
 * a name that does not fit is a caller's bug, refused with -1 rather
 * than written for a scraper to choke on.
 *
 * Conventions (prometheus.io/docs/practices/naming): a counter's name
 * ends in _total, units are in the name (_seconds, _bytes), base units.
 *
 * Every function returns 0, or -1 (out of memory, or a bad name or
 * type) with out possibly holding part of the text: throw it away. */
#ifndef ONLOAN_CORE_PROM_TEXT_H
#define ONLOAN_CORE_PROM_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "core/strbuf.h"

/* The Content-Type of the format. */
#define PROM_TEXT_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct prom_label {
    const char *name;
    const char *value;              /* any bytes but NUL: escaped */
};

/* "# HELP name help" and "# TYPE name type"; type is "counter",
 * "gauge", "histogram", "summary" or "untyped". */
int prom_family(struct strbuf *out, const char *name, const char *type, const char *help);
/* One sample: name{labels} value (no braces without labels). */
int prom_sample_u64(struct strbuf *out, const char *name, const struct prom_label *labels,
                    size_t nlabels, uint64_t value);
/* The same with a real value (NaN, +Inf and -Inf as the format spells
 * them; else as many digits as round-trip). */
int prom_sample_double(struct strbuf *out, const char *name, const struct prom_label *labels,
                       size_t nlabels, double value);

/* A histogram's observations: counts[i] those <= bounds[i] (and above
 * bounds[i-1]), counts[nbounds] those above the last bound. bounds are
 * borrowed (they ascend); counts is the histogram's own. */
struct prom_histogram {
    const double *bounds;
    size_t nbounds;
    uint64_t *counts;               /* nbounds + 1 */
    double sum;
    uint64_t count;
};
/* counts allocated (zeroed) for bounds; -1 when out of memory. */
int prom_histogram_init(struct prom_histogram *h, const double *bounds, size_t nbounds);
void prom_histogram_free(struct prom_histogram *h);
void prom_histogram_observe(struct prom_histogram *h, double value);
/* name_bucket{labels,le="..."} (cumulative), name_sum{labels},
 * name_count{labels}; the family's header is the caller's (prom_family
 * with "histogram"). */
int prom_histogram_samples(struct strbuf *out, const char *name, const struct prom_label *labels,
                           size_t nlabels, const struct prom_histogram *h);

/* 1 if s fits the grammar of a metric name (label: a label name). */
int prom_metric_name_ok(const char *s);
int prom_label_name_ok(const char *s);

#endif
