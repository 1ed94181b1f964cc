/* eval_protocol.h: which loans onloan eval hides, asks with and trains on.
 *
 * Libraries see repeat loans: a patron borrows a title again. A repeat
 * can never be recommended (the patron has it already), so hiding one
 * measures nothing. The rule, per patron, loans in time order (ties in
 * the order they came, loan_event_order):
 *   - a test patron has borrowed at least EVAL_MIN_TITLES distinct titles;
 *   - the hidden title is their last *new* title: the title of the last
 *     loan that was the patron's first loan of that title (repeats after
 *     it are skipped over);
 *   - the query is the title of the loan just before that one (a repeat
 *     or not: what the patron borrowed last before it);
 *   - training is every loan of every patron except the test patrons'
 *     loans of their hidden title (its later repeats included: the model
 *     must not have seen the patron with it).
 * Holds (hold, hold_filled, hold_cancelled) are no part of the model:
 * they are dropped first, counted.
 * On data without repeats (MovieLens: one rating per user and film) this
 * is exactly "hide the last loan, ask with the one before". */
#ifndef ONLOAN_CLI_EVAL_PROTOCOL_H
#define ONLOAN_CLI_EVAL_PROTOCOL_H

#include <stddef.h>

#include "ingest/loan_event.h"

#define EVAL_MIN_TITLES 5

struct eval_test {
    char patron[PSEUDONYM_HEX_LEN + 1];
    char *query, *hidden;           /* owned */
    char **borrowed;                /* the patron's distinct training titles (owned) */
    size_t nborrowed;
    char **recent;                  /* newest first, from the stored history (owned;
                                     * filled by eval, not here) */
    size_t nrecent;
};

struct eval_split {
    struct eval_test *tests;        /* owned, in patron order */
    size_t ntests;
    size_t training_records;        /* distinct titles in the training loans */
    size_t held_out;                /* loans taken out of training: hidden titles' */
    size_t repeat_after;            /* test patrons whose last loan was a repeat */
    size_t holds;                   /* hold events dropped */
};

/* Drops the holds, sorts all (loan_event_order), fills out and leaves in
 * all only the training loans (the others freed). Returns -1 when out of memory (out
 * then holds what was made; free it). */
int eval_split(struct loan_batch *all, struct eval_split *out);
void eval_split_free(struct eval_split *s);

#endif
