/* eval_served.h: the served answer, evaluated (onloan eval --titles).
 *
 * An onloand of the build's own (the daemon beside the onloan binary, or
 * --onloand) is started on the run's Redis, under the run's prefix, with
 * the catalogue of eval_catalogue.h as its one catalogue, and asked, as
 * an OPAC would, GET /v1/alternatives?record=QUERY&limit=EVAL_SERVED_LIMIT
 * for every test patron: the daemon's own answer path, co-occurrence,
 * same author, same subject, popular, filtered to the shelf, with the
 * config's limits and order. Its config is the run's config file with
 * only what the run needs changed: listen (a free loopback port),
 * log_level (warn), plugin_dir (plugins/ beside the daemon, as in a build;
 * else the config's, as for an installed one), redis.address and
 * prefix, the model settings eval may override (min_patrons,
 * history_max, history_ttl_days, pairs_per_loan, window_days,
 * history_titles: the run's values), no experiments (an arm
 * would change some answers), no per-client rate limit (every request
 * comes from eval), no api_keys (eval needs none), and one catalogue: the config's first,
 * pointed at the run's Zebra (z3950, koha952, id 001), its other keys
 * (scoring, subject_max_hits, batch_max, ...) as configured.
 *
 * Requests go out over EVAL_HTTP_CONNECTIONS keep-alive connections of
 * libevent's HTTP client, one request in flight on each: the daemon is
 * never asked more than it would answer at once. A row is asked either
 * without patron= (as anyone at the catalogue: titles the patron borrowed
 * may be among the answer) or with the test patron's own id (their
 * recent titles blended in, every title they borrowed left out: the
 * daemon's rule). A hit is the hidden title among the alternatives; MRR
 * counts its place in the answer. A 404 (the query is not in TITLES.csv)
 * is an answer without it; any other failure stops the run. */
#ifndef ONLOAN_CLI_EVAL_SERVED_H
#define ONLOAN_CLI_EVAL_SERVED_H

#include <event2/event.h>
#include <jansson.h>

#include "cli/child.h"
#include "cli/eval_protocol.h"
#include "core/config.h"
#include "core/dict.h"
#include "core/strbuf.h"
#include "model/recommend.h"

#define EVAL_SERVED_LIMIT 10
#define EVAL_HTTP_CONNECTIONS 8
#define EVAL_HTTP_TIMEOUT_S 60          /* one answer, at most (the daemon's own deadline is
                                         * request_timeout_ms) */
#define EVAL_ONLOAND_WAIT_MS 20000      /* until /healthz says Redis is connected */
#define EVAL_REASONS 4                  /* enum reason's */

struct eval_served_row {
    const char *name;
    int with_patron;
    double hits, rr;
    struct dict *shown;                 /* every record shown (owned; values unused) */
    size_t answered, not_found, degraded;
    size_t hit_reason[EVAL_REASONS];    /* hits by the alternative's reason */
    double seconds;
};

#define EVAL_KEY_HEX 64
struct eval_daemon {
    int port;
    char key[EVAL_KEY_HEX + 1];         /* its one API key (role personalise), drawn per run */
    struct child onloand;
    char *config_path, *log;            /* owned */
};

/* Writes the daemon's config into dir (mode 0600: it holds the patron
 * key) and starts it (onloand: its
 * path); waits until it answers /healthz with Redis connected. Returns
 * -1 with the reason in err (nothing left running). */
int eval_daemon_start(struct eval_daemon *d, const struct config *cfg, const char *onloand,
                      const char *dir, int zebra_port, struct event_base *base,
                      struct strbuf *err);
/* Asks for every test of split (raw_patrons: pseudonym -> the id to
 * send as patron=) and fills row. -1 with the reason in err. */
int eval_daemon_ask(struct eval_daemon *d, struct event_base *base, const struct eval_split *split,
                    const struct dict *raw_patrons, struct eval_served_row *row,
                    struct strbuf *err);
/* Stops it (SIGTERM). -1 with the reason in err when it did not exit 0
 * (under ASan: a leak). */
int eval_daemon_stop(struct eval_daemon *d, struct strbuf *err);

/* The daemon's config: the JSON of cfg->path with the changes above
 * (plugin_dir NULL: the config's own; caller decrefs), or NULL with the
 * reason in err. */
json_t *eval_daemon_config(const struct config *cfg, const char *plugin_dir, const char *key, int port,
                           int zebra_port, struct strbuf *err);

/* Scores one answer's body for hidden into row (a 200's): -1 when it is
 * not an answer (then *why says what is wrong). */
int eval_served_score(const char *body, size_t len, const char *hidden,
                      struct eval_served_row *row, const char **why);

#endif
