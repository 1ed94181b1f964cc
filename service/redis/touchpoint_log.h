/* touchpoint_log.h: the touchpoint log, two Redis streams.
 *
 * Every answer of /v1/alternatives is one entry of <prefix>tp (its stream
 * id is the touchpoint id; fields time, record, catalogue, status,
 * branch, channel, lang, alternatives); every outcome posted later is
 * one entry of <prefix>ev (touchpoint, type, record, time). Both are
 * capped at redis.touchpoint_stream_max entries (approximate trimming).
 * This module builds the commands; the callers send them. */
#ifndef ONLOAN_REDIS_TOUCHPOINT_LOG_H
#define ONLOAN_REDIS_TOUCHPOINT_LOG_H

#include <hiredis/hiredis.h>
#include <stddef.h>

#include "core/config.h"
#include "redis/redis_client.h"

struct touchpoint {
    const char *record, *catalogue, *status, *branch, *channel, *lang;
    const char *const *alternatives;
    size_t nalternatives;
};

/* The XADD of one touchpoint. -1 when out of memory (cmd is the caller's
 * to free either way, with rcmd_free). */
int touchpoint_log_add(const struct config *cfg, const struct touchpoint *tp, struct rcmd *cmd);
/* The XADD of one outcome of a touchpoint (record may be NULL). */
int touchpoint_log_outcome(const struct config *cfg, const char *touchpoint, const char *type,
                           const char *record, struct rcmd *cmd);
/* The XRANGE that reads the touchpoint id back: its reply holds the
 * entry, or nothing when there is none. */
int touchpoint_log_read(const struct config *cfg, const char *touchpoint, struct rcmd *cmd);

/* Outcome types: shown, click, reserve, borrow, dismiss. */
int touchpoint_outcome_type_valid(const char *type);
/* Whether a touchpoint entry as XRANGE gives it ([id, [field, value,
 * ...]]) showed record: the wanted title or one of the alternatives.
 * -1 for an entry of another shape. */
int touchpoint_entry_shows(const redisReply *entry, const char *record);

#endif
