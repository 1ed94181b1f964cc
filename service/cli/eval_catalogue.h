/* eval_catalogue.h: a Zebra of its own for onloan eval --titles.
 *
 * In a work directory of the caller's: every title of TITLES.csv as a
 * MARC21 record (eval_marc.h, in file order, each with one copy on the
 * shelf at EVAL_BRANCH) in titles.mrc; a register indexed by zebraidx
 * with the project's own index definitions (deploy/zebra: onloan.abs,
 * the ICU chains, pqf.properties, zebra.cfg.in and yazserver.xml.in, as
 * the demo catalogue uses them), database EVAL_CATALOGUE_DB; then
 * zebrasrv -T serving it over Z39.50 and SRU on a free loopback port.
 * zebraidx's count of records indexed must be the number written: it
 * stops reading a file at a record it cannot take. Hits come in record
 * order (rank-static), so a search by author or subject gives the
 * titles in TITLES.csv's order. */
#ifndef ONLOAN_CLI_EVAL_CATALOGUE_H
#define ONLOAN_CLI_EVAL_CATALOGUE_H

#include "cli/child.h"
#include "cli/eval_titles.h"
#include "core/strbuf.h"

#define EVAL_CATALOGUE_DB "titles"
#define EVAL_BRANCH "MAIN"
#define EVAL_ZEBRAIDX_WAIT_MS 600000        /* indexing, at most */
#define EVAL_ZEBRASRV_WAIT_MS 10000         /* until it takes connections */

struct eval_catalogue {
    char *dir;                  /* the work directory (owned copy) */
    int port;                   /* zebrasrv's */
    struct child zebrasrv;
    size_t records;
    double records_s, index_s;  /* writing the records, indexing them */
};

/* Builds and serves the catalogue in dir (which exists and is empty).
 * zebra_conf: the directory of the index definitions. Returns -1 with
 * the reason in err (a title too long for MARC names its line; nothing
 * is left running). */
int eval_catalogue_start(struct eval_catalogue *ec, const char *dir, const char *zebra_conf,
                         const struct eval_titles *ts, struct strbuf *err);
/* Stops zebrasrv; the files stay for the caller to remove. */
void eval_catalogue_stop(struct eval_catalogue *ec);

/* zebraidx's log says how many records it inserted, updated and deleted
 * ("Records: N i/u/d I/U/D"): the last such line's I, or -1. */
long eval_zebraidx_inserted(const char *log_text);

#endif
