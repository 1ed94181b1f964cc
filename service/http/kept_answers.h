/* kept_answers.h: recently built answers, kept while their facts are fresh.
 *
 * An OPAC shows the same on-loan title to many patrons. The part of the
 * answer that does not change per request (everything but the touchpoint
 * id) is kept, serialised, until the oldest catalogue or model fact in it
 * reaches its configured age (with patron=, their history and their
 * recent titles' neighbours are such facts): so a kept answer is never
 * older than what the caches it was built from may serve. Degraded
 * answers are never kept; the caller sets expires_ms (alternatives.c).
 *
 * Requests that miss the same answer together (it has just expired) each
 * build it. What they read is shared below them (catalogue records cached
 * and searched once, model reads in flight), so only the building is
 * repeated: with wrk at 64 connections on one record, about 200 of
 * 200,000 requests in 12 s built it, with no more catalogue searches or
 * Redis reads than if one had. Having them wait for the first request's answer instead
 * would have to hand every way a request ends (404, degraded, deadline)
 * to the others, and when the first fails (a catalogue timeout, say)
 * they would wait for it and then for their own try. */
#ifndef ONLOAN_HTTP_KEPT_ANSWERS_H
#define ONLOAN_HTTP_KEPT_ANSWERS_H

#include <stddef.h>
#include <stdint.h>

#include "http/answer.h"

struct ttl_cache;

/* The kept answers: a ttl_cache (free it with ttl_cache_free). */
struct ttl_cache *kept_answers_new(size_t max_entries);
/* A fresh answer for key (a new reference), or NULL. */
struct answer *kept_answers_get(struct ttl_cache *kept, const char *key);
/* Keeps ans under key until ans->expires_ms (takes a reference of its own). */
void kept_answers_put(struct ttl_cache *kept, const char *key, struct answer *ans);
/* In the cache of patron answers (server.h), drops those made for this
 * pseudonym (the last field of their keys, alternatives.c), or all of them
 * (NULL): a forgotten patron's stay no longer. */
void kept_answers_forget_patron(struct ttl_cache *kept, const char *pseudonym);
/* Drops every answer kept (a forget changed the counts they show). */
void kept_answers_drop_all(struct ttl_cache *kept);

#endif
