/* loader.h: `onloan load`: loan history from a CSV file into Redis.
 *
 * The file has a header naming the columns patron, record and date (any
 * order; other columns are ignored). date is YYYY-MM-DD, an ISO 8601 UTC
 * date-time (YYYY-MM-DDTHH:MM:SSZ) or Unix seconds. Every line is checked
 * before anything is written: one bad line and nothing is loaded.
 *
 * Patron ids are pseudonymised as they are read; only pseudonyms leave
 * this module. The model is rebuilt from the file (raw co-occurrence
 * counts of distinct patrons within each patron's last history_max
 * titles; pairs shared by fewer than min_patrons are never written). */
#ifndef ONLOAN_LOADER_H
#define ONLOAN_LOADER_H

#include <stdio.h>

#include "config.h"
#include "strbuf.h"

struct load_summary {
    size_t loans, patrons, records, pairs_seen, pairs_kept;
};

/* Reads and checks the whole file. Returns -1 with the reasons (line
 * numbers, at most 20) in err. */
struct loan_set;
struct loan_set *loans_read(FILE *in, const char *name, const struct config *cfg,
                            struct strbuf *err);
void loans_free(struct loan_set *ls);

/* Writes the model of ls to Redis (synchronously: this is the CLI, not
 * the daemon's loop). Returns -1 with the reason in err. */
int loans_store(const struct loan_set *ls, const struct config *cfg,
                struct load_summary *sum, struct strbuf *err);

/* Parses a loan date; returns -1 when malformed. */
int loan_date_parse(const char *s, long long *unix_seconds);

#endif
