/* metrics.c: GET /metrics; see metrics.h.
 *
 * Names follow Prometheus' conventions: onloan_ first, counters end in
 * _total, units in the name (_seconds, _bytes), a gauge says what it
 * holds now. A family with a label per catalogue, Redis connection,
 * cache or listener has a sample for each, zeros included, so a rate()
 * has a series from the first scrape. */
#include "http/metrics.h"

#include <stdlib.h>
#include <time.h>

#include "core/clock.h"
#include "core/prom_text.h"
#include "core/ttl_cache.h"
#include "http/http_metrics.h"
#include "http/reply.h"
#include "server.h"

#ifndef ONLOAN_VERSION
#define ONLOAN_VERSION "unknown"
#endif

/* One family whose samples differ by one label: values[i] under
 * label=names[i]. */
static int family(struct strbuf *out, const char *name, const char *type, const char *help,
                  const char *label, const char *const *names, const uint64_t *values, size_t n)
{
    if (prom_family(out, name, type, help) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        struct prom_label l = {label, names[i]};
        if (prom_sample_u64(out, name, label ? &l : NULL, label ? 1 : 0, values[i]) < 0)
            return -1;
    }
    return 0;
}

/* A family of one sample without labels. */
static int single(struct strbuf *out, const char *name, const char *type, const char *help,
                  uint64_t value)
{
    return family(out, name, type, help, NULL, (const char *const[]){""}, &value, 1);
}

static int process_metrics(struct server *srv, struct strbuf *out)
{
    struct prom_label version = {"version", ONLOAN_VERSION};
    double uptime = (double)(monotonic_ms() - srv->started_ms) / 1000;
    if (prom_family(out, "onloan_build_info", "gauge", "The build of onloand: always 1.") < 0 ||
        prom_sample_u64(out, "onloan_build_info", &version, 1, 1) < 0 ||
        prom_family(out, "onloan_start_time_seconds", "gauge",
                    "When onloand started, in seconds since the Unix epoch.") < 0 ||
        prom_sample_double(out, "onloan_start_time_seconds", NULL, 0,
                           (double)srv->started_unix) < 0 ||
        prom_family(out, "onloan_uptime_seconds", "gauge",
                    "Seconds since onloand started.") < 0 ||
        prom_sample_double(out, "onloan_uptime_seconds", NULL, 0, uptime) < 0 ||
        single(out, "onloan_pending_requests", "gauge",
               "Requests waiting for Redis, the catalogue or the ingest engine "
               "(limits.max_pending_requests).", srv->pending_requests) < 0)
        return -1;
    return 0;
}

static int listener_metrics(struct server *srv, struct strbuf *out)
{
    const char *names[2] = {"listen", "listen_ingest"};
    struct front_stats st[2] = {{0}};
    size_t n = 0;
    if (srv->front)
        front_get_stats(srv->front, &st[n++]);
    if (srv->ingest_front)
        front_get_stats(srv->ingest_front, &st[n++]);
    else
        names[1] = NULL;
    uint64_t v[2] = {0};
#define PER_LISTENER(name, type, help, expr) \
    do { \
        for (size_t i_ = 0; i_ < n; i_++) \
            v[i_] = (uint64_t)st[i_].expr; \
        if (family(out, name, type, help, "listener", names, v, n) < 0) \
            return -1; \
    } while (0)
    PER_LISTENER("onloan_http_connections", "gauge", "HTTP connections open.", open);
    PER_LISTENER("onloan_http_connections_max", "gauge",
                 "HTTP connections a listener takes at most (limits.max_connections).", max);
    PER_LISTENER("onloan_http_connections_accepted_total", "counter",
                 "HTTP connections accepted.", accepted);
    PER_LISTENER("onloan_http_requests_abandoned_total", "counter",
                 "Requests whose connection closed before their answer was written.",
                 abandoned);
    PER_LISTENER("onloan_http_read_timeouts_total", "counter",
                 "Connections shut down at limits.read_timeout_ms.", cut);
    PER_LISTENER("onloan_http_rate_limited_total", "counter",
                 "Requests refused 429 by limits.per_client_rps.", rate_limited);
    PER_LISTENER("onloan_http_bodies_too_large_total", "counter",
                 "Request bodies refused 413.", too_large);
    PER_LISTENER("onloan_http_clients_gone_total", "counter",
                 "Of the requests abandoned, watched ones (reports) whose client was seen to "
                 "leave before the answer: their work given up.", gone);
#undef PER_LISTENER
    return 0;
}

