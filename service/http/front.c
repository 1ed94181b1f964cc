/* front.c: see front.h.
 *
 * How a connection is followed with libevent 2.1's public API:
 *
 * 1. evhttp calls front_bufferevent (its bevcb) for each connection it
 *    accepts, before it reads a byte: we make the socket bufferevent it
 *    would have made, count the connection (at the cap the listener is
 *    disabled, and libevent's accept loop stops when its callback did
 *    that), hold a reference to the bufferevent, and queue the
 *    connection for front_adopt, an event made active at once.
 * 2. front_adopt runs in the same pass of the loop, after the accepts
 *    and before the new sockets can be polled. By then evhttp has made
 *    its evhttp_connection, and it is the argument of the callbacks it
 *    set on our bufferevent (bufferevent_getcb): that is how 2.1's evhttp
 *    sets them up, which the version check below pins. We give the
 *    connection a close callback, which evhttp calls whenever it frees
 *    it, and drop our reference. A bufferevent without callbacks any
 *    more was freed (or left unused) by evhttp already: that connection
 *    is over. Only a reference we hold keeps its memory until we look.
 * 3. A callback on the bufferevent's input buffer sees a request's first
 *    bytes arrive (the read deadline is armed); front_request sees the
 *    request complete (disarmed). At the deadline the socket is shut
 *    down: evhttp reads EOF and frees the connection as when a client
 *    goes away (a request a handler holds is detached, as then).
 *
 * Why not a filter bufferevent (bufferevent_filter_new), which gives
 * these hooks directly: evhttp takes a filter's output as written once
 * the filter has passed it on, not once the socket has, and frees the
 * connection of a "Connection: close" response then, so the client gets
 * nothing of it (tried: 0 of 100,000 bytes). */
#include "http/front.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/ptr_table.h"
#include "http/reply.h"

#if LIBEVENT_VERSION_NUMBER < 0x02010000 || LIBEVENT_VERSION_NUMBER >= 0x02020000
#error "front.c finds evhttp's connection from its bufferevent as libevent 2.1 sets it up: check that (2.2 has evhttp_set_newreqcb)"
#endif

/* At most one "at the cap" line a minute, however often it is reached. */
#define FRONT_CAP_LOG_MS 60000

struct conn {
    struct front *f;
    struct bufferevent *bev;
    struct evbuffer_cb_entry *input_cb;
    struct event *deadline;
    int reading;                    /* the deadline is armed */
    int answering;                  /* a request was read and its answer not written yet
                                     * (evhttp 2.1 takes one at a time per connection) */
    uint64_t request_us;            /* when it was read (monotonic_us) */
    struct front_watch *watch;      /* the request's client watched (front_watch), or NULL */
    struct conn *next;              /* while waiting for front_adopt */
};

/* The caller's (front_watch .. front_unwatch); c is NULL once the
 * connection or the watch ended. */
struct front_watch {
    struct conn *c;
    struct event *ev;               /* the socket readable: one shot */
    front_gone_cb *gone;
    void *arg;
};

struct front {
    struct event_base *base;
    struct front_config cfg;        /* its strings are the copies below */
    char *name, *host, *unlimited_path;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    struct evconnlistener *listener;    /* NULL once stopped */
    front_route_cb *route;
    void *route_arg;
    struct ptr_table *conns;        /* evhttp_connection -> struct conn */
    struct conn *adopting;
    struct event *adopt;
    struct event *backoff;          /* accepting resumes after an accept error */
    const struct timeval *read_timeout;     /* a common timeout: O(1) to arm */
    int enabled, at_cap, backing_off;
    uint64_t cap_logged_ms;
    struct front_stats stats;
    struct front *next_front;       /* in fronts */
};

/* Every front of the process (the daemon has one or two): the one piece
 * of state kept outside them, because libevent gives a listener's error
 * callback only the argument of its accept callback, which
 * evhttp_bind_listener took for its own (the evhttp): accept_failed
 * finds its front here by the listener. */
static struct front *fronts;

static void accepting_update(struct front *f)
{
    int want = f->listener && !f->at_cap && !f->backing_off;
    if (!f->listener || want == f->enabled)
        return;
    f->enabled = want;
    if (want)
        evconnlistener_enable(f->listener);
    else
        evconnlistener_disable(f->listener);
}

static void arm(struct conn *c)
{
    if (!c->reading) {
        c->reading = 1;
        event_add(c->deadline, c->f->read_timeout);
    }
}

static void disarm(struct conn *c)
{
    if (c->reading) {
        c->reading = 0;
        event_del(c->deadline);
    }
}

