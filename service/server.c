/* server.c: bringing the daemon's parts up and down; see server.h. */
#include "server.h"

#include <errno.h>
#include <stdlib.h>
#include <sodium.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/fd_limit.h"
#include "core/log.h"
#include "core/ttl_cache.h"
#include "http/recent_touchpoints.h"
#include "http/reply.h"
#include "http/router.h"

void server_patron_forgotten(struct server *srv, const char *pseudonym)
{
    kept_answers_forget_patron(srv->patron_answers, pseudonym);
    /* their counts are taken back (ingest_forget.c): no answer or model
     * read from before may show them for the rest of its cache_ms */
    kept_answers_drop_all(srv->answers);
    model_cache_drop(srv->model);
    srv->forgets++;
}

int server_keeps_patron_answers(const struct server *srv)
{
    return forget_feed_listening(srv->forget_feed);
}

static void forgotten_heard(const char *pseudonym, void *arg)
{
    server_patron_forgotten(arg, pseudonym);
}

/* Descriptors beyond the connections: the catalogues' (two each while
 * ZOOM connects: a resolver pipe, then the socket), Redis's three, the
 * listeners, the loop's own, stdio, the log, plugins being loaded. */
static unsigned long long fds_reserved(const struct config *cfg)
{
    unsigned long long n = 64;
    for (size_t i = 0; i < cfg->ncatalogues; i++)
        n += 2 * (unsigned long long)cfg->catalogues[i].connections;
    return n;
}

/* Raises RLIMIT_NOFILE's soft limit to fit limits.max_connections on
 * every listener, with fds_reserved() to spare. Where the hard limit is
 * lower, each listener takes fewer connections (said once, at start); a
 * hard limit that leaves none is an error. */
static int fit_fd_limit(struct server *srv, struct strbuf *err)
{
    const struct config *cfg = srv->cfg;
    unsigned long long listeners = cfg->listen_ingest_host ? 2 : 1;
    unsigned long long reserved = fds_reserved(cfg), got, hard;
    unsigned long long want = listeners * (unsigned long long)cfg->max_connections + reserved;
    srv->max_connections = (size_t)cfg->max_connections;
    if (fd_limit_raise(want, &got, &hard) < 0) {
        strbuf_printf(err, "cannot read RLIMIT_NOFILE: %s", strerror(errno));
        return -1;
    }
    if (got >= want)
        return 0;
    if (got < reserved + listeners) {
        strbuf_printf(err, "RLIMIT_NOFILE is %llu (hard limit %llu): onloand needs %llu "
                      "descriptors, and %llu more for limits.max_connections (%d) on each "
                      "listener", got, hard, reserved, want - reserved, cfg->max_connections);
        return -1;
    }
    srv->max_connections = (size_t)((got - reserved) / listeners);
    log_msg(LOG_WARN, "RLIMIT_NOFILE's hard limit is %llu, below the %llu descriptors "
            "limits.max_connections (%d) needs: at most %zu connections per listener (raise "
            "the hard limit: LimitNOFILE= for systemd, nofile in limits.conf)", hard, want,
            cfg->max_connections, srv->max_connections);
    return 0;
}

