/* config.h: the one JSON configuration file, read strictly.
 *
 * Unknown keys, wrong types and out-of-range values are errors; a check
 * reports every error of the file in one pass, each as
 * "FILE: key.path: what is wrong" (with line:column for syntax errors).
 *
 * Secrets (privacy.patron_key, touchpoints.token_key, api_keys[].key) are
 * given in the file or, as KEY_file, read from a file of their own: an
 * absolute path, or a bare name, the name of a systemd credential in
 * $CREDENTIALS_DIRECTORY (LoadCredential=). A file holds the key on one
 * line (one trailing newline is dropped), at most SECRET_FILE_MAX_BYTES.
 * The keys published with onloan (config/onloan.json's) and API keys
 * under API_KEY_MIN_BYTES are errors unless the config says "demo": true.
 * Secrets that others than their owner can read, in the config file or
 * in a key file (not a credential: systemd keeps those the service's), are
 * not errors of the config but its exposures (config_exposures): onloand
 * refuses to run with any, onloan warns. */
#ifndef ONLOAN_CORE_CONFIG_H
#define ONLOAN_CORE_CONFIG_H

#include <jansson.h>
#include <stddef.h>

#include "core/strbuf.h"

#define PATRON_KEY_BYTES 32
#define MAX_HISTORY_TITLES 100  /* model.history_titles: at most this many blended in */

/* The choices the config names: each enum in the order of its names (a
 * NULL-terminated list, config.c), so that a module never parses one. */
enum catalogue_protocol { CATALOGUE_Z3950, CATALOGUE_SRU };

/* How a batch of ids is asked for over Z39.50 (catalogue_build_query):
 * one term per id, ORed (any server), or the ids as alternatives of
 * regular-expression terms (Bib-1 truncation 102, which Zebra serves). */
enum id_query { ID_QUERY_OR, ID_QUERY_REGEX };

/* How strongly "patrons who borrowed A also borrowed B" (score.h). */
enum score_measure { SCORE_RAW, SCORE_COSINE, SCORE_JACCARD, SCORE_LLR };
extern const char *const score_measure_names[];

/* Where a catalogue's records keep their copies (holdings.h). */
enum holdings_mapping { HOLDINGS_KOHA952, HOLDINGS_SIRSI949 };
extern const char *const holdings_mapping_names[];

/* Who asks for an answer (the channel= parameter). */
enum channel { CHANNEL_OPAC, CHANNEL_KIOSK, CHANNEL_APP, CHANNEL_WIDGET, NCHANNELS };
extern const char *const channel_names[];

/* Why an alternative is suggested (model/recommend.h), in the order the
 * answer shows them unless a catalogue's `order` says otherwise. */
enum reason { REASON_ALSO_BORROWED, REASON_SAME_AUTHOR, REASON_SAME_SUBJECT, REASON_POPULAR,
              NREASONS };
extern const char *const reason_names[];

/* The rates a report gives and a goal can aim at (report/report.h). */
enum rate { RATE_CLICK, RATE_RESERVE, RATE_ALTERNATIVE_BORROW, NRATES };
extern const char *const rate_names[];

struct catalogue_config {
    char *name;                 /* what requests pass as catalogue= */
    char *target;               /* host:port/database */
    enum catalogue_protocol protocol;
    enum id_query id_query;     /* Z39.50 only: SRU asks rec.id== terms, ORed */
    enum holdings_mapping holdings;
    char *id_field;             /* "001" or "TAG$c" (e.g. "999$c") */
    char *record_charset;       /* records not in UTF-8 are in this: "marc8s" is MARC-8
                                 * converted to precomposed (NFC-like) UTF-8 */
    int connections;            /* size of the connection pool */
    int timeout_ms;             /* one catalogue search, connect included */
    int cache_ms;               /* how long a looked-up record is trusted */
    int cache_max_entries;
    int batch_max;              /* ids per search (OR query) of one request */
    int join_max;               /* ids per search when waiting lookups of several
                                 * requests are joined (>= batch_max) */
    int subject_max_hits;       /* a subject with more records is too broad to suggest from */
    int search_max_records;     /* records an author or subject search fetches, to rank all
                                 * of them by borrowers */
    int max_queued;             /* searches waiting for a connection; more: catalogue_busy */
    enum score_measure scoring; /* this tenant's measure */
    unsigned fit;               /* FIT_* an alternative must share with the wanted title */
    int loan_period_days;       /* a loan's length: when a hold placed now is ready */
    enum reason order[NREASONS];    /* the reasons used, in the order shown (popular, if
                                     * there, last); norder of them */
    size_t norder;
    json_t *link;               /* link plugin config; owned */
};

/* The dimensions a catalogue's `fit` may name (catalogue/segment.h). */
#define FIT_FORMAT 1u
#define FIT_AUDIENCE 2u
#define FIT_LANGUAGE 4u
#define FIT_ALL (FIT_FORMAT | FIT_AUDIENCE | FIT_LANGUAGE)

