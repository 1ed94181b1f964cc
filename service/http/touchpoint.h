/* touchpoint.h: the touchpoint log in Redis streams.
 *
 * Every answer of /v1/alternatives is one entry of PREFIXtp (its stream id
 * is the touchpoint id); outcomes posted later go to PREFIXev. Both
 * streams are capped (redis.touchpoint_stream_max, approximate trimming). */
#ifndef ONLOAN_HTTP_TOUCHPOINT_H
#define ONLOAN_HTTP_TOUCHPOINT_H

#include <event2/http.h>

#include "redis/redis_client.h"

struct server;

struct touchpoint {
    const char *record, *catalogue, *status, *branch, *channel, *lang;
    const char *const *alternatives;
    size_t nalternatives;
};

/* Builds the XADD of one touchpoint (caller frees cmd with rcmd_free). */
int touchpoint_command(const struct server *srv, const struct touchpoint *tp, struct rcmd *cmd);

/* POST /v1/touchpoints/<id>/events (id already checked by params). */
void touchpoint_event_handle(struct server *srv, struct evhttp_request *req, const char *id);

/* Outcome types: shown, click, reserve, borrow, dismiss. */
int touchpoint_event_type_valid(const char *type);

#endif
