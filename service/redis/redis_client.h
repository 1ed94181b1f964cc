/* redis_client.h: Redis through async hiredis on the daemon's event loop.
 *
 * Every operation has a deadline (redis.timeout_ms) of our own, since
 * hiredis 0.14 has no async timeouts. While Redis is down, operations fail
 * at once (from the loop, never inside redis_exec) and the store reconnects
 * in the background. A callback gets the reply or NULL with a reason. */
#ifndef ONLOAN_REDIS_CLIENT_H
#define ONLOAN_REDIS_CLIENT_H

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stddef.h>

#include "core/config.h"
#include "core/failure.h"
#include "redis/rcmd.h"

struct redis_client;
struct redis_op;

/* reply is borrowed for the call; when it is NULL, error says why:
 * FAILURE_REDIS_UNAVAILABLE or FAILURE_REDIS_TIMEOUT. An error reply from
 * Redis is passed as a reply of type REDIS_REPLY_ERROR (error is
 * FAILURE_NONE). */
typedef void redis_cb(redisReply *reply, enum failure error, void *arg);

/* Connects to redis.address; with redis.sentinels to nothing until
 * redis_client_move names the primary (redis/sentinel_watch.h), and then
 * uses a connection only once ROLE says it is the primary. */
struct redis_client *redis_client_new(struct event_base *base, const struct config *cfg);
void redis_client_free(struct redis_client *st);
int redis_client_connected(const struct redis_client *st);
/* connected(arg) each time a new connection is up (the first one too;
 * with redis.sentinels once ROLE said primary), before any operation is
 * sent on it. One per client; cb NULL removes it. */
typedef void redis_connected_cb(void *arg);
void redis_client_on_connect(struct redis_client *st, redis_connected_cb *cb, void *arg);

/* Redis is at host:port now (a new primary): the connection to the old
 * address goes at once (its operations in flight fail, as with a lost
 * connection) and one to the new one is made. Nothing when it is there
 * already (but a reconnect is tried at once). */
void redis_client_move(struct redis_client *st, const char *host, int port);
/* The address used (NULL: not known yet); moves made. */
const char *redis_client_address(const struct redis_client *st, int *port);
unsigned long long redis_client_moves(const struct redis_client *st);

/* trouble(arg) when a connection fails, is lost or is not to the primary
 * (the Sentinels may know better): one per client (the Sentinel watch);
 * cb NULL removes it. */
typedef void redis_trouble_cb(void *arg);
void redis_client_on_trouble(struct redis_client *st, redis_trouble_cb *cb, void *arg);

/* What a client's operations came to (/metrics). An op is one
 * redis_send: a command, or a MULTI/EXEC transaction. */
struct redis_client_stats {
    unsigned long long ops;             /* sent, or failed at once for want of a connection */
    unsigned long long error_replies;   /* answered with an error reply (the whole reply) */
    unsigned long long unavailable;     /* failed: not connected, or the connection was lost */
    unsigned long long timeouts;        /* redis.timeout_ms passed first (for a sure op too,
                                         * which still waits for its reply) */
    unsigned long long connection_losses;   /* connects refused, and connections lost */
};
void redis_client_get_stats(const struct redis_client *st, struct redis_client_stats *out);

/* A store that only listens: on every connection it makes it sends
 * SUBSCRIBE channel; message(payload, len, arg) for each message on it,
 * listening(1, arg) once the subscription is confirmed and listening(0,
 * arg) when that connection goes (it reconnects and subscribes again).
 * Not for redis_send. NULL when out of memory. */
typedef void redis_message_cb(const char *payload, size_t len, void *arg);
typedef void redis_listening_cb(int listening, void *arg);
struct redis_client *redis_subscriber_new(struct event_base *base, const struct config *cfg,
                                   const char *channel, redis_message_cb *message,
                                   redis_listening_cb *listening, void *arg);

/* Sends one command, or several as one MULTI/EXEC transaction whose
 * callback gets EXEC's array reply. Returns a handle for redis_op_cancel;
 * failures of Redis are reported through cb (from the loop, never from
 * inside this call), and NULL means out of memory (or a client being
 * freed): cb will not be called. redis_client_free answers every op it
 * still has (FAILURE_REDIS_UNAVAILABLE) and frees it: no callback of its
 * comes later. */
struct redis_op *redis_exec(struct redis_client *st, struct rcmd *cmds, size_t ncmds,
                            redis_cb *cb, void *arg);
/* For writes whose outcome must be known: cb gets the real reply, however
 * late (or FAILURE_REDIS_UNAVAILABLE when the connection is lost first): a
 * command that took too long has usually not failed, only waited, and
 * will still be applied. late (may be NULL) is called once if
 * redis.timeout_ms passes first, to answer whoever cannot wait. */
typedef void redis_late_cb(void *arg);
struct redis_op *redis_exec_sure(struct redis_client *st, struct rcmd *cmds, size_t ncmds,
                                 redis_cb *cb, redis_late_cb *late, void *arg);
/* redis_exec and redis_exec_sure with flags: REDIS_SEND_SURE makes it the
 * latter; REDIS_SEND_ARRAY sends even one command as MULTI/EXEC, so that the
 * reply is always EXEC's array, one element per command.
 *
 * REDIS_SEND_CACHED, for one EVAL <body> ... sent often: the body is sent
 * once a connection (SCRIPT LOAD), then only its SHA1 (EVALSHA), which
 * spares Redis reading and hashing it each time. Until SCRIPT LOAD has
 * answered, and where the ACL refuses SCRIPT LOAD, it goes as EVAL. An
 * EVALSHA that Redis answers NOSCRIPT (SCRIPT FLUSH) or NOPERM (the ACL)
 * reaches cb as that error reply, and the script goes as EVAL again (and
 * is loaded again after NOSCRIPT): only for writes that are sent again
 * after such an error (spool.h's). At most REDIS_CACHED_SCRIPTS bodies a
 * client; others go as EVAL. */
#define REDIS_SEND_SURE 1u
#define REDIS_SEND_ARRAY 2u
#define REDIS_SEND_CACHED 4u
#define REDIS_CACHED_SCRIPTS 8
struct redis_op *redis_send(struct redis_client *st, struct rcmd *cmds, size_t ncmds, unsigned flags,
                            redis_cb *cb, redis_late_cb *late, void *arg);
/* cb will not be called; safe until the callback has run. */
void redis_op_cancel(struct redis_op *op);

#endif
