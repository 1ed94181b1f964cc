/* model.h: reading the loan model ("patrons who borrowed this also
 * borrowed") from Redis, with a short in-process cache.
 *
 * Key layout (prefix from config, default "onloan:"):
 *   co:<record>   zset  other record -> distinct patrons who borrowed both
 *   pop           zset  record -> distinct patrons who borrowed it
 *   meta          hash  patrons, loans, records, loaded_at
 *   h:<pseudonym> list  a patron's recent titles (pseudonymised, expiring)
 * A pair shared by fewer than privacy.min_patrons is never written, and
 * never read either: the read asks for counts >= min_patrons. */
#ifndef ONLOAN_MODEL_H
#define ONLOAN_MODEL_H

#include <event2/event.h>

#include "config.h"
#include "recommend.h"
#include "store.h"

struct model;
struct model_read;

/* The candidates for one record: co-occurring titles first, then the
 * popular ones, at most limits.max_candidates, scored as recommend.h
 * says. Shared and immutable: hold a reference. */
struct neighbours {
    int refs;
    uint64_t fetched_ms;
    struct candidate *cands;
    size_t n;
};

struct neighbours *neighbours_ref(struct neighbours *nb);
void neighbours_unref(struct neighbours *nb);

struct model *model_new(struct store *st, const struct config *cfg);
void model_free(struct model *m);

/* A fresh cached answer for record (a new reference), or NULL. */
struct neighbours *model_cached(struct model *m, const char *record);

/* nb is a new reference (caller unrefs), or NULL with error set. */
typedef void model_cb(struct neighbours *nb, const char *error, void *arg);
/* Reads from Redis (and caches). Never calls back from inside. */
struct model_read *model_read(struct model *m, const char *record, model_cb *cb, void *arg);
void model_read_cancel(struct model_read *rd);

#endif