static int catalogue_metrics(struct server *srv, struct strbuf *out)
{
    size_t n = srv->cfg->ncatalogues;
    struct catalogue_stats *st = calloc(n, sizeof *st);
    const char **names = calloc(n, sizeof *names);
    uint64_t *v = calloc(n, sizeof *v);
    int rc = st && names && v ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        catalogue_get_stats(srv->catalogues[i], &st[i]);
        names[i] = srv->cfg->catalogues[i].name;
    }
#define PER_CATALOGUE(name, type, help, field) \
    do { \
        for (size_t i_ = 0; rc == 0 && i_ < n; i_++) \
            v[i_] = (uint64_t)st[i_].field; \
        if (rc == 0) \
            rc = family(out, name, type, help, "catalogue", names, v, n); \
    } while (0)
    PER_CATALOGUE("onloan_catalogue_ids_looked_up_total", "counter",
                  "Record ids asked of a catalogue (answered from its cache or by a search).",
                  ids_asked);
    PER_CATALOGUE("onloan_catalogue_phrase_searches_total", "counter",
                  "Author and subject searches asked of a catalogue.", phrase_searches_asked);
    PER_CATALOGUE("onloan_catalogue_cache_hits_total", "counter",
                  "Ids and searches answered from the cache or by a search in flight.",
                  cache_hits);
    PER_CATALOGUE("onloan_catalogue_searches_total", "counter",
                  "Searches sent to a catalogue (Z39.50 or SRU).", searches);
    PER_CATALOGUE("onloan_catalogue_search_errors_total", "counter",
                  "Searches that failed: timed out, connection lost or refused, an error "
                  "answer.", failures);
    PER_CATALOGUE("onloan_catalogue_search_timeouts_total", "counter",
                  "Searches not answered within timeout_ms (among the errors).", timeouts);
    PER_CATALOGUE("onloan_catalogue_queue_refusals_total", "counter",
                  "Ids and searches refused catalogue_busy: max_queued searches waited.",
                  queue_refusals);
    PER_CATALOGUE("onloan_catalogue_dropped_searches_total", "counter",
                  "Queued searches dropped: every request that asked had given up.",
                  dropped_jobs);
    PER_CATALOGUE("onloan_catalogue_malformed_records_total", "counter",
                  "Records refused as malformed before decoding.", malformed_records);
    PER_CATALOGUE("onloan_catalogue_busy_connections", "gauge",
                  "Connections to a catalogue running a search now.", busy_connections);
    PER_CATALOGUE("onloan_catalogue_queued_searches", "gauge",
                  "Searches waiting for a connection.", queued_searches);
    PER_CATALOGUE("onloan_catalogue_cached_records", "gauge",
                  "Records (found or not) in a catalogue's cache.", cached_records);
#undef PER_CATALOGUE
    free(st);
    free(names);
    free(v);
    return rc;
}

