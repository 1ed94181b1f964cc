/* failure.c: see failure.h. */
#include "core/failure.h"

static const char *const failure_names[FAILURE_COUNT] = {
    [FAILURE_NONE] = "none",
    [FAILURE_CATALOGUE_TIMEOUT] = "catalogue_timeout",
    [FAILURE_CATALOGUE_UNAVAILABLE] = "catalogue_unavailable",
    [FAILURE_CATALOGUE_ERROR] = "catalogue_error",
    [FAILURE_CATALOGUE_QUERY] = "catalogue_query",
    [FAILURE_CATALOGUE_TEXT_REPAIRED] = "catalogue_text_repaired",
    [FAILURE_CATALOGUE_BUSY] = "catalogue_busy",
    [FAILURE_REDIS_UNAVAILABLE] = "redis_unavailable",
    [FAILURE_REDIS_TIMEOUT] = "redis_timeout",
    [FAILURE_ALTERNATIVES_TIMEOUT] = "alternatives_timeout",
    [FAILURE_ALTERNATIVES_INCOMPLETE] = "alternatives_incomplete",
    [FAILURE_TOUCHPOINT_NOT_LOGGED] = "touchpoint_not_logged",
    [FAILURE_WRITE_UNCONFIRMED] = "write_unconfirmed",
    [FAILURE_WRITE_CONFLICT] = "write_conflict",
    [FAILURE_SHUTTING_DOWN] = "shutting_down",
    [FAILURE_OUT_OF_MEMORY] = "out_of_memory",
};

const char *failure_name(enum failure f)
{
    return (unsigned)f < FAILURE_COUNT ? failure_names[f] : "unknown";
}
