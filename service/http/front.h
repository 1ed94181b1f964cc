/* front.h: one listening socket of the HTTP face and the connections it
 * takes, held to what the open network needs (issue 19, "Abuse"):
 *
 *   - at most max_connections open: at the cap the socket stops
 *     accepting (those that come wait in the kernel's backlog) until one
 *     closes; an accept that fails (EMFILE: out of descriptors) pauses
 *     accepting for FRONT_ACCEPT_BACKOFF_MS instead of retrying at once;
 *   - a total deadline, read_timeout_ms, for a request's headers and
 *     body, from the connection's accept and from the first byte of each
 *     later request, however slowly the bytes come (a slowloris): then
 *     the connection is shut down; idle_timeout_s still closes a
 *     connection idle between requests;
 *   - bodies over max_body are a JSON 413 (up to HTTP_BODY_SLACK_BYTES
 *     more are read for that; larger ones libevent refuses unread), so a
 *     listener of its own (listen_ingest) is where larger bodies go;
 *   - with a rate limiter, requests a second per client address: a 429
 *     with Retry-After (unlimited_path is not limited).
 *
 * The listening socket's backlog is the front's own (evhttp's is 128):
 * at the cap, or in a burst, that many connections wait in the kernel
 * rather than have their SYNs dropped (and retried a second later).
 *
 * Every request that passes goes to the route callback, as evhttp's gencb
 * would. Each request the front took (passed on or answered itself)
 * is timed from when it was read in full to when its answer has been
 * written to the socket, and then told to the answered callback, if
 * any (/metrics counts there); a request whose connection closed before
 * its answer was written is counted as abandoned instead. Requests
 * libevent refuses itself (malformed, headers too large, bodies over
 * the slack, methods it does not take) reach neither. libevent 2.1's evhttp has no hook per connection but the
 * callback that makes its bufferevent (evhttp_set_bevcb): front.c counts
 * and times connections from there (see front.c for how).
 *
 * A handler with long work for a request (a large report) may watch its
 * client (front_watch): evhttp 2.1 reads nothing from a connection while
 * its request waits for an answer, so it learns that the client left
 * only when it writes the answer, after all the work. */
#ifndef ONLOAN_HTTP_FRONT_H
#define ONLOAN_HTTP_FRONT_H

#include <event2/event.h>
#include <event2/http.h>
#include <stddef.h>

#include "core/strbuf.h"
#include "http/rate_limit.h"

/* How long accepting pauses after accept() fails. */
#define FRONT_ACCEPT_BACKOFF_MS 100

typedef void front_route_cb(struct evhttp_request *req, void *arg);
/* req's answer (status code) has been written, seconds after the
 * request was read; arg is the route callback's. req is libevent's,
 * valid for the call only. */
typedef void front_answered_cb(struct evhttp_request *req, int code, double seconds, void *arg);

struct front_config {
    const char *name;               /* the config key of the address: logs, /healthz */
    const char *host;               /* numeric IPv4 */
    int port;
    size_t max_connections;         /* >= 1 */
    int backlog;                    /* connections the kernel holds until accepted */
    size_t max_body;                /* largest body a route gets */
    int max_header_bytes;
    int idle_timeout_s;
    int read_timeout_ms;
    struct rate_limit *rate;        /* borrowed; NULL: not limited */
    const char *unlimited_path;     /* a path the rate limit skips (NULL: none) */
    front_answered_cb *answered;    /* NULL: requests are not timed */
};


struct front;

/* Listens on cfg's address (cfg is copied). NULL with the reason in err. */
struct front *front_new(struct event_base *base, const struct front_config *cfg,
                        front_route_cb *route, void *arg, struct strbuf *err);
/* Accepts no more connections (before a stop); those open go on. */
void front_stop_accepting(struct front *f);
/* Closes every connection (requests in flight are dropped: answer them
 * first) and frees f. */
void front_free(struct front *f);

/* A request's client gone before its answer (front_watch). */
typedef void front_gone_cb(void *arg);
struct front_watch;
/* Watches the connection of req (taken by f, and not answered yet) for
 * its client closing or resetting it: gone(arg) is called once, from the
 * loop, and the connection is shut down, so that the answer, which req
 * still needs (it frees req), goes nowhere and the request is counted
 * abandoned. Nothing is read: the socket is peeked at when it becomes
 * readable. Bytes there instead (the client's next request, pipelined)
 * end the watch without a call: that client has not left. The watch is
 * the caller's, freed by front_unwatch, before or after req is answered
 * (req itself is not touched then); a connection that ends first (the
 * front freed) only ends the watch. NULL when req is not f's (another
 * front's, a connection taken without limits), is watched already, or
 * out of memory: not watched. */
struct front_watch *front_watch(struct front *f, struct evhttp_request *req, front_gone_cb *gone,
                                void *arg);
/* gone will not be called; w (may be NULL) is freed. */
void front_unwatch(struct front_watch *w);

struct front_stats {
    size_t open;                    /* connections open now */
    size_t max;                     /* max_connections */
    int accepting;                  /* not at the cap, not paused, not stopped */
    unsigned long long accepted;
    unsigned long long at_cap;      /* times accepting paused at the cap */
    unsigned long long accept_errors;   /* accept() failures (each pauses accepting) */
    unsigned long long cut;         /* shut down at read_timeout_ms */
    unsigned long long too_large;   /* bodies over max_body refused (JSON 413) */
    unsigned long long rate_limited;    /* 429s */
    unsigned long long untracked;   /* connections taken without limits (out of memory);
                                     * their requests are not timed */
    unsigned long long abandoned;   /* requests whose connection closed before their
                                     * answer was written */
    unsigned long long gone;        /* of them, watched ones whose client was seen to
                                     * leave before the answer (front_watch) */
};
void front_get_stats(const struct front *f, struct front_stats *st);

#endif
