/* eval.h: onloan eval, an offline evaluation on real borrowing data.
 *
 *   onloan eval [--redis IP:PORT] [--keep] [--pairs-per-loan N]
 *               [--window-days N] [--history-titles N] FILE
 *
 * (the three options override the config's model settings, to compare).
 * FILE is a MovieLens ratings.csv (each row a loan) or any loans file
 * onloan load takes. Protocol, exactly: per patron, loans sorted by time
 * (ties in file order); patrons with at least 5 loans are test patrons;
 * their last loan is hidden and the one before it is the query; every
 * other loan (of all patrons) is training data, loaded through the
 * daemon's ingest code (loader.h) into a Redis that eval starts
 * (redis_child.h: when it cannot, eval says why and exits 1) or the one
 * given, under a prefix of its own, removed afterwards unless --keep. For each test patron the top 10 is asked of the daemon's
 * scoring code (score.h) with no availability filter; titles the patron
 * already borrowed are left out and fewer than 10 are filled from
 * popularity. Reported per measure: hit-rate@10 (hidden title in the
 * top 10), MRR@10, catalogue coverage (distinct titles recommended /
 * titles in the training data) and the number of test patrons; each
 * measure alone (the query title only) and blended with the patron's
 * recent history (model.history_titles titles, weights 1, 1/2, 1/3...). */
#ifndef ONLOAN_CLI_EVAL_H
#define ONLOAN_CLI_EVAL_H

#include "core/config.h"

int eval_main(struct config *cfg, int argc, char **argv);

#endif
