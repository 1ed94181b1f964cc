/* zoom_conn.c: YAZ ZOOM connections driven by libevent; see
 * catalogue_int.h.
 *
 * Each connection is in ZOOM's async mode and driven by one libevent
 * event that follows its socket and wanted mask (re-armed after every
 * ZOOM event, since both may change: ZOOM's first socket is a resolver
 * pipe), plus a deadline of our own (ZOOM's timeout is an inactivity
 * timer). One search in flight per connection; a lost or refused
 * connection is reconnected and the search retried once. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaz/proto.h>
#include <yaz/zoom.h>

#include "catalogue/catalogue_int.h"
#include "catalogue/catalogue_query.h"
#include "core/clock.h"
#include "core/log.h"

static void conn_drive(struct zconn *c);

/* The bytes of a record as the catalogue sent them: Z39.50 brings ISO
 * 2709, SRU MARCXML; NULL when there are none. The ISO 2709 octets are
 * taken as they came ("ext"): ZOOM's "raw" would have YAZ decode and
 * encode the record once more first, unchecked (marc_check.h). */
static const char *record_bytes(const struct catalogue *cat, ZOOM_record rec, size_t *len)
{
    int n = 0;
    if (cat->cfg->protocol == CATALOGUE_Z3950) {
        const Z_External *ext = (const Z_External *)ZOOM_record_get(rec, "ext", &n);
        if (!ext || ext->which != Z_External_octet || !ext->u.octet_aligned ||
            ext->u.octet_aligned->len <= 0)
            return NULL;
        *len = (size_t)ext->u.octet_aligned->len;
        return (const char *)ext->u.octet_aligned->buf;
    }
    const char *xml = ZOOM_record_get(rec, "xml", &n);
    if (!xml || n <= 0)
        return NULL;
    *len = (size_t)n;
    return xml;
}

/* One record of a search as a bib; NULL with the reason in *why, and
 * *malformed set when it was refused as malformed (holdings.h). */
static struct bib *record_bib(struct catalogue *cat, ZOOM_record rec, const char **why,
                              int *malformed)
{
    size_t len = 0;
    const char *bytes = record_bytes(cat, rec, &len);
    if (!bytes) {
        *why = cat->cfg->protocol == CATALOGUE_Z3950 ? "not an ISO 2709 record" : "empty record";
        return NULL;
    }
    struct bib *b = cat->cfg->protocol == CATALOGUE_Z3950
                        ? marc_reader_iso2709(cat->reader, bytes, len, why)
                        : marc_reader_marcxml(cat->reader, bytes, len, why);
    *malformed = !b && marc_reader_malformed(cat->reader);
    return b;
}

/* A record refused as malformed (marc_check.h) is left out like one
 * without a title, counted, and logged once per id: the id it gives
 * itself, when one can be read without YAZ, else its length and a hash of
 * its bytes (the same bytes: the same record); the log shows how it
 * begins. At most MALFORMED_REMEMBERED are remembered: past that the
 * catalogue forgets them all and logs each once more. */
#define MALFORMED_REMEMBERED 1024
#define MALFORMED_SHOWN 32      /* bytes shown in hex */

/* A record's bytes as 64 bits that stay the same from one run and one
 * daemon to the next (the logs of several can be compared): the first 64
 * of an unkeyed BLAKE2b-128 (libsodium's shortest), which a catalogue
 * cannot make collide to hide a record among those logged. */
static unsigned long long record_fingerprint(const char *bytes, size_t len)
{
    unsigned char out[crypto_generichash_BYTES_MIN];
    unsigned long long h = 0;
    crypto_generichash(out, sizeof out, (const unsigned char *)bytes, len, NULL, 0);
    for (size_t i = 0; i < 8; i++)
        h = h << 8 | out[i];
    return h;
}

