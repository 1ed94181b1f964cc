/* server.h: the daemon's one state struct: the map of the program.
 *
 * Request path (http/alternatives.c reads top-down in this order):
 *   http/front.c (a listener's connections and their limits) ->
 *   http/router.c -> http/params.c -> http/kept_answers.c (an answer kept
 *   from before) -> catalogue/catalogue.c (the record and its copies) with
 *   model/model.c (its co-occurring titles, from Redis) -> candidates in
 *   rounds -> model/recommend.c (the alternatives) -> http/answer.c (the
 *   JSON) -> redis/touchpoint_log.c (the touchpoint) -> http/reply.c.
 *   redis/forget_feed.c drops the kept answers of a forgotten patron.
 *   With Redis Sentinel, redis/sentinel_watch.c moves every Redis client
 *   to the primary.
 *
 * Loan events (loans and holds): http/router.c -> http/loans.c ->
 *   ingest/loan_event.c (checked, pseudonymised) -> ingest/ingest.c (jobs
 *   per patron) -> ingest/ingest_write.c (histories, loans only) ->
 *   ingest/ingest_attribution.c (the touchpoints they follow, counted
 *   with redis/touchpoint_log.c) -> ingest/ingest_flush.c (pair and
 *   record counts) -> redis/redis_client.c; model/compact.c keeps the
 *   lists short in the background.
 *
 * A forget: http/patrons.c (or the CLI) -> ingest/ingest.c (after the
 *   patron's jobs) -> ingest/ingest_forget.c (their keys deleted, their
 *   counts taken back) -> redis/forget_feed.c in every onloand ->
 *   server_patron_forgotten.
 *
 * GET /metrics: http/router.c -> http/metrics.c (http/http_metrics.c:
 *   what the router, alternatives.c and loans.c count; the rest from each
 *   module's stats) -> core/prom_text.c.
 *
 * The OPAC widget, the kiosk's page, the marketing dashboard (with
 *   Debian's Chart.js) and /openapi.json (docs/): http/router.c ->
 *   http/assets.c (web/, built in by web/embed.sh). The kiosk's receipt:
 *   alternatives.c -> http/receipt.c (core/text_wrap.c); its QR code:
 *   http/router.c -> http/qr.c (the touchpoint read back, core/qr_image.c). */
#ifndef ONLOAN_SERVER_H
#define ONLOAN_SERVER_H

#include <event2/event.h>
#include <event2/http.h>

#include "catalogue/catalogue.h"
#include "catalogue/link.h"
#include "core/config.h"
#include "core/strbuf.h"
#include "http/front.h"
#include "http/http_metrics.h"
#include "http/kept_answers.h"
#include "http/rate_limit.h"
#include "ingest/ingest.h"
#include "model/compact.h"
#include "model/model.h"
#include "redis/forget_feed.h"
#include "redis/redis_client.h"
#include "redis/rollup.h"
#include "redis/sentinel_watch.h"
#include "core/token.h"
#include "redis/spool.h"
#include "redis/touchpoint_batch.h"

struct server {
    struct event_base *base;
    const struct config *cfg;       /* borrowed from main */
    struct catalogue **catalogues;  /* parallel to cfg->catalogues */
    struct link **links;            /* likewise */
    struct redis_client *redis;     /* answers, touchpoints, ingest jobs */
    struct redis_client *redis_bulk;    /* pair count flushes, compaction: a connection
                                         * of their own */
    struct sentinel_watch *sentinels;   /* with redis.sentinels: moves the three Redis
                                         * clients (these and the forget feed's) to the
                                         * primary; else NULL */
    struct model *model;
    struct ingest *ingest;          /* loan events into the model */
    struct compactor *compactor;    /* keeps co-occurrence lists to top K */
    struct ttl_cache *answers;      /* kept answers, see kept_answers.h */
    struct ttl_cache *patron_answers;   /* those made with patron=: one patron's each, so
                                         * kept apart, where they cannot crowd out the
                                         * answers every OPAC user gets */
    struct forget_feed *forget_feed;    /* forgets from any onloand or the CLI */
    unsigned long long forgets;     /* forgets heard (a request that saw this
                                     * change keeps no patron answer) */
    struct front *front;            /* listen: the open network (http/front.h) */
    struct front *ingest_front;     /* listen_ingest: larger bodies, no rate limit; or NULL */
    struct rate_limit *rate;        /* limits.per_client_rps on front, or NULL (0: off) */
    size_t max_connections;         /* per listener: limits.max_connections, or fewer
                                     * if RLIMIT_NOFILE's hard limit is lower */
    size_t pending_requests;
    unsigned long long requests;
    struct http_metrics *http_metrics;  /* requests, answers, loan events (/metrics) */
    time_t started_unix;            /* when server_start ran: /metrics */
    uint64_t started_ms;            /* the same on the monotonic clock */
    struct spool *spool;            /* touchpoints and outcomes on their way to Redis */
    struct touchpoint_batch *touchpoints;   /* this pass's, gathered for the spool */
    struct token_key token_key;     /* touchpoints.token_key, keyed once */
    struct ttl_cache *recent_touchpoints;   /* this daemon's of the last hour
                                             * (recent_touchpoints.h) */
    struct {
        time_t at;                  /* the second these were worked out for */
        char day[RU_DAY_BYTES + 1]; /* YYYYMMDD, local time */
        char date[11];              /* YYYY-MM-DD, the same day */
    } today;
    uint64_t draws;                 /* a per-daemon xorshift for units without an id */
    int drained;                    /* the last flush at a stop is over */
};

/* Sets up catalogues, plugins, Redis and the listening socket. Returns -1
 * with the reason in err (and leaves nothing to clean up but server_stop). */
int server_start(struct server *srv, struct event_base *base, const struct config *cfg,
                 struct strbuf *err);
void server_stop(struct server *srv);
/* Before a stop: takes no new connections, lets the loan jobs in flight
 * finish, then writes the pending pair counts; runs the loop until that
 * is done or redis.timeout_ms has passed three times. */
void server_drain(struct server *srv);

/* A patron was forgotten (pseudonym), or any may have been (NULL): the
 * answers kept for them go, and patron answers being built now are not
 * kept (their history may have been read before the forget); the model
 * reads and the answers kept without patron= go too (the forget takes
 * the patron's counts back, and says so again once it has; other
 * patrons' kept answers run out within model.cache_ms). */
void server_patron_forgotten(struct server *srv, const char *pseudonym);
/* Patron answers may be kept: every forget from now on will be heard. */
int server_keeps_patron_answers(const struct server *srv);

/* A request that will wait for Redis, the catalogue or the ingest engine
 * is counted in pending_requests from here until server_release. Returns
 * -1 after answering 503 when limits.max_pending_requests are pending
 * already. */
int server_admit(struct server *srv, struct evhttp_request *req);
void server_release(struct server *srv);
/* Watches req's client, on whichever listener took it (front_watch:
 * gone(arg) if it leaves before req is answered); NULL: not watched. */
struct front_watch *server_watch_client(struct server *srv, struct evhttp_request *req,
                                        front_gone_cb *gone, void *arg);

/* Today, local time, as YYYYMMDD (rollup days) and YYYY-MM-DD (config
 * dates): worked out once a second. */
const char *server_day(struct server *srv);
const char *server_date(struct server *srv);
/* A random draw, for an experiment's unit when the request names none. */
uint64_t server_draw(struct server *srv);

/* Index of the catalogue called name (NULL: the first), or -1. */
int server_catalogue_index(const struct server *srv, const char *name);

#endif