int server_start(struct server *srv, struct event_base *base, const struct config *cfg,
                 struct strbuf *err)
{
    memset(srv, 0, sizeof *srv);
    srv->base = base;
    srv->started_unix = time(NULL);
    srv->started_ms = monotonic_ms();
    randombytes_buf(&srv->draws, sizeof srv->draws);
    srv->draws |= 1;                /* xorshift needs a state that is not 0 */
    srv->cfg = cfg;
    srv->catalogues = calloc(cfg->ncatalogues, sizeof *srv->catalogues);
    srv->links = calloc(cfg->ncatalogues, sizeof *srv->links);
    if (!srv->catalogues || !srv->links) {
        strbuf_puts(err, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < cfg->ncatalogues; i++) {
        const struct catalogue_config *cc = &cfg->catalogues[i];
        if (!(srv->links[i] = link_open(cfg->plugin_dir, cc->link, err))) {
            strbuf_printf(err, " (catalogue %s)", cc->name);
            return -1;
        }
        if (!(srv->catalogues[i] = catalogue_new(base, cc, err)))
            return -1;
    }
    if (!(srv->redis = redis_client_new(base, cfg)) || !(srv->redis_bulk = redis_client_new(base, cfg))) {
        strbuf_puts(err, "cannot set up the Redis client");
        return -1;
    }
    if (!(srv->model = model_new(srv->redis, cfg)) ||
        !(srv->ingest = ingest_new(base, srv->redis, srv->redis_bulk, cfg, 1)) ||
        !(srv->compactor = compactor_new(base, srv->redis_bulk, cfg, 1)) ||
        !(srv->answers = kept_answers_new((size_t)cfg->max_kept_answers)) ||
        !(srv->patron_answers = kept_answers_new((size_t)cfg->max_kept_patron_answers)) ||
        !(srv->forget_feed = forget_feed_new(base, cfg, forgotten_heard, srv)) ||
        !(srv->recent_touchpoints = recent_touchpoints_new((size_t)cfg->max_recent_touchpoints)) ||
        (cfg->per_client_rps &&
         !(srv->rate = rate_limit_new((unsigned)cfg->per_client_rps, (unsigned)cfg->per_client_burst,
                                      (size_t)cfg->rate_limit_clients)))) {
        strbuf_puts(err, "out of memory");
        return -1;
    }
    token_key_init(&srv->token_key, cfg->token_key);
    if (!(srv->spool = spool_new(base, srv->redis, cfg, err)))
        return -1;
    if (!(srv->touchpoints = touchpoint_batch_new(base, srv->spool, cfg))) {
        strbuf_puts(err, "out of memory");
        return -1;
    }
    if (cfg->nredis_sentinels &&
        (!(srv->sentinels = sentinel_watch_new(base, cfg)) ||
         sentinel_watch_add(srv->sentinels, srv->redis) < 0 ||
         sentinel_watch_add(srv->sentinels, srv->redis_bulk) < 0 ||
         sentinel_watch_add(srv->sentinels, forget_feed_client(srv->forget_feed)) < 0)) {
        strbuf_puts(err, "out of memory");
        return -1;
    }
    if (fit_fd_limit(srv, err) < 0)
        return -1;
    return router_start(srv, err);
}

/* Freed in an order no late callback can reach: nothing is asked of the
 * HTTP face or the catalogues any more (every request was answered or
 * dropped), so they go first; the Redis clients then answer whatever
 * they still hold, into the model, the ingest engine and the compactor,
 * which are still there and start nothing new (stopping); then those. */
void server_stop(struct server *srv)
{
    front_free(srv->front);
    front_free(srv->ingest_front);
    srv->front = srv->ingest_front = NULL;
    http_metrics_free(srv->http_metrics);
    srv->http_metrics = NULL;
    rate_limit_free(srv->rate);
    for (size_t i = 0; srv->cfg && i < srv->cfg->ncatalogues; i++) {
        if (srv->catalogues)
            catalogue_free(srv->catalogues[i]);
        if (srv->links)
            link_close(srv->links[i]);
    }
    free(srv->catalogues);
    free(srv->links);
    sentinel_watch_free(srv->sentinels);    /* moves nothing any more */
    forget_feed_free(srv->forget_feed);
    if (srv->ingest)
        ingest_abort(srv->ingest);
    if (srv->compactor)
        compactor_stop(srv->compactor);
    touchpoint_batch_free(srv->touchpoints);    /* into the spool */
    spool_free(srv->spool);         /* what still waits goes to its file */
    redis_client_free(srv->redis);
    redis_client_free(srv->redis_bulk);
    ttl_cache_free(srv->recent_touchpoints);
    ttl_cache_free(srv->answers);
    ttl_cache_free(srv->patron_answers);
    compactor_free(srv->compactor);
    ingest_free(srv->ingest);
    model_free(srv->model);
    memset(srv, 0, sizeof *srv);
}

/* The last flush is over (or the daemon is freed first: then srv is
 * still alive, since ingest_free runs before the server's own end). */
static void drained(enum failure error, void *arg)
{
    struct server *srv = arg;
    if (error)
        log_msg(LOG_WARN, "stopping: pending pair counts not written: %s",
                failure_name(error));
    srv->drained = 1;
}

static void heartbeat(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

/* Runs the loop a pass at a time (woken at least every 20 ms by beat)
 * while more(srv) and until ms have passed. */
static void run_while(struct server *srv, int (*more)(struct server *), uint64_t ms)
{
    uint64_t deadline = monotonic_ms() + ms;
    while (more(srv) && monotonic_ms() < deadline)
        event_base_loop(srv->base, EVLOOP_ONCE);
}

static int requests_pending(struct server *srv)
{
    return srv->pending_requests > 0;
}

static int ingest_busy(struct server *srv)
{
    return !ingest_idle(srv->ingest);
}

static int flush_or_compaction_busy(struct server *srv)
{
    return !srv->drained || !compactor_idle(srv->compactor);
}

static int spool_busy(struct server *srv)
{
    return !spool_idle(srv->spool);
}

static int always(struct server *srv)
{
    (void)srv;
    return 1;
}

void server_drain(struct server *srv)
{
    if (!srv->ingest)
        return;
    front_stop_accepting(srv->front);
    front_stop_accepting(srv->ingest_front);
    struct timeval tick = {0, 20000};
    struct event *beat = event_new(srv->base, -1, EV_PERSIST, heartbeat, NULL);
    if (!beat || event_add(beat, &tick) < 0) {
        log_msg(LOG_WARN, "stopping: cannot wait for requests in flight (out of memory)");
        if (beat)
            event_free(beat);
        ingest_abort(srv->ingest);
        return;
    }
    /* Every request in flight is answered: an alternatives request by its
     * deadline at the latest, one waiting on Redis by redis.timeout_ms;
     * what the ingest engine has not answered by request_timeout_ms is
     * answered "shutting_down" then. A last pass or two writes the
     * replies out. */
    run_while(srv, requests_pending, (uint64_t)srv->cfg->request_timeout_ms);
    ingest_abort(srv->ingest);
    run_while(srv, requests_pending, 100);
    if (srv->pending_requests)
        log_msg(LOG_WARN, "stopping: %zu requests not answered", srv->pending_requests);
    run_while(srv, always, 20);
    /* Touchpoints and outcomes still on their way are written while Redis
     * takes them; what is left stays in the spool's file, for the next
     * start (or is lost, without spool_dir: said so). */
    run_while(srv, spool_busy, 3 * (uint64_t)srv->cfg->redis_timeout_ms);
    struct spool_stats sst;
    spool_get_stats(srv->spool, &sst);
    if (sst.waiting + sst.in_flight)
        log_msg(LOG_WARN, "stopping: %zu touchpoint and outcome writes not in Redis yet%s",
                sst.waiting + sst.in_flight,
                srv->cfg->spool_dir ? ": kept in spool_dir for the next start" : ": lost (no spool_dir)");
    /* The loan events being applied finish, and the pair counts still held
     * are written, for at most three times redis.timeout_ms. */
    uint64_t ms = 3 * (uint64_t)srv->cfg->redis_timeout_ms, t0 = monotonic_ms();
    run_while(srv, ingest_busy, ms);
    ingest_flush(srv->ingest, drained, srv);
    compactor_stop(srv->compactor);     /* the round in flight finishes */
    run_while(srv, flush_or_compaction_busy, ms - (monotonic_ms() - t0 < ms ? monotonic_ms() - t0 : ms));
    if (!srv->drained || !ingest_idle(srv->ingest))
        log_msg(LOG_WARN, "stopping: loan events or pair counts still pending after %llu ms",
                (unsigned long long)ms);
    if (!compactor_idle(srv->compactor))
        log_msg(LOG_WARN, "stopping: a compaction round still in flight after %llu ms; its lists "
                "are compacted after their next counts", (unsigned long long)ms);
    event_free(beat);
}

int server_admit(struct server *srv, struct evhttp_request *req)
{
    if (srv->pending_requests >= (size_t)srv->cfg->max_pending_requests) {
        http_reply_unavailable(req, "too many requests in progress; try again shortly");
        return -1;
    }
    srv->pending_requests++;
    return 0;
}

void server_release(struct server *srv)
{
    srv->pending_requests--;
}

struct front_watch *server_watch_client(struct server *srv, struct evhttp_request *req,
                                        front_gone_cb *gone, void *arg)
{
    struct front_watch *w = front_watch(srv->front, req, gone, arg);
    return w ? w : front_watch(srv->ingest_front, req, gone, arg);
}

static void today(struct server *srv)
{
    time_t now = time(NULL);
    if (now == srv->today.at)
        return;
    srv->today.at = now;
    rollup_day(now, srv->today.day);
    memcpy(srv->today.date, srv->today.day, 4);
    srv->today.date[4] = '-';
    memcpy(srv->today.date + 5, srv->today.day + 4, 2);
    srv->today.date[7] = '-';
    memcpy(srv->today.date + 8, srv->today.day + 6, 2);
    srv->today.date[10] = '\0';
}

const char *server_day(struct server *srv)
{
    today(srv);
    return srv->today.day;
}

const char *server_date(struct server *srv)
{
    today(srv);
    return srv->today.date;
}

uint64_t server_draw(struct server *srv)
{
    uint64_t x = srv->draws;        /* xorshift64 */
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return srv->draws = x;
}

int server_catalogue_index(const struct server *srv, const char *name)
{
    for (size_t i = 0; i < srv->cfg->ncatalogues; i++)
        if (!name || strcmp(srv->cfg->catalogues[i].name, name) == 0)
            return (int)i;
    return -1;
}