static void record_malformed(struct catalogue *cat, ZOOM_record rec, const char *why)
{
    cat->stats.malformed_records++;
    size_t len = 0;
    const char *bytes = record_bytes(cat, rec, &len);
    const char *id = marc_reader_refused_id(cat->reader);
    unsigned long long hash = bytes ? record_fingerprint(bytes, len) : 0;
    struct strbuf key = {0};
    int keyed = (id ? strbuf_printf(&key, "id %s", id)
                    : strbuf_printf(&key, "%zu bytes %016llx", len, hash)) == 0;
    if (keyed && cat->malformed && dict_get(cat->malformed, strbuf_cstr(&key))) {
        strbuf_free(&key);
        return;
    }
    if (cat->malformed && dict_size(cat->malformed) >= MALFORMED_REMEMBERED) {
        dict_free(cat->malformed, NULL);
        cat->malformed = NULL;
    }
    if (keyed && !cat->malformed)
        cat->malformed = dict_new();
    if (keyed && cat->malformed)    /* out of memory: logged again next time */
        dict_set(cat->malformed, strbuf_cstr(&key), cat, NULL);
    strbuf_free(&key);
    char hex[2 * MALFORMED_SHOWN + 1] = "";
    size_t shown = len < MALFORMED_SHOWN ? len : MALFORMED_SHOWN;
    for (size_t i = 0; i < shown; i++)
        snprintf(hex + 2 * i, 3, "%02x", (unsigned char)bytes[i]);
    if (id)
        log_msg(LOG_WARN, "catalogue %s: malformed record %s left out of answers (logged once): "
                "%s; %zu bytes: %s%s", cat->cfg->name, id, why, len, hex,
                len > shown ? "..." : "");
    else
        log_msg(LOG_WARN, "catalogue %s: malformed record left out of answers (logged once): "
                "%s; id unknown, %zu bytes, BLAKE2b %016llx: %s%s", cat->cfg->name, why, len,
                hash, hex, len > shown ? "..." : "");
}

static void conn_reset(struct zconn *c)
{
    event_del(c->io);
    event_del(c->deadline);
    if (c->rs)
        ZOOM_resultset_destroy(c->rs);
    if (c->zc)
        ZOOM_connection_destroy(c->zc);
    c->rs = NULL;
    c->zc = NULL;
}

static void conn_io_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    struct zconn *c = arg;
    int mask = 0;
    if (what & EV_READ)
        mask |= ZOOM_SELECT_READ;
    if (what & EV_WRITE)
        mask |= ZOOM_SELECT_WRITE;
    ZOOM_connection_fire_event_socket(c->zc, mask);
    conn_drive(c);
}

static void conn_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct zconn *c = arg;
    struct catalogue *cat = c->cat;
    struct job *j = c->job;
    c->job = NULL;
    if (j->kind == JOB_CONNECT) {
        log_msg(LOG_WARN, "catalogue %s: connect timed out after %d ms", cat->cfg->name,
                cat->cfg->timeout_ms);
        conn_reset(c);
        catalogue_job_free(j);
        zconn_dispatch(cat);
        return;
    }
    cat->stats.timeouts++;
    log_msg(LOG_WARN, "catalogue %s: search timed out after %d ms; reconnecting",
            cat->cfg->name, cat->cfg->timeout_ms);
    conn_reset(c);      /* a timed-out Z39.50 session is not to be trusted */
    catalogue_job_fail(cat, j, FAILURE_CATALOGUE_TIMEOUT);
    zconn_dispatch(cat);
}

static int conn_open(struct zconn *c)
{
    struct catalogue *cat = c->cat;
    ZOOM_options o = ZOOM_options_create();
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", (cat->cfg->timeout_ms + 999) / 1000);
    ZOOM_options_set(o, "async", "1");
    ZOOM_options_set(o, "timeout", timeout);
    ZOOM_options_set(o, "preferredRecordSyntax", "usmarc");
    ZOOM_options_set(o, "elementSetName", "F");
    if (cat->cfg->protocol == CATALOGUE_SRU) {
        ZOOM_options_set(o, "sru", "get");
        ZOOM_options_set(o, "schema", "marcxml");
    }
    c->zc = ZOOM_connection_create(o);
    ZOOM_options_destroy(o);
    if (!c->zc)
        return -1;
    ZOOM_connection_connect(c->zc, cat->zoom_target, 0);     /* queued: async */
    return 0;
}