static int redis_metrics(struct server *srv, struct strbuf *out)
{
    /* the answers' and ingest jobs' connection, and the one of pair count
     * flushes and compaction */
    static const char *const names[] = {"main", "bulk"};
    struct redis_client_stats st[2];
    uint64_t v[2] = {(uint64_t)redis_client_connected(srv->redis),
                     (uint64_t)redis_client_connected(srv->redis_bulk)};
    redis_client_get_stats(srv->redis, &st[0]);
    redis_client_get_stats(srv->redis_bulk, &st[1]);
    if (family(out, "onloan_redis_connected", "gauge",
               "1 while a Redis connection is up, else 0.", "connection", names, v, 2) < 0)
        return -1;
#define PER_CONNECTION(name, help, field) \
    do { \
        v[0] = st[0].field; \
        v[1] = st[1].field; \
        if (family(out, name, "counter", help, "connection", names, v, 2) < 0) \
            return -1; \
    } while (0)
    PER_CONNECTION("onloan_redis_operations_total",
                   "Redis operations (a command, or a MULTI/EXEC transaction) sent, or failed "
                   "at once without a connection.", ops);
    PER_CONNECTION("onloan_redis_error_replies_total", "Redis operations answered with an error.",
                   error_replies);
    PER_CONNECTION("onloan_redis_unavailable_total",
                   "Redis operations failed: not connected, or the connection was lost.",
                   unavailable);
    PER_CONNECTION("onloan_redis_timeouts_total",
                   "Redis operations not answered within redis.timeout_ms.", timeouts);
    PER_CONNECTION("onloan_redis_connection_losses_total",
                   "Redis connections refused or lost (each is tried again).",
                   connection_losses);
#undef PER_CONNECTION
    return 0;
}

static int cache_metrics(struct server *srv, struct strbuf *out)
{
    static const char *const names[] = {"answers", "patron_answers", "model_reads",
                                        "recent_touchpoints"};
    struct ttl_cache_stats st[4];
    ttl_cache_get_stats(srv->answers, &st[0]);
    ttl_cache_get_stats(srv->patron_answers, &st[1]);
    model_cache_stats(srv->model, &st[2]);
    ttl_cache_get_stats(srv->recent_touchpoints, &st[3]);
    uint64_t v[4];
#define PER_CACHE(name, type, help, field) \
    do { \
        for (size_t i_ = 0; i_ < 4; i_++) \
            v[i_] = (uint64_t)st[i_].field; \
        if (family(out, name, type, help, "cache", names, v, 4) < 0) \
            return -1; \
    } while (0)
    PER_CACHE("onloan_cache_hits_total", "counter",
              "Reads that found a fresh entry: kept answers, model reads, recent touchpoints.",
              hits);
    PER_CACHE("onloan_cache_misses_total", "counter", "Reads that found none, or a stale one.",
              misses);
    PER_CACHE("onloan_cache_refused_total", "counter",
              "Entries not kept: the cache was full of fresh ones.", refused);
    PER_CACHE("onloan_cache_entries", "gauge", "Entries held (stale ones not swept yet included).",
              entries);
#undef PER_CACHE
    return 0;
}

static int spool_metrics(struct server *srv, struct strbuf *out)
{
    struct spool_stats st;
    spool_get_stats(srv->spool, &st);
    if (single(out, "onloan_spool_waiting_writes", "gauge",
               "Touchpoint and outcome writes waiting for Redis (limits.max_spooled_writes).",
               st.waiting) < 0 ||
        single(out, "onloan_spool_in_flight_writes", "gauge",
               "Spooled writes sent, not answered yet.", st.in_flight) < 0 ||
        single(out, "onloan_spool_confirmed_kept_writes", "gauge",
               "Writes Redis confirmed lately, kept to send again should it lose them.",
               st.confirmed_kept) < 0 ||
        single(out, "onloan_spool_bytes", "gauge",
               "Bytes of the commands the spool holds in memory (waiting, in flight, "
               "confirmed and kept).", st.bytes) < 0 ||
        single(out, "onloan_spool_written_total", "counter", "Writes Redis confirmed.",
               st.written) < 0 ||
        single(out, "onloan_spool_kept_total", "counter",
               "Writes that had to wait in the spool.", st.kept) < 0 ||
        single(out, "onloan_spool_retries_total", "counter",
               "Writes Redis answered 'not now' (LOADING, OOM...): sent again.",
               st.transient_errors) < 0 ||
        single(out, "onloan_spool_replayed_total", "counter",
               "Confirmed writes sent again on a new connection to Redis.", st.replayed) < 0 ||
        single(out, "onloan_spool_refused_total", "counter",
               "Writes refused: the spool was full (answers touchpoint_not_logged).",
               st.refused) < 0 ||
        single(out, "onloan_spool_failed_total", "counter",
               "Writes Redis refused with an error: dropped and logged.", st.failed) < 0 ||
        single(out, "onloan_spool_file_errors_total", "counter",
               "Appends or syncs of spool.log that failed.", st.file_errors) < 0)
        return -1;
    struct touchpoint_batch_stats tb;
    touchpoint_batch_get_stats(srv->touchpoints, &tb);
    if (single(out, "onloan_touchpoint_batches_total", "counter",
               "Touchpoint writes handed to the spool: the touchpoints of one pass of the "
               "event loop, together.", tb.batches) < 0 ||
        single(out, "onloan_touchpoints_batched_total", "counter",
               "Touchpoints in those writes.", tb.touchpoints) < 0 ||
        single(out, "onloan_touchpoints_lost_total", "counter",
               "Touchpoints answered, then not written: no memory for their write.",
               tb.lost) < 0)
        return -1;
    return 0;
}

