/* touchpoint_log.h: the touchpoint log and what it counts.
 *
 * A touchpoint's id is onloand's own, "<Unix ms>-<n>" (n < 2^63), made
 * when the answer is (touchpoint_writes_add), so that the answer need not
 * wait for Redis and its write can wait in the spool (spool.h) while
 * Redis is away: the time and a random number of the first touchpoint of
 * its batch, n's low bits its place in the batch. Every write here is one script that changes nothing the
 * second time it runs for the same touchpoints or outcome.
 *
 *   <prefix>tpd:<batch> hash    the touchpoints written together, read
 *                               back by their outcomes and QR codes: place
 *                               in the batch -> "<record> <alternatives>
 *                               <catalogue> <day> <cell>", of its tp entry
 *                               (below); kept touchpoints.token_ttl_s and a
 *                               day. (Before 2026-12 tpd:<id>, a hash of
 *                               those fields: still read.)
 *   <prefix>tp          stream  one entry per answer of /v1/alternatives.
 *                               Fields: touchpoint (its id), time, record,
 *                               catalogue, status, branch, channel, lang,
 *                               alternatives (ids joined by ','), experiment,
 *                               arm, day (YYYYMMDD) and cell (its rollup
 *                               cell, rollup.h, numbered by the script)
 *   <prefix>ev          stream  one entry per outcome counted: touchpoint,
 *                               type, record, time
 *   <prefix>tpo:<id>    hash    the outcomes of touchpoint <id> counted so
 *                               far ("<type>|<record>" -> 1): each counts once
 *   <prefix>at:<pseudonym>  hash  for attribution: record -> "<touchpoint id>
 *                               <role> <day> <cell>" of the latest touchpoint
 *                               that showed the record to that patron (role
 *                               w: the wanted title, a: an alternative);
 *                               expires touchpoints.attribution_days after
 *                               its last write, and with a forget; read by
 *                               the ingest engine (ingest_attribution.c)
 * Streams are capped at redis.touchpoint_stream_max entries (approximate
 * trimming). This module builds the commands; the callers send them. */
#ifndef ONLOAN_REDIS_TOUCHPOINT_LOG_H
#define ONLOAN_REDIS_TOUCHPOINT_LOG_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/config.h"
#include "redis/rcmd.h"
#include "redis/redis_client.h"
#include "redis/rollup.h"

#define TOUCHPOINT_ID_MAX_BYTES 41      /* "<ms>-<n>", 20 digits each at most */
#define TOUCHPOINT_BATCH_PLACES 64      /* touchpoints written together at most: a power of 2 */

/* The batch a touchpoint was written in, "<ms>-<n>" with n's low bits
 * cleared, and its place in it (those bits): -1 when id is not one
 * touchpoint_writes_add could have made. */
int touchpoint_id_batch(const char *id, char batch[TOUCHPOINT_ID_MAX_BYTES + 1], unsigned *place);

struct touchpoint {
    const char *id;             /* touchpoint_writes_add's */
    const char *record, *catalogue, *status, *branch, *channel, *lang;
    const char *alternatives;   /* shown: ids joined by ',' ("" for none) */
    const char *experiment, *arm;   /* "" outside an experiment */
    const char *day;            /* YYYYMMDD (rollup_day) */
    const char *cell_name;      /* its rollup cell (rollup_cell_name) */
};

/* Touchpoints written together: one script for all of them
 * (touchpoint_batch.h gathers them). For each, it numbers its rollup cell
 * if new, adds 1 to each of the counters given in that cell of the day
 * and appends the tp entry; what its outcomes read back goes in the
 * batch's hash, tpd:<batch>, a field a touchpoint. A touchpoint's id
 * names its batch: "<ms>-<n>", the ms and the draw of the batch's first,
 * the low bits of n its place (touchpoint_id_batch). A batch whose hash
 * is there (sent again) changes nothing. */
struct touchpoint_writes {
    struct rcmd keys, args;     /* each touchpoint's, in order */
    size_t n;                   /* touchpoints */
    uint64_t ms, base;          /* the batch's time and number (low bits 0) */
    char batch[TOUCHPOINT_ID_MAX_BYTES + 1];    /* "<ms>-<base>" */
    time_t now_s;               /* the second of now, as written in the entries */
    char now[21];
};
/* Adds tp (its id ignored), which counts counters, and writes its id:
 * the first of a batch takes ms and draw as the batch's. -1 when out of
 * memory, or the batch holds TOUCHPOINT_BATCH_PLACES: the batch is then
 * as it was. */