static void conn_free(struct conn *c)
{
    if (c->deadline)
        event_free(c->deadline);
    free(c);
}

/* c is no longer followed (its bufferevent, still there, has c's input
 * callback taken off first): out of the count, and freed. */
static void conn_end(struct conn *c)
{
    struct front *f = c->f;
    conn_free(c);
    f->stats.open--;
    if (f->at_cap && f->stats.open < f->cfg.max_connections) {
        f->at_cap = 0;
        accepting_update(f);
    }
}

static void conn_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    (void)buf;
    if (info->n_added)
        arm(arg);
}

static void conn_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct conn *c = arg;
    int s = bufferevent_getfd(c->bev);
    c->reading = 0;
    c->f->stats.cut++;
    log_msg(LOG_DEBUG, "%s: a request not read within %d ms: its connection is shut down",
            c->f->name, c->f->cfg.read_timeout_ms);
    if (s >= 0)
        shutdown(s, SHUT_RDWR);
}

/* The watch ends (gone is not called): its event is off the socket,
 * which may close next. */
static void watch_detach(struct front_watch *w)
{
    if (w->c)
        w->c->watch = NULL;
    w->c = NULL;
    event_del(w->ev);
}

/* evhttp frees the connection (whoever ended it). */
static void conn_closed(struct evhttp_connection *evcon, void *arg)
{
    struct conn *c = arg;
    if (c->watch)
        watch_detach(c->watch);
    if (c->answering)
        c->f->stats.abandoned++;
    ptr_table_del(c->f->conns, evcon);
    evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->input_cb);
    conn_end(c);
}

static struct bufferevent *front_bufferevent(struct event_base *base, void *arg)
{
    struct front *f = arg;
    struct conn *c = calloc(1, sizeof *c);
    struct bufferevent *bev = c ? bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE) : NULL;
    if (!bev || !(c->deadline = evtimer_new(base, conn_deadline, c)) ||
        !(c->input_cb = evbuffer_add_cb(bufferevent_get_input(bev), conn_input, c))) {
        if (bev)
            bufferevent_free(bev);
        if (c)
            conn_free(c);
        f->stats.untracked++;
        log_msg(LOG_WARN, "%s: out of memory: a connection is taken without its limits", f->name);
        return NULL;            /* evhttp makes a bufferevent of its own */
    }
    c->f = f;
    c->bev = bev;
    bufferevent_incref(bev);    /* until front_adopt has looked */
    c->next = f->adopting;
    f->adopting = c;
    event_active(f->adopt, EV_TIMEOUT, 1);
    f->stats.accepted++;
    if (++f->stats.open >= f->cfg.max_connections && !f->at_cap) {
        f->at_cap = 1;
        f->stats.at_cap++;
        accepting_update(f);
        uint64_t now = monotonic_ms();
        if (!f->cap_logged_ms || now - f->cap_logged_ms >= FRONT_CAP_LOG_MS) {
            f->cap_logged_ms = now;
            log_msg(LOG_WARN, "%s: %zu connections open (limits.max_connections): not accepting "
                    "more until one closes (logged once a minute at most)", f->name,
                    f->stats.open);
        }
    }
    return bev;
}

static void front_adopt(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct front *f = arg;
    struct conn *c;
    while ((c = f->adopting)) {
        f->adopting = c->next;
        c->next = NULL;
        bufferevent_event_cb errorcb = NULL;
        void *evcon = NULL;
        bufferevent_getcb(c->bev, NULL, NULL, &errorcb, &evcon);
        int alive = errorcb && evcon;
        if (!alive || evhttp_connection_get_bufferevent(evcon) != c->bev ||
            ptr_table_put(f->conns, evcon, c) < 0) {
            struct bufferevent *bev = c->bev;
            if (alive)
                f->stats.untracked++;
            evbuffer_remove_cb_entry(bufferevent_get_input(bev), c->input_cb);
            conn_end(c);
            bufferevent_decref(bev);        /* (freed now, when evhttp freed it) */
            continue;
        }
        evhttp_connection_set_closecb(evcon, conn_closed, c);
        bufferevent_decref(c->bev);         /* evhttp's reference remains */
        arm(c);
    }
}

static void backoff_over(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct front *f = arg;
    f->backing_off = 0;
    accepting_update(f);
}

/* accept() failed, other than "try again" (libevent's listener would try
 * again at once, and again: the socket stays readable): most likely out
 * of descriptors (EMFILE, ENFILE) or memory. */