static int ingest_metrics(struct server *srv, struct strbuf *out)
{
    struct ingest_stats st;
    ingest_get_stats(srv->ingest, &st);
    static const char *const results[] = {"new", "repeat", "duplicate", "stale"};
    const uint64_t loans[] = {st.new_loans, st.repeats, st.duplicates, st.stale};
    static const char *const attributions[] = {"counted", "counted_before", "failed"};
    const uint64_t attributed[] = {st.attributed, st.attributed_again, st.attribution_failures};
    if (family(out, "onloan_ingest_loans_total", "counter",
               "Loans the ingest engine applied (new, repeat) or passed over (duplicate, "
               "stale).", "result", results, loans, 4) < 0 ||
        single(out, "onloan_ingest_holds_total", "counter", "Hold events applied.",
               st.holds) < 0 ||
        single(out, "onloan_ingest_jobs_total", "counter", "Ingest jobs run.", st.jobs) < 0 ||
        single(out, "onloan_ingest_write_conflicts_total", "counter",
               "Job writes refused because another writer had changed a history (read "
               "again).", st.write_conflicts) < 0 ||
        single(out, "onloan_ingest_flushes_total", "counter", "Pair count flushes.",
               st.flushes) < 0 ||
        single(out, "onloan_ingest_flush_failures_total", "counter",
               "Pair count flushes that failed.", st.flush_failures) < 0 ||
        single(out, "onloan_ingest_pending_pairs", "gauge",
               "Pair counts waiting for the next flush.", st.pending_pairs) < 0 ||
        single(out, "onloan_ingest_waiting_jobs", "gauge", "Ingest jobs waiting.",
               st.waiting_jobs) < 0 ||
        family(out, "onloan_attributions_total", "counter",
               "Loans and holds attributed to an answer: counted, found counted before (a "
               "replay), or failed.", "result", attributions, attributed, 3) < 0)
        return -1;
    return 0;
}

int metrics_text(struct server *srv, struct strbuf *out)
{
    if (process_metrics(srv, out) < 0 || http_metrics_write(srv->http_metrics, out) < 0 ||
        listener_metrics(srv, out) < 0 || catalogue_metrics(srv, out) < 0 ||
        redis_metrics(srv, out) < 0 || cache_metrics(srv, out) < 0 ||
        spool_metrics(srv, out) < 0 || ingest_metrics(srv, out) < 0)
        return -1;
    if (!srv->rate)
        return 0;
    struct rate_limit_stats rs;
    rate_limit_get_stats(srv->rate, &rs);
    return single(out, "onloan_rate_limit_clients", "gauge",
                  "Client addresses the rate limit keeps (limits.rate_limit_clients).",
                  rs.clients);
}

void metrics_handle(struct server *srv, struct evhttp_request *req)
{
    struct strbuf text = {0};
    if (metrics_text(srv, &text) < 0)
        http_reply_unavailable(req, HTTP_NO_MEMORY);
    else
        http_reply_bytes(req, 200, PROM_TEXT_CONTENT_TYPE, text.buf, text.len);
    strbuf_free(&text);
}