int touchpoint_writes_add(const struct config *cfg, struct touchpoint_writes *w,
                          const struct touchpoint *tp, uint64_t ms, uint64_t draw,
                          const enum ru_counter *counters, size_t ncounters,
                          char id[TOUCHPOINT_ID_MAX_BYTES + 1]);
/* The script that writes them (w holds at least one), into cmd: -1 when
 * out of memory (cmd is the caller's to rcmd_free either way). */
int touchpoint_writes_command(const struct config *cfg, const struct touchpoint_writes *w,
                              struct rcmd *cmd);
/* Empty again. */
void touchpoint_writes_clear(struct touchpoint_writes *w);
/* The transaction that reads the touchpoint back: HGET of its place in
 * its batch's tpd: and HGETALL of tpd:<id> (as touchpoints were kept
 * before). */
#define TOUCHPOINT_READ_CMDS 2
int touchpoint_log_read(const struct config *cfg, const char *touchpoint,
                        struct rcmd cmds[TOUCHPOINT_READ_CMDS]);

/* What the touchpoint read back (that transaction's reply) says,
 * pointing into the reply, whose strings it may split in place. 1; 0
 * when there is no such touchpoint (or no longer); -1 for a reply of
 * another shape. */
struct touchpoint_entry {
    const char *record, *alternatives, *day;
    const char *catalogue;      /* NULL if the entry has none */
    uint32_t cell;
    int has_cell;               /* 0: written before rollups (no day, no cell) */
};
int touchpoint_entry_parse(redisReply *reply, struct touchpoint_entry *out);
/* Whether the entry showed record: the wanted title or an alternative. */
int touchpoint_entry_shows(const struct touchpoint_entry *e, const char *record);

/* Outcome types: shown, click, reserve, borrow, dismiss (posted by the
 * OPAC), and attributed_borrow, attributed_reserve, attributed_borrow_wanted
 * (found in the library system's loans and holds). -1 for another type;
 * else the counter it adds to (rollup.h). */
int touchpoint_outcome_counter(const char *type);
int touchpoint_outcome_type_valid(const char *type);    /* the five that may be posted */

/* One outcome of a touchpoint, counted once per (touchpoint, type,
 * record): one EVAL that marks it in <prefix>tpo:<id> and, only the first
 * time, adds 1 to the outcome's counter of the touchpoint's day and cell
 * and appends it to <prefix>ev. The reply is the ev entry's id, or the
 * integer 0 when it was counted before (a duplicate). */
struct outcome {
    const char *touchpoint, *type;
    const char *record;         /* NULL for shown and dismiss without one */
    const char *day;            /* the touchpoint's (NULL: not counted in rollups) */
    uint32_t cell;
    const char *cell_name;      /* NULL, or the cell by its name (rollup_cell_name)
                                 * when its number is not known here */
};
int touchpoint_log_outcome(const struct config *cfg, const struct outcome *o, struct rcmd *cmd);

/* The script that remembers, for attribution, which records touchpoint
 * tp showed to the patron (pseudonym): the wanted title with role w, every
 * alternative with role a, in at:<pseudonym>, whose expiry starts again.
 * Sent after tp's own write (its cell is read by name); nothing is
 * remembered if that cell has no number yet. Never spooled: sent later, it
 * could come back after a forget of that patron. */
#define TOUCHPOINT_ROLE_WANTED 'w'
#define TOUCHPOINT_ROLE_ALTERNATIVE 'a'
int touchpoint_log_remember(const struct config *cfg, const char *pseudonym,
                            const struct touchpoint *tp, struct rcmd *cmd);

/* What at:<pseudonym> remembers of the touchpoint that last showed a
 * record: the value touchpoint_log_remember wrote, read back. */
struct touchpoint_mark {
    char touchpoint[TOUCHPOINT_ID_MAX_BYTES + 1];
    char role;                  /* TOUCHPOINT_ROLE_WANTED or _ALTERNATIVE */
    char day[RU_DAY_BYTES + 1]; /* its rollup day and cell */
    uint32_t cell;
    long long ms;               /* its time, Unix ms: the id's first part */
};
/* Parses "<touchpoint id> <role> <day> <cell>" (len bytes, no NUL
 * needed). -1, m undefined, when the value is not one. */
int touchpoint_mark_parse(const char *s, size_t len, struct touchpoint_mark *m);

#endif