static void conn_start(struct zconn *c, struct job *j)
{
    struct catalogue *cat = c->cat;
    c->job = j;
    j->attempts++;
    if (!c->zc && conn_open(c) < 0) {
        c->job = NULL;
        catalogue_job_fail(cat, j, FAILURE_CATALOGUE_UNAVAILABLE);
        return;
    }
    if (j->kind == JOB_CONNECT) {   /* only connect: a warm pool answers sooner */
        struct timeval tv = {cat->cfg->timeout_ms / 1000, (cat->cfg->timeout_ms % 1000) * 1000};
        j->started_ms = monotonic_ms();
        evtimer_add(c->deadline, &tv);
        conn_drive(c);
        return;
    }
    struct strbuf q = {0};
    char count[24];
    if (j->kind == JOB_SEARCH)
        j->search->presenting = 0;      /* a retry counts the hits again */
    /* A search with a bound on its hits counts them first (count 0) and
     * fetches records only if the bound holds. */
    snprintf(count, sizeof count, "%zu",
             j->kind != JOB_SEARCH ? j->n : j->search->max_hits ? 0 : j->search->max);
    ZOOM_connection_option_set(c->zc, "count", count);
    ZOOM_query zq = ZOOM_query_create();
    int bad = j->kind == JOB_SEARCH
                  ? strbuf_puts(&q, j->search->query)
                  : catalogue_build_query(cat->cfg->protocol, cat->cfg->id_query,
                                          (const char *const *)j->ids, j->n, &q);
    if (!bad)
        bad = cat->cfg->protocol == CATALOGUE_Z3950 ? ZOOM_query_prefix(zq, strbuf_cstr(&q))
                                                 : ZOOM_query_cql(zq, strbuf_cstr(&q));
    if (bad) {
        ZOOM_query_destroy(zq);
        strbuf_free(&q);
        c->job = NULL;
        catalogue_job_fail(cat, j, FAILURE_CATALOGUE_QUERY);
        return;
    }
    log_msg(LOG_DEBUG, "catalogue %s: connection %d: search %s", cat->cfg->name,
            (int)(c - cat->conns), strbuf_cstr(&q));
    strbuf_free(&q);
    c->rs = ZOOM_connection_search(c->zc, zq);
    ZOOM_query_destroy(zq);
    cat->stats.searches++;
    j->started_ms = monotonic_ms();
    struct timeval tv = {cat->cfg->timeout_ms / 1000, (cat->cfg->timeout_ms % 1000) * 1000};
    evtimer_add(c->deadline, &tv);
    conn_drive(c);
}

/* Connection-level failures (refused, lost, timed out): worth a reconnect. */
static int zoom_error_is_connection(int code)
{
    return code == ZOOM_ERROR_CONNECT || code == ZOOM_ERROR_CONNECTION_LOST ||
           code == ZOOM_ERROR_TIMEOUT || code == ZOOM_ERROR_DECODE ||
           code == ZOOM_ERROR_INIT || code == ZOOM_ERROR_INTERNAL;
}

/* Settles a finished search. Settling wakes lookups whose callbacks may
 * start searches at once, possibly on this very connection: so the
 * connection is made idle and clean first, and the job is ours alone. */
