/* store.h: Redis through async hiredis on the daemon's event loop.
 *
 * Every operation has a deadline (redis.timeout_ms) of our own, since
 * hiredis 0.14 has no async timeouts. While Redis is down, operations fail
 * at once (from the loop, never inside store_exec) and the store reconnects
 * in the background. A callback gets the reply or NULL with a reason. */
#ifndef ONLOAN_STORE_H
#define ONLOAN_STORE_H

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stddef.h>

#include "config.h"

struct store;
struct store_op;

/* One command's arguments, binary safe. Copied arguments are packed into
 * blocks that the command owns (a touchpoint's XADD of 22 arguments is two
 * allocations, not 22); argv[i] stays where it is until rcmd_free. */
struct rcmd_block;
struct rcmd {
    int argc, cap;
    char **argv;
    size_t *len;
    struct rcmd_block *blocks;  /* the copies, newest first */
    char **taken;               /* what rcmd_take handed over */
    int ntaken, captaken;
};
int rcmd_add(struct rcmd *c, const char *s, size_t n);
int rcmd_addstr(struct rcmd *c, const char *s);
/* a, b and d one after the other as one argument (a prefixed key). */
int rcmd_addjoin(struct rcmd *c, const char *a, const char *b, const char *d);
/* Adds s (n bytes, malloc'd) without copying it: c owns it from now on,
 * even when this fails. */
int rcmd_take(struct rcmd *c, char *s, size_t n);
int rcmd_addf(struct rcmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rcmd_free(struct rcmd *c);

/* reply is borrowed for the call; when it is NULL, error says why:
 * "redis_unavailable" or "redis_timeout". An error reply from Redis is
 * passed as a reply of type REDIS_REPLY_ERROR. */
typedef void store_cb(redisReply *reply, const char *error, void *arg);

struct store *store_new(struct event_base *base, const struct config *cfg);
void store_free(struct store *st);
int store_connected(const struct store *st);

/* A store that only listens: on every connection it makes it sends
 * SUBSCRIBE channel; message(payload, len, arg) for each message on it,
 * listening(1, arg) once the subscription is confirmed and listening(0,
 * arg) when that connection goes (it reconnects and subscribes again).
 * Not for store_send. NULL when out of memory. */
typedef void store_message_cb(const char *payload, size_t len, void *arg);
typedef void store_listening_cb(int listening, void *arg);
struct store *store_subscriber_new(struct event_base *base, const struct config *cfg,
                                   const char *channel, store_message_cb *message,
                                   store_listening_cb *listening, void *arg);

/* Sends one command, or several as one MULTI/EXEC transaction whose
 * callback gets EXEC's array reply. Returns a handle for store_op_cancel
 * (never NULL: failures are reported through cb). */
struct store_op *store_exec(struct store *st, struct rcmd *cmds, size_t ncmds,
                            store_cb *cb, void *arg);
/* For writes whose outcome must be known: cb gets the real reply, however
 * late (or "redis_unavailable" when the connection is lost first): a
 * command that took too long has usually not failed, only waited, and
 * will still be applied. late (may be NULL) is called once if
 * redis.timeout_ms passes first, to answer whoever cannot wait. */
typedef void store_late_cb(void *arg);
struct store_op *store_exec_sure(struct store *st, struct rcmd *cmds, size_t ncmds,
                                 store_cb *cb, store_late_cb *late, void *arg);
/* store_exec and store_exec_sure with flags: STORE_SURE makes it the
 * latter; STORE_ARRAY sends even one command as MULTI/EXEC, so that the
 * reply is always EXEC's array, one element per command. */
#define STORE_SURE 1u
#define STORE_ARRAY 2u
struct store_op *store_send(struct store *st, struct rcmd *cmds, size_t ncmds, unsigned flags,
                            store_cb *cb, store_late_cb *late, void *arg);
/* cb will not be called; safe until the callback has run. */
void store_op_cancel(struct store_op *op);

#endif
