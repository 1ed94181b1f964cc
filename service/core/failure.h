/* failure.h: why something could not be done, for every layer.
 *
 * One enum and one name table: Redis, the catalogue, the ingest engine
 * and onloand itself say why they failed with these, and the HTTP face
 * shows their names to clients as they are: in an answer's "degraded"
 * list and in a 503's "reason". FAILURE_NONE (0) is success, so a
 * callback's `enum failure why` reads as a flag too.
 *
 * Out of memory is always a failure of the one request, job or read
 * that needed the memory (FAILURE_OUT_OF_MEMORY: a 503, or a degraded
 * answer): onloand answers it and goes on, and never aborts for it. */
#ifndef ONLOAN_CORE_FAILURE_H
#define ONLOAN_CORE_FAILURE_H

enum failure {
    FAILURE_NONE = 0,
    /* the catalogue: */
    FAILURE_CATALOGUE_TIMEOUT,      /* no answer within timeout_ms */
    FAILURE_CATALOGUE_UNAVAILABLE,  /* cannot connect, or the connection was lost */
    FAILURE_CATALOGUE_ERROR,        /* it answered with an error (a diagnostic) */
    FAILURE_CATALOGUE_QUERY,        /* the query could not be built or was refused by ZOOM */
    FAILURE_CATALOGUE_TEXT_REPAIRED,/* a record shown was not valid UTF-8: repaired (U+FFFD) */
    FAILURE_CATALOGUE_BUSY,         /* max_queued searches wait already: not asked */
    /* Redis: */
    FAILURE_REDIS_UNAVAILABLE,      /* not connected, the connection was lost, or an error reply */
    FAILURE_REDIS_TIMEOUT,          /* no reply within redis.timeout_ms */
    /* an answer of /v1/alternatives: */
    FAILURE_ALTERNATIVES_TIMEOUT,   /* the deadline came while candidates were being looked up */
    FAILURE_ALTERNATIVES_INCOMPLETE,/* a candidate lookup or search failed: fewer were looked at */
    FAILURE_TOUCHPOINT_NOT_LOGGED,  /* the answer went out, its touchpoint was not written */
    /* a write of the ingest engine: */
    FAILURE_WRITE_UNCONFIRMED,      /* not confirmed within redis.timeout_ms; may yet be applied */
    FAILURE_WRITE_CONFLICT,         /* other writers kept changing the histories; nothing applied */
    FAILURE_SHUTTING_DOWN,          /* onloand stopped before it was done */
    /* onloand itself: */
    FAILURE_OUT_OF_MEMORY,
    FAILURE_COUNT
};

/* The name clients see ("catalogue_timeout", ...); "none" for FAILURE_NONE. */
const char *failure_name(enum failure f);

/* A set of failures (an answer's degraded list), as bits. */
typedef unsigned failure_set;
#define FAILURE_BIT(f) (1u << (f))

#endif