static void conn_search_done(struct zconn *c)
{
    struct catalogue *cat = c->cat;
    struct job *j = c->job;
    const char *msg = "", *addinfo = "";
    int code = ZOOM_connection_error(c->zc, &msg, &addinfo);
    event_del(c->deadline);
    event_del(c->io);

    if (j->kind == JOB_CONNECT) {
        if (code) {
            log_msg(LOG_WARN, "catalogue %s: cannot connect: %s (%d) %s", cat->cfg->name, msg,
                    code, addinfo ? addinfo : "");
            conn_reset(c);
        }
        c->job = NULL;
        catalogue_job_free(j);
        return;
    }
    if (code) {
        int lost = zoom_error_is_connection(code);
        int retry = lost && j->attempts < 2;
        log_msg(retry ? LOG_INFO : LOG_WARN, "catalogue %s: %s (%d) %s%s", cat->cfg->name, msg,
                code, addinfo ? addinfo : "", retry ? "; reconnecting and retrying" : "");
        if (lost)
            conn_reset(c);
        else if (c->rs) {
            ZOOM_resultset_destroy(c->rs);
            c->rs = NULL;
        }
        c->job = NULL;
        if (retry)
            work_queue_push(&cat->queue, &j->node, QUEUE_FIRST);
        else
            catalogue_job_fail(cat, j, lost ? FAILURE_CATALOGUE_UNAVAILABLE : FAILURE_CATALOGUE_ERROR);
        return;
    }

    size_t size = ZOOM_resultset_size(c->rs), nbibs = 0;
    size_t want = j->kind == JOB_SEARCH ? j->search->max : j->n;
    if (j->kind == JOB_SEARCH && j->search->max_hits && !j->search->presenting) {
        if (size > j->search->max_hits)
            size = 0;           /* too broad to say anything: take none */
        else if (size > 0) {
            j->search->presenting = 1;
            ZOOM_resultset_records(c->rs, NULL, 0, size < want ? size : want);
            struct timeval tv = {cat->cfg->timeout_ms / 1000, (cat->cfg->timeout_ms % 1000) * 1000};
            evtimer_add(c->deadline, &tv);
            conn_drive(c);
            return;
        }
    }
    struct bib **bibs = calloc(want ? want : 1, sizeof *bibs);
    for (size_t i = 0; bibs && i < size && i < want; i++) {
        ZOOM_record rec = ZOOM_resultset_record_immediate(c->rs, i);
        const char *why = "record missing from the answer";
        int malformed = 0;
        struct bib *b = rec ? record_bib(cat, rec, &why, &malformed) : NULL;
        if (b) {
            b->fetched_ms = monotonic_ms();
            bibs[nbibs++] = b;
        }
        else if (malformed)
            record_malformed(cat, rec, why);
        else
            log_msg(LOG_WARN, "catalogue %s: record %zu of a search skipped: %s",
                    cat->cfg->name, i, why);
    }
    ZOOM_resultset_destroy(c->rs);
    c->rs = NULL;
    c->job = NULL;
    log_msg(LOG_DEBUG, "catalogue %s: connection %d: %zu of %zu records in %llu ms", cat->cfg->name,
            (int)(c - cat->conns), nbibs, j->n, (unsigned long long)(monotonic_ms() - j->started_ms));
    if (!bibs) {
        catalogue_job_fail(cat, j, FAILURE_OUT_OF_MEMORY);
        return;
    }
    if (j->kind == JOB_SEARCH) {
        catalogue_search_settle(cat, j->search, bibs, nbibs, FAILURE_NONE);
        bib_array_free(bibs, nbibs);
        catalogue_job_free(j);
        return;
    }
    for (size_t i = 0; i < nbibs; i++) {
        catalogue_cache_settle(cat, bibs[i]->id, LOOKUP_FOUND, bibs[i], FAILURE_NONE);
        bib_unref(bibs[i]);
    }
    free(bibs);
    for (size_t i = 0; i < j->n; i++)       /* whatever is still pending was not there */
        catalogue_cache_settle(cat, j->ids[i], LOOKUP_NOT_FOUND, NULL, FAILURE_NONE);
    catalogue_job_free(j);
}

/* Processes every ZOOM event there is, then waits on the socket for what
 * the connection wants next. */
static void conn_drive(struct zconn *c)
{
    while (c->job && ZOOM_connection_process(c->zc)) {
        if (ZOOM_connection_last_event(c->zc) == ZOOM_EVENT_END) {
            conn_search_done(c);
            zconn_dispatch(c->cat);
            return;
        }
    }
    if (!c->job)
        return;
    int fd = ZOOM_connection_get_socket(c->zc);
    int mask = ZOOM_connection_get_mask(c->zc);
    short what = (mask & ZOOM_SELECT_READ ? EV_READ : 0) | (mask & ZOOM_SELECT_WRITE ? EV_WRITE : 0);
    event_del(c->io);
    if (fd >= 0 && what) {
        event_assign(c->io, c->cat->base, fd, what, conn_io_cb, c);
        event_add(c->io, NULL);
    }
    /* Else nothing to wait for yet the search is not over: the deadline
     * timer settles it. */
}

void zconn_dispatch(struct catalogue *cat)
{
    for (int i = 0; i < cat->cfg->connections && cat->queue.n; i++) {
        struct zconn *c = &cat->conns[i];
        struct job *j = c->job ? NULL : catalogue_next_job(cat);    /* NULL: all abandoned */
        if (j)
            conn_start(c, j);
    }
}

int zconn_init(struct zconn *c, struct catalogue *cat)
{
    c->cat = cat;
    c->io = event_new(cat->base, -1, 0, conn_io_cb, c);
    c->deadline = evtimer_new(cat->base, conn_deadline_cb, c);
    return c->io && c->deadline ? 0 : -1;
}

void zconn_connect(struct zconn *c, struct job *j)
{
    conn_start(c, j);
}

void zconn_free(struct zconn *c)
{
    if (c->io)
        conn_reset(c);
    if (c->job)
        catalogue_job_free(c->job);
    if (c->io)
        event_free(c->io);
    if (c->deadline)
        event_free(c->deadline);
    c->job = NULL;
    c->io = c->deadline = NULL;
}