static void accept_failed(struct evconnlistener *lev, void *arg)
{
    (void)arg;                  /* the evhttp */
    int err = EVUTIL_SOCKET_ERROR();
    struct front *f = fronts;
    while (f && f->listener != lev)
        f = f->next_front;
    if (!f) {                   /* cannot be: accept_failed is set on fronts' listeners only */
        evconnlistener_disable(lev);
        return;
    }
    struct timeval tv = {0, FRONT_ACCEPT_BACKOFF_MS * 1000};
    f->stats.accept_errors++;
    log_msg(LOG_WARN, "%s: cannot accept a connection: %s; not accepting for %d ms", f->name,
            evutil_socket_error_to_string(err), FRONT_ACCEPT_BACKOFF_MS);
    f->backing_off = 1;
    accepting_update(f);
    evtimer_add(f->backoff, &tv);
}

static int unlimited(const struct front *f, struct evhttp_request *req)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    return f->unlimited_path && path && strcmp(path, f->unlimited_path) == 0;
}

/* -1 when the request was answered: 429, or 503 for want of memory. */
static int rate_admit(struct front *f, struct evhttp_request *req,
                      struct evhttp_connection *evcon)
{
    char *peer = NULL;
    ev_uint16_t port = 0;
    unsigned after = 0;
    evhttp_connection_get_peer(evcon, &peer, &port);
    switch (rate_limit_take(f->cfg.rate, peer ? peer : "", monotonic_ms(), &after)) {
    case RATE_OK:
        return 0;
    case RATE_NO_MEMORY:
        http_reply_unavailable(req, HTTP_NO_MEMORY);
        return -1;
    case RATE_LIMITED:
        break;
    }
    char secs[16], msg[96];
    snprintf(secs, sizeof secs, "%u", after);
    snprintf(msg, sizeof msg, "too many requests from this address; try again in %u s", after);
    f->stats.rate_limited++;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", secs);
    http_reply_error(req, 429, NULL, msg);
    return -1;
}

/* evhttp has written req's answer (its on_complete callback; not called
 * for a request whose connection went first: conn_closed counts that).
 * The connection, and so c, is still there. */
static void request_answered(struct evhttp_request *req, void *arg)
{
    struct conn *c = arg;
    struct front *f = c->f;
    c->answering = 0;
    if (c->watch)
        watch_detach(c->watch);     /* the client has its answer: no more to watch */
    if (f->cfg.answered)
        f->cfg.answered(req, evhttp_request_get_response_code(req),
                        (double)(monotonic_us() - c->request_us) / 1e6, f->route_arg);
}

static void front_request(struct evhttp_request *req, void *arg)
{
    struct front *f = arg;
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct conn *c = ptr_table_get(f->conns, evcon);
    if (c) {
        disarm(c);
        if (evbuffer_get_length(bufferevent_get_input(c->bev)))
            arm(c);             /* the next request has begun already (pipelined) */
        c->answering = 1;
        c->request_us = monotonic_us();
        evhttp_request_set_on_complete_cb(req, request_answered, c);
    }
    if (f->cfg.rate && evcon && !unlimited(f, req) && rate_admit(f, req, evcon) < 0)
        return;
    if (evbuffer_get_length(evhttp_request_get_input_buffer(req)) > f->cfg.max_body) {
        char msg[96];
        snprintf(msg, sizeof msg, "body larger than %zu bytes, the most %s takes", f->cfg.max_body,
                 f->name);
        f->stats.too_large++;
        http_reply_error(req, 413, "body", msg);
        return;
    }
    f->route(req, f->route_arg);
}

