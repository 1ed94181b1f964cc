/* catalogue_query.h: the searches onloan sends a catalogue, written as
 * PQF for Z39.50 and CQL for SRU.
 *
 * Every term is quoted; record ids are valid ids (ids.h) and so safe in
 * either language; author and subject terms lose the characters that
 * could end a quoted term. */
#ifndef ONLOAN_CATALOGUE_QUERY_H
#define ONLOAN_CATALOGUE_QUERY_H

#include <stddef.h>

#include "core/config.h"
#include "core/strbuf.h"

enum search_field { SEARCH_AUTHOR, SEARCH_SUBJECT };

/* The search for a batch of n ids: over Z39.50 in the form the
 * catalogue's id_query says (ORed key terms, or regular expressions of
 * the ids kept within Zebra's term limit), over SRU ORed rec.id== terms.
 * Appended to out; -1 when out of memory. */
int catalogue_build_query(enum catalogue_protocol proto, enum id_query form,
                          const char *const *ids, size_t n, struct strbuf *out);
/* A search by author or subject (a phrase); with max_hits, over Z39.50,
 * one that lets Zebra stop counting past max_hits. -1 when out of
 * memory. */
int catalogue_build_search(enum catalogue_protocol proto, enum search_field field,
                           const char *term, size_t max_hits, struct strbuf *out);

#endif
