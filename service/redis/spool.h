/* spool.h: writes that must reach Redis even when Redis is away for a
 * while: touchpoints and their outcomes.
 *
 * Each write is one idempotent command (a script that changes nothing
 * the second time it runs for the same touchpoints or outcome), so a
 * write sent again after its reply was lost counts once. A write goes to
 * Redis at once when Redis is there, nothing waits before it and fewer
 * than 8 writes are in flight (more would make every read sent on the
 * same connection wait behind them). When Redis cannot take it (not
 * connected, busy with those 8, or the connection was lost with the
 * write in flight), it waits in the spool, in order: in memory, and
 * appended to <spool_dir>/spool.log, which is synced (fdatasync) at most
 * every spool_sync_ms while writes come in; the spool sends them again,
 * in order, as soon as Redis answers, and empties the file once every
 * one is written. A daemon that starts finds the file's writes and sends
 * them first. At limits.max_spooled_writes waiting the spool is full: a new write
 * is refused (the caller says so: an answer is then degraded
 * touchpoint_not_logged) and counted.
 *
 * Records of the file: a 4-byte length, then the command (4-byte
 * argument count, then each argument as a 4-byte length and its bytes),
 * then a 16-byte BLAKE2b of the command: a record cut short or changed by
 * a crash is where reading stops. Numbers are little-endian. The file
 * holds what Redis would: pseudonyms at most, never a patron id. */
#ifndef ONLOAN_REDIS_SPOOL_H
#define ONLOAN_REDIS_SPOOL_H

#include <event2/event.h>
#include <stddef.h>

#include "core/config.h"
#include "core/strbuf.h"
#include "redis/rcmd.h"
#include "redis/redis_client.h"

struct spool;

/* Reads what an earlier run left in spool_dir (sent once Redis answers).
 * NULL with the reason in err (the file cannot be opened, or memory). */
struct spool *spool_new(struct event_base *base, struct redis_client *rc, const struct config *cfg,
                        struct strbuf *err);
/* What still waits stays in the file, for the next start. */
void spool_free(struct spool *sp);

/* Sends cmd (an idempotent write) now, or keeps it. 0: sent or kept; -1:
 * the spool is full, or out of memory (nothing kept). cmd stays the
 * caller's either way. */
int spool_write(struct spool *sp, const struct rcmd *cmd);

/* A place for a write that is still being put together (a batch of
 * touchpoints gathering: touchpoint_batch.h), counted as one that waits.
 * 0, or -1 when the spool is full. */
int spool_reserve(struct spool *sp);
/* Writes cmd into the place reserved, which it gives back; NULL only gives
 * it back. Refused (-1) only when out of memory. */
int spool_write_reserved(struct spool *sp, const struct rcmd *cmd);

/* A write sent by the caller itself (not through the spool) that Redis
 * has confirmed: kept like the spool's own, sent again on the next
 * connection. 0, or -1 when out of memory (not kept). */
int spool_remember(struct spool *sp, const struct rcmd *cmd);

struct spool_stats {
    size_t waiting;                 /* writes kept, not yet written */
    size_t in_flight;               /* sent, not yet answered */
    size_t bytes;                   /* of the commands held in memory (waiting, in
                                     * flight, confirmed and kept): a walk of them, for
                                     * /metrics, not for a hot path */
    size_t confirmed_kept;          /* confirmed lately, kept to send again */
    unsigned long long replayed;    /* confirmed ones sent again on a new connection */
    unsigned long long written;     /* confirmed by Redis */
    unsigned long long kept;        /* that had to wait in the spool */
    unsigned long long refused;     /* not kept: the spool was full (or no memory) */
    unsigned long long failed;      /* Redis refused them (an error reply): dropped, logged */
    unsigned long long transient_errors;    /* "not now" replies (LOADING, OOM...): sent again */
    unsigned long long file_errors; /* appends or syncs of the file that failed */
};
void spool_get_stats(const struct spool *sp, struct spool_stats *st);
/* Nothing waits, nothing is in flight and no place is reserved. */
int spool_idle(const struct spool *sp);

#endif