struct front *front_new(struct event_base *base, const struct front_config *cfg,
                        front_route_cb *route, void *arg, struct strbuf *err)
{
    struct front *f = calloc(1, sizeof *f);
    if (!f) {
        strbuf_puts(err, "out of memory");
        return NULL;
    }
    f->base = base;
    f->cfg = *cfg;
    f->route = route;
    f->route_arg = arg;
    f->name = strdup(cfg->name);
    f->host = strdup(cfg->host);
    f->unlimited_path = cfg->unlimited_path ? strdup(cfg->unlimited_path) : NULL;
    f->cfg.name = f->name;
    f->cfg.host = f->host;
    f->cfg.unlimited_path = f->unlimited_path;
    struct timeval tv = {cfg->read_timeout_ms / 1000, (cfg->read_timeout_ms % 1000) * 1000};
    if (!f->name || !f->host || (cfg->unlimited_path && !f->unlimited_path) ||
        !(f->conns = ptr_table_new(cfg->max_connections)) ||
        !(f->adopt = event_new(base, -1, 0, front_adopt, f)) ||
        !(f->backoff = evtimer_new(base, backoff_over, f)) ||
        !(f->read_timeout = event_base_init_common_timeout(base, &tv)) ||
        !(f->http = evhttp_new(base))) {
        strbuf_puts(err, "out of memory");
        front_free(f);
        return NULL;
    }
    f->stats.max = cfg->max_connections;
    /* Bodies a little over max_body are read, to be refused with a JSON
     * 413; libevent refuses larger ones before reading them. */
    evhttp_set_max_body_size(f->http, (ev_ssize_t)(cfg->max_body + HTTP_BODY_SLACK_BYTES));
    evhttp_set_max_headers_size(f->http, (ev_ssize_t)cfg->max_header_bytes);
    evhttp_set_timeout(f->http, cfg->idle_timeout_s);
    evhttp_set_allowed_methods(f->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                        EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS);
    evhttp_set_bevcb(f->http, front_bufferevent, f);
    evhttp_set_gencb(f->http, front_request, f);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->port)};
    struct evconnlistener *lev = NULL;
    if (inet_pton(AF_INET, cfg->host, &sin.sin_addr) != 1 ||
        !(lev = evconnlistener_new_bind(base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE |
                                        LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE, cfg->backlog,
                                        (struct sockaddr *)&sin, sizeof sin)) ||
        !(f->bound = evhttp_bind_listener(f->http, lev))) {
        strbuf_printf(err, "%s: cannot listen on %s:%d: %s", cfg->name, cfg->host, cfg->port,
                      strerror(errno));
        if (lev && !f->bound)
            evconnlistener_free(lev);
        front_free(f);
        return NULL;
    }
    f->listener = lev;
    f->enabled = 1;
    f->next_front = fronts;
    fronts = f;
    evconnlistener_set_error_cb(f->listener, accept_failed);
    return f;
}

void front_stop_accepting(struct front *f)
{
    if (!f || !f->listener)
        return;
    evhttp_del_accept_socket(f->http, f->bound);
    f->bound = NULL;
    f->listener = NULL;
    f->enabled = 0;
    event_del(f->backoff);
}

void front_free(struct front *f)
{
    if (!f)
        return;
    for (struct front **p = &fronts; *p; p = &(*p)->next_front) {
        if (*p == f) {
            *p = f->next_front;
            break;
        }
    }
    f->listener = NULL;         /* evhttp_free frees it first, then the connections */
    if (f->http)
        evhttp_free(f->http);   /* every adopted connection's close callback runs */
    if (f->adopt)
        front_adopt(-1, 0, f);  /* those not adopted yet are over too */
    if (f->adopt)
        event_free(f->adopt);
    if (f->backoff)
        event_free(f->backoff);
    ptr_table_free(f->conns);
    free(f->name);
    free(f->host);
    free(f->unlimited_path);
    free(f);
}

/* A watched request's socket is readable: its client closed it (a read
 * would give EOF), reset it (an error), or sent more (its next request:
 * it is still there, and the watch ends). */
static void watch_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct front_watch *w = arg;
    struct conn *c = w->c;
    char byte;
    ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        if (event_add(w->ev, NULL) == 0)
            return;             /* nothing there after all: watched on */
        n = 1;                  /* cannot watch on: the watch ends */
    }
    watch_detach(w);
    if (n > 0)
        return;
    c->f->stats.gone++;
    log_msg(LOG_DEBUG, "%s: a client left before its answer: its connection is shut down",
            c->f->name);
    /* evhttp reads nothing now; it finds the socket shut down when it
     * writes the answer, and frees the connection (abandoned) */
    shutdown(fd, SHUT_RDWR);
    w->gone(w->arg);
}

struct front_watch *front_watch(struct front *f, struct evhttp_request *req, front_gone_cb *gone,
                                void *arg)
{
    struct evhttp_connection *evcon = f ? evhttp_request_get_connection(req) : NULL;
    struct conn *c = evcon ? ptr_table_get(f->conns, evcon) : NULL;
    int fd = c ? bufferevent_getfd(c->bev) : -1;
    if (!c || !c->answering || c->watch || fd < 0)
        return NULL;
    struct front_watch *w = calloc(1, sizeof *w);
    if (!w || !(w->ev = event_new(f->base, fd, EV_READ, watch_readable, w)) ||
        event_add(w->ev, NULL) < 0) {
        front_unwatch(w);
        return NULL;
    }
    w->c = c;
    w->gone = gone;
    w->arg = arg;
    c->watch = w;
    return w;
}

void front_unwatch(struct front_watch *w)
{
    if (!w)
        return;
    if (w->ev) {
        watch_detach(w);
        event_free(w->ev);
    }
    free(w);
}

void front_get_stats(const struct front *f, struct front_stats *st)
{
    *st = f->stats;
    st->accepting = f->enabled;
}