/* API key roles. */
#define ROLE_INGEST 1u          /* POST /v1/loans */
#define ROLE_FORGET 2u          /* DELETE /v1/patrons/<patron> */
#define ROLE_REPORT 4u          /* GET /v1/reports/... */
#define ROLE_PERSONALISE 8u     /* GET /v1/alternatives with patron= (the OPAC's server side) */

#define API_KEY_HASH_BYTES 32
#define API_KEY_MIN_BYTES 32        /* characters of an API key */
#define API_KEY_DEMO_MIN_BYTES 16   /* the same with "demo": true */
#define SECRET_FILE_MAX_BYTES 4096  /* a KEY_file's size */

/* Where the link plugins are when the config does not say: the build's
 * $(PREFIX)/lib/onloan/plugins (Makefile). */
#ifndef ONLOAN_PLUGIN_DIR
#define ONLOAN_PLUGIN_DIR "/usr/local/lib/onloan/plugins"
#endif
/* The config both programs read without -c: $(SYSCONFDIR)/onloan/onloan.json. */
#ifndef ONLOAN_CONFIG_PATH
#define ONLOAN_CONFIG_PATH "/etc/onloan/onloan.json"
#endif

struct api_key {
    char *name;                 /* for logs: never the key */
    unsigned char hash[API_KEY_HASH_BYTES];     /* BLAKE2b-256 of the key */
    unsigned roles;
};

#define TOKEN_KEY_BYTES 32
#define NAME_MAX_BYTES 64       /* experiment, arm and goal names */

/* One arm of an experiment: its share of the units, and what it changes. */
struct arm_config {
    char *name;                 /* [A-Za-z0-9_-], unique in its experiment */
    int share;                  /* percent; an experiment's arms add up to 100 */
    int alternatives;           /* how many are shown; -1: as asked (0: the control) */
    int scoring;                /* enum score_measure, or -1: the catalogue's */
    int fallbacks;              /* same author/subject searched: 1, 0, or -1: yes */
};

/* An A/B test on some channels over a span of days: each unit (patron,
 * session or touchpoint) is given an arm by a hash of the experiment's
 * name and the unit, so the same unit keeps its arm. */
struct experiment_config {
    char *name;
    char from[11], until[11];   /* YYYY-MM-DD: from that day up to (not on) until */
    unsigned channels;          /* bit (1u << enum channel) for each channel it runs on */
    struct arm_config *arms;
    size_t narms;
};

/* A goal: a rate to reach by a date, on a segment of the touchpoints. */
struct goal_config {
    char *name;
    enum rate metric;
    double target;              /* 0..1 */
    char from[11], by[11];      /* YYYY-MM-DD; from: the first day counted ("": a year
                                 * before by, report/goals.h); by - from + 1 is at most
                                 * reports.max_days */
    /* segment: NULL for any */
    char *catalogue, *branch, *arm;
    int channel;                /* enum channel, or -1 */
};

struct config {
    char *path;
    int demo;                   /* "demo": true: the published example keys and short
                                 * API keys are accepted (onloand says so at start) */
    char *exposures;            /* see config_exposures; NULL when none */
    char *listen_host;
    int listen_port;
    char *listen_ingest_host;   /* listen_ingest: NULL when not set */
    int listen_ingest_port;
    int request_timeout_ms;
    char *log_level;
    char *plugin_dir;           /* absolute */

    int max_alternatives;
    int default_alternatives;
    int max_record_id_bytes;
    int max_body_bytes;
    int max_header_bytes;       /* all request headers together */
    int idle_timeout_s;         /* an HTTP connection idle this long is closed */
    int read_timeout_ms;        /* a request's headers and body arrive within this */
    int max_connections;        /* per listener; beyond: left in the backlog */
    int listen_backlog;         /* connections the kernel holds until accepted */
    int per_client_rps;         /* requests a second per client address; 0: no limit */
    int per_client_burst;       /* ... and at once */
    int rate_limit_clients;     /* client addresses kept for that */
    int max_candidates;
    int max_pending_requests;
    int max_kept_answers;       /* answers kept while fresh (kept_answers.h) */
    int max_kept_patron_answers;    /* the same for answers made with patron=, apart */

    char *redis_host;           /* an IP address: hiredis resolves names blocking */
    int redis_port;
    char *redis_prefix;
    char *redis_username;       /* redis.username: an ACL user, or NULL (default user) */
    char *redis_password;       /* redis.password(_file): AUTH on every connect, or NULL */
    int redis_timeout_ms;
    int touchpoint_stream_max;
    /* redis.sentinels: when given, the primary's address is asked of
     * them (redis/sentinel_watch.h) and redis.address is not used */
    struct redis_sentinel_address {
        char *host;             /* an IP address */
        int port;
    } *redis_sentinels;
    size_t nredis_sentinels;
    char *redis_master_name;    /* redis.master_name: the primary's name in the Sentinels */
    char *redis_sentinel_password;  /* redis.sentinel_password(_file): AUTH to a Sentinel, or NULL */

