/* history.h: one patron's recent loans, and what a new loan adds to the
 * model.
 *
 * A history holds distinct titles, newest first, each with the time of
 * the patron's first loan of it that the history still remembers, and
 * that loan's branch when it had one (and model.branch_counts is on: the
 * branch's count of the title is what a forget takes back). In Redis it
 * is the string value of h:<pseudonym>, one "<unix-time> <record>\n" or
 * "<unix-time> <record> <branch>\n" line per title, newest first (record
 * ids and branch codes have no blanks, loan_event.h).
 *
 * history_add is the whole counting rule of the loan model:
 *  - a title already in the history is a repeat (or, at the same time, a
 *    duplicate: the same event again) and changes nothing, so a patron
 *    counts once per title and once per pair, and replaying events is
 *    harmless;
 *  - a loan older than all a full history holds (max_entries titles), or
 *    older than ttl_s before the patron's newest, is stale: it cannot be
 *    told from a replay of one counted before, and changes nothing either;
 *    this keeps a replay of a long history harmless too. (So a loan that
 *    arrives that late is not counted; and a loan at the very time of the
 *    oldest title of a full history is taken as new: a replay of more
 *    than max_entries loans in one and the same second can count the
 *    ones at that boundary again; event ids avoid that.)
 *  - a new title pairs with at most pairs_per_loan of the patron's other
 *    titles, those nearest in time and within window_s of it: the cost
 *    of one loan does not grow with a heavy reader's history;
 *  - then it is inserted, and the history trimmed to max_entries titles
 *    and to ttl_s before its newest loan. */
#ifndef ONLOAN_INGEST_HISTORY_H
#define ONLOAN_INGEST_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "core/strbuf.h"
#include "ingest/pairs.h"
#include "ingest/record_ids.h"

/* The farthest from 1970 a time in a history may be, either way: loan
 * events' times (loan_event.h) are Unix seconds of at most 12 digits, and
 * history_add's arithmetic on such times cannot overflow. */
#define HISTORY_MAX_WHEN 999999999999LL

struct history_entry {
    uint32_t record;            /* index in the caller's names */
    uint32_t branch;            /* the branch's, or RECORD_IDS_NONE */
    long long when;             /* Unix seconds */
};

struct history {
    struct history_entry *e;    /* owned; newest first */
    size_t n, cap;
    uint32_t *paired;           /* owned: the titles one new loan pairs with */
    size_t cap_paired;
};

struct history_rules {
    size_t max_entries;         /* privacy.history_max */
    long long ttl_s;            /* privacy.history_ttl_days */
    long long window_s;         /* model.window_days */
    size_t pairs_per_loan;      /* model.pairs_per_loan */
};

enum loan_outcome { LOAN_NEW, LOAN_REPEAT, LOAN_DUPLICATE, LOAN_STALE };

/* Parses a stored history (len bytes; "" is empty), interning records
 * and branches in nm. Returns -1 if malformed (a line not "<time>
 * <record>" or "<time> <record> <branch>", a time
 * beyond +-HISTORY_MAX_WHEN, a NUL in a record, not newest first, a title
 * twice) or out of memory (h is then empty). */
int history_parse(struct history *h, const char *text, size_t len, struct record_ids *nm);
int history_encode(const struct history *h, const struct record_ids *nm, struct strbuf *out);
void history_clear(struct history *h);      /* empty, memory kept */
void history_free(struct history *h);

/* Where the patron's max most recent titles other than skip (RECORD_IDS_NONE:
 * none) are in h, newest first, into at (room for max). Returns how many.
 * These are the titles blended in with patron= (score_recent_weight). */
size_t history_recent(const struct history *h, uint32_t skip, size_t max, size_t *at);

/* Adds a loan of record at when (+-HISTORY_MAX_WHEN), at branch
 * (RECORD_IDS_NONE: none; kept for a new title only). For a new title
 * that pairs with any, calls pairs(arg, others, n) once, before inserting
 * it, with the titles it pairs with, nearest in time first (borrowed for
 * the call). Returns the outcome, or -1 when pairs failed or memory ran
 * out (h unchanged). */
typedef int history_pairs_fn(void *arg, const uint32_t *others, size_t n);
int history_add(struct history *h, uint32_t record, uint32_t branch, long long when,
                const struct history_rules *rules, history_pairs_fn *pairs, void *arg);

/* What h's titles added to the model, the inverse a forget takes back
 * (ingest_forget.c): replays h oldest first through history_add on an
 * empty history under rules, logging each title's pairs into out as one
 * run (pairs.h). Each title also added 1 to its own count: those are h's
 * titles. This is what was counted when the loans arrived in time order,
 * or in any order while pairs_per_loan >= history_max (the defaults: no
 * loan meets the cap, and the window is symmetric). It cannot know the
 * pairs of titles h no longer holds (beyond history_max, or history_ttl_days
 * before its newest): see docs/model.md. -1 when out of memory. */
int history_contributions(const struct history *h, const struct history_rules *rules,
                          struct pair_table *out);

#endif
