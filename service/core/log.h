/* log.h: one logging function with levels, to stderr.
 *
 * Never pass a raw patron id: callers log pseudonyms only. */
#ifndef ONLOAN_CORE_LOG_H
#define ONLOAN_CORE_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Returns -1 for an unknown level name. */
int log_level_parse(const char *name, enum log_level *out);
void log_set_level(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
