/* experiments.h: which arm of which experiment an answer belongs to.
 *
 * An experiment runs on its channels from its first day up to (not on)
 * its until day, local time; at most one per channel at a time (the
 * config sees to it). A unit keeps its arm for the whole experiment: the
 * arm is chosen by a keyed hash (BLAKE2b) of the experiment's name and the
 * unit, which is the patron's pseudonym when the request names a patron,
 * else the session the OPAC passes, else the touchpoint itself (a random
 * draw). The hash lands in 0..99; the arms' shares cut that range in
 * their order. */
#ifndef ONLOAN_HTTP_EXPERIMENTS_H
#define ONLOAN_HTTP_EXPERIMENTS_H

#include <stddef.h>

#include "core/config.h"

/* The experiment running on channel on day (YYYY-MM-DD), or NULL. */
const struct experiment_config *experiment_running(const struct config *cfg, enum channel channel,
                                                   const char *day);
/* The arm of ex for the unit (n bytes). */
const struct arm_config *experiment_arm(const struct experiment_config *ex, const char *unit,
                                        size_t n);
/* 0..99: where the unit falls (exposed for the tests). */
unsigned experiment_bucket(const struct experiment_config *ex, const char *unit, size_t n);

#endif
