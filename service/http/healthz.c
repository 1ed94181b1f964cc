/* healthz.c: GET /healthz; see healthz.h. */
#include "http/healthz.h"

#include "core/ttl_cache.h"
#include "http/reply.h"
#include "server.h"

/* A listener's connections (front.h), or null when there is none. */
static json_t *front_json(const struct front *f)
{
    struct front_stats st;
    if (!f)
        return json_null();
    front_get_stats(f, &st);
    return json_pack("{s:I, s:I, s:b, s:I, s:I, s:I, s:I, s:I, s:I}",
                     "open", (json_int_t)st.open, "max", (json_int_t)st.max,
                     "accepting", st.accepting, "accepted", (json_int_t)st.accepted,
                     "at_cap", (json_int_t)st.at_cap, "accept_errors", (json_int_t)st.accept_errors,
                     "cut_at_read_timeout", (json_int_t)st.cut,
                     "bodies_too_large", (json_int_t)st.too_large,
                     "rate_limited", (json_int_t)st.rate_limited);
}

static json_t *rate_json(const struct rate_limit *rl)
{
    struct rate_limit_stats st;
    if (!rl)
        return json_null();
    rate_limit_get_stats(rl, &st);
    return json_pack("{s:I, s:I, s:I}", "clients", (json_int_t)st.clients,
                     "limited", (json_int_t)st.limited, "evicted", (json_int_t)st.evicted);
}

void healthz_handle(struct server *srv, struct evhttp_request *req)
{
    json_t *cats = json_array();
    for (size_t i = 0; i < srv->cfg->ncatalogues; i++) {
        struct catalogue_stats st;
        catalogue_get_stats(srv->catalogues[i], &st);
        json_array_append_new(cats, json_pack(
            "{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
            "name", srv->cfg->catalogues[i].name,
            "busy_connections", (json_int_t)st.busy_connections,
            "queued_searches", (json_int_t)st.queued_searches,
            "queue_refusals", (json_int_t)st.queue_refusals,
            "dropped_jobs", (json_int_t)st.dropped_jobs,
            "cached_records", (json_int_t)st.cached_records,
            "cached_searches", (json_int_t)st.cached_searches,
            "searches", (json_int_t)st.searches, "failures", (json_int_t)st.failures,
            "timeouts", (json_int_t)st.timeouts, "cache_hits", (json_int_t)st.cache_hits,
            "malformed_records", (json_int_t)st.malformed_records));
    }
    struct ingest_stats is;
    struct compact_stats cs;
    ingest_get_stats(srv->ingest, &is);
    compact_get_stats(srv->compactor, &cs);
    json_t *ingest = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:I, s:I, s:I, s:I, s:I, s:I}",
                               "requests", (json_int_t)is.requests, "jobs", (json_int_t)is.jobs,
                               "events", (json_int_t)is.events, "new_loans", (json_int_t)is.new_loans,
                               "repeats", (json_int_t)is.repeats, "duplicates", (json_int_t)is.duplicates,
                               "stale", (json_int_t)is.stale, "pending_pairs", (json_int_t)is.pending_pairs,
                               "pending_counts", is.pending_counts,
                               "waiting_jobs", (json_int_t)is.waiting_jobs,
                               "running_jobs", (json_int_t)is.running_jobs,
                               "flushes", (json_int_t)is.flushes,
                               "flush_failures", (json_int_t)is.flush_failures,
                               "flush_waits", (json_int_t)is.flush_waits,
                               "write_conflicts", (json_int_t)is.write_conflicts);
    if (ingest)
        json_object_update_new(ingest, json_pack("{s:I, s:I, s:I, s:I, s:I}",
                               "holds", (json_int_t)is.holds,
                               "attributed", (json_int_t)is.attributed,
                               "attributed_again", (json_int_t)is.attributed_again,
                               "attribution_failures", (json_int_t)is.attribution_failures,
                               "attributions_pending", (json_int_t)is.attributions_pending));
    json_t *compaction = json_pack("{s:I, s:I, s:I, s:I}", "rounds", (json_int_t)cs.rounds,
                                   "lists", (json_int_t)cs.records, "conflicts", (json_int_t)cs.conflicts,
                                   "failures", (json_int_t)cs.failures);
    struct forget_feed_stats fs;
    forget_feed_get_stats(srv->forget_feed, &fs);
    json_t *feed = json_pack("{s:b, s:I, s:I, s:I}", "listening",
                             forget_feed_listening(srv->forget_feed), "heard", (json_int_t)fs.heard,
                             "subscribed", (json_int_t)fs.subscribed, "refused",
                             (json_int_t)fs.refused);
    struct spool_stats ss;
    spool_get_stats(srv->spool, &ss);
    json_t *spool = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}",
                              "waiting", (json_int_t)ss.waiting, "in_flight", (json_int_t)ss.in_flight,
                              "confirmed_kept", (json_int_t)ss.confirmed_kept,
                              "replayed", (json_int_t)ss.replayed,
                              "written", (json_int_t)ss.written, "kept", (json_int_t)ss.kept,
                              "refused", (json_int_t)ss.refused, "failed", (json_int_t)ss.failed,
                              "transient_errors", (json_int_t)ss.transient_errors,
                              "file_errors", (json_int_t)ss.file_errors, "on_disk",
                              srv->cfg->spool_dir != NULL);
    http_reply_json(req, 200, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o, "
                                        "s:o, s:o, s:o, s:o}",
                                        "status", "ok",
                                        "redis", redis_client_connected(srv->redis) && redis_client_connected(srv->redis_bulk)
                                                 ? "connected" : "disconnected",
                                        "pending_requests", (json_int_t)srv->pending_requests,
                                        "requests", (json_int_t)srv->requests,
                                        "model_reads", (json_int_t)model_reads_in_flight(srv->model),
                                        "kept_answers", (json_int_t)ttl_cache_size(srv->answers),
                                        "kept_patron_answers",
                                        (json_int_t)ttl_cache_size(srv->patron_answers),
                                        "catalogues", cats, "ingest", ingest,
                                        "compaction", compaction, "forget_feed", feed,
                                        "connections", front_json(srv->front),
                                        "ingest_connections", front_json(srv->ingest_front),
                                        "rate_limit", rate_json(srv->rate), "spool", spool));
}

