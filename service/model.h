/* model.h: reading the loan model ("patrons who borrowed this also
 * borrowed") from Redis, with a short in-process cache.
 *
 * Key layout (prefix from config, default "onloan:"; README has it all):
 *   co:<record>   string  "<other> <count>\n" lines: distinct patrons who
 *                         borrowed both (cooc.h; summed when repeated)
 *   pop           zset    record -> distinct patrons who borrowed it
 *   meta          hash    patrons, loans, repeats, duplicates, ...
 * A pair shared by fewer than privacy.min_patrons patrons is never read:
 * it is dropped here, before anything can score or show it. */
#ifndef ONLOAN_MODEL_H
#define ONLOAN_MODEL_H

#include <event2/event.h>

#include "config.h"
#include "score.h"
#include "store.h"

struct model;
struct model_read;

struct model *model_new(struct store *st, const struct config *cfg);
void model_free(struct model *m);

/* A fresh cached read of record (a new reference), or NULL. */
struct neighbours *model_cached(struct model *m, const char *record);

/* nb is a new reference (caller unrefs), or NULL with error set. */
typedef void model_cb(struct neighbours *nb, const char *error, void *arg);
/* Reads from Redis (and caches). Never calls back from inside. Returns
 * NULL only when out of memory. */
struct model_read *model_read(struct model *m, const char *record, model_cb *cb, void *arg);
void model_read_cancel(struct model_read *rd);

#endif
