/* eval.h: onloan eval, an offline evaluation on real borrowing data.
 *
 *   onloan eval [--redis IP:PORT] [--keep]
 *               [--titles TITLES.csv [--onloand PATH] [--zebra-conf DIR]]
 *               [--pairs-per-loan N] [--window-days N] [--history-titles N]
 *               [--min-patrons N] [--history-max N] [--history-ttl-days N]
 *               LOANS.csv
 *
 * LOANS.csv is any loans file onloan load takes (or a MovieLens
 * ratings.csv, each row a loan); partial dates and dates before 1970 are
 * handled as eval_loans.h says. The options of the model override the
 * config's, to compare settings (the config's ranges). The protocol is
 * eval_protocol.h's: a test patron's last new title hidden, the title
 * before it the query. Training loans go through the daemon's ingest code
 * (loader.h) into a Redis that eval starts (redis_child.h: when it cannot,
 * eval says why and exits 1) or the one given, under a prefix of its own,
 * removed afterwards unless --keep.
 *
 * Printed: the protocol and what was done to the dates, the model's
 * settings, then a row per measure: hit-rate@10 (the hidden title in the
 * 10 shown), MRR@10, catalogue coverage (distinct titles shown / titles in
 * training) and the number of test patrons.
 *   - measure rows: the top 10 of the daemon's scoring code (score.h) for
 *     the query, no availability filter, the patron's training titles left
 *     out, popularity filling up; each measure alone, and blended with the
 *     patron's recent history (model.history_titles titles, weights 1, 1/2,
 *     1/3... as with patron=);
 *   - with --titles, the served rows (eval_served.h): the answers of the
 *     daemon's own answer path (an onloand, default the one beside this
 *     program, on this Redis and a Zebra of TITLES.csv built and started
 *     for the run, eval_catalogue.h, with the index definitions of
 *     --zebra-conf, default ../deploy/zebra beside this program): "served"
 *     without patron=, "served + history" with it; then their hits by the
 *     alternative's reason and their answers' counts and speed;
 *   - the times taken.
 * Exit status 0, 1 when the run failed (said on stderr), 2 bad usage. */
#ifndef ONLOAN_CLI_EVAL_H
#define ONLOAN_CLI_EVAL_H

#include "core/config.h"

int eval_main(struct config *cfg, int argc, char **argv);

#endif