    unsigned char patron_key[PATRON_KEY_BYTES];
    int min_patrons;
    int neighbours_max;         /* model.neighbours_max: used per record (top K) */
    int neighbours_reserve;     /* model.neighbours_reserve: kept beyond K, still counting */
    int model_cache_ms;         /* model.cache_ms: how long a read is reused */
    int model_cache_max_entries;
    int history_max;
    int history_ttl_days;

    enum score_measure scoring; /* model.scoring: the default */
    int window_days;            /* model.window_days: pairs only this close in time */
    int pairs_per_loan;         /* model.pairs_per_loan: the per-patron cap */
    int history_titles;         /* model.history_titles: a patron's titles blended in */
    int branch_counts;          /* model.branch_counts: borrowers of a title counted per
                                 * branch too (pob:<branch>), each history line keeping
                                 * its branch; off while older onloand share the Redis */
    int flush_ms;               /* model.flush_ms: pair counts written this often */
    int flush_max_pairs;        /* model.flush_max_pairs: or when this many wait */
    int compact_interval_ms;
    int compact_batch;

    char *movielens_record_prefix;  /* ingest.movielens_record_prefix */
    int max_events_per_request;     /* ingest.max_events_per_request */
    int gather_max_events;          /* ingest.gather_max_events: events of one live job */
    int max_loans_body_bytes;       /* ingest.max_body_bytes */

    struct api_key *api_keys;
    size_t napi_keys;

    unsigned char token_key[TOKEN_KEY_BYTES];   /* touchpoints.token_key */
    int token_ttl_s;            /* touchpoints.token_ttl_s: how long an answer's outcomes
                                 * may be posted */
    int attribution_days;       /* touchpoints.attribution_days */

    char **cors_origins;        /* http.cors_origins: exact origins; NULL-terminated */
    size_t ncors_origins;

    int report_max_days;        /* reports.max_days: days a report may span, from and to
                                 * included */
    int report_max_rows;        /* reports.max_rows: rows a report may have */

    char *spool_dir;            /* spool_dir: where spool.log is kept (NULL: memory only) */
    int spool_max_writes;       /* limits.max_spooled_writes: writes kept while Redis is away */
    int max_recent_touchpoints; /* limits.max_recent_touchpoints: kept for outcomes
                                 * while Redis is away (recent_touchpoints.h) */
    int spool_sync_ms;          /* spool_sync_ms: the file is synced this often at most */
    int spool_replay_ms;        /* spool_replay_ms: writes Redis confirmed this recently are
                                 * sent again on its next connection (spool.h) */

    struct experiment_config *experiments;
    size_t nexperiments;
    struct goal_config *goals;
    size_t ngoals;
    struct branch_name *branch_names;   /* branches: a branch's name for patrons */
    size_t nbranch_names;

    struct catalogue_config *catalogues;
    size_t ncatalogues;
};

/* "branches": {"CEN": "Centrale Bibliotheek", ...}: what patrons read for
 * a branch code (at most CONFIG_MAX_BRANCHES, names of 1 to
 * CONFIG_MAX_BRANCH_NAME_BYTES bytes). */
#define CONFIG_MAX_BRANCHES 1000
#define CONFIG_MAX_BRANCH_NAME_BYTES 100
struct branch_name {
    char *code, *name;
};
/* The name of branch code for patrons: its configured name, or the code. */
const char *config_branch_name(const struct config *cfg, const char *code);

/* Reads and checks path. Returns a config (caller frees with config_free),
 * or NULL with every error appended, one per line, to errors. */
struct config *config_load(const char *path, struct strbuf *errors);
/* config_load, printing the errors to stderr when there are any. */
struct config *config_load_or_report(const char *path);
/* Same, from a JSON text already in memory (name is used in messages). */
struct config *config_parse(const char *text, const char *name, struct strbuf *errors);
void config_free(struct config *cfg);

/* The secrets of cfg that others than their owner may read, one line
 * each, "FILE: key.path: why": inline secrets of a config file that its
 * group or others may read (the published example keys are no secrets),
 * and KEY_files given by path that they may read. NULL when none. */
const char *config_exposures(const struct config *cfg);

/* The roles of the API key presented (key, len bytes): 0 if it matches
 * none. Compares against every key, in constant time for each. */
unsigned config_api_key_roles(const struct config *cfg, const char *key, size_t len,
                              const char **name);

/* The catalogue called name, or the first one when name is NULL. */
const struct catalogue_config *config_catalogue(const struct config *cfg, const char *name);

/* Parses a date YYYY-MM-DD (a real one) to days since 1970-01-01;
 * -1 if it is not one. */
long config_date_days(const char *s);

/* A catalogue's order from its reasons' names (n of them): the reasons
 * used, each at most once, "popular" only last. Returns NULL, or what is
 * wrong (a static string; at is then the name's index). */
const char *config_order_set(struct catalogue_config *cat, const char *const *names, size_t n,
                             size_t *at);

/* A catalogue's id_field: a control tag ("001") or TAG$CODE ("999$c"). */
int config_id_field_valid(const char *id_field);

/* Splits "host:port" (port 1..65535). Returns -1 if malformed;
 * *host is malloc'd (caller frees). */
int config_split_address(const char *addr, char **host, int *port);

#endif
