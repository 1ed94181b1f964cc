/* loan_event.h: loan events from the library system, checked and
 * pseudonymised: the one way into the loan model (ingest.h).
 *
 * Live events come as JSON (POST /v1/loans); files (onloan load) as CSV
 * with a header naming patron, record and time (or date), optionally
 * branch, id and type; as JSON lines; or as a MovieLens ratings.csv
 * (userId,movieId,rating,timestamp: each row a loan of that film's DVD,
 * record = ingest.movielens_record_prefix + movieId). Every event is
 * checked before any is used; a problem names the field and the event.
 *
 * An event is a loan unless its type says otherwise ("type" in JSON, a
 * "type" column in CSV, an empty cell a loan): a hold placed, filled or
 * cancelled. Only loans feed the model; loans and holds are attributed to
 * the touchpoints that showed their titles (ingest.h).
 *
 * The raw patron id is hashed here (pseudonym.h) and kept nowhere; an event
 * id, which may embed a card number, is hashed the same way. */
#ifndef ONLOAN_INGEST_LOAN_EVENT_H
#define ONLOAN_INGEST_LOAN_EVENT_H

#include <jansson.h>
#include <stddef.h>

#include "core/config.h"
#include "core/pseudonym.h"

#define LOAN_MAX_ID_BYTES 128
#define LOAN_MAX_FUTURE_S 86400         /* clocks differ; loans from tomorrow do not exist */

/* What the library system says happened. The names are the "type"
 * values; LOAN_EVENT_LOAN is 0, the default. */
enum loan_event_type {
    LOAN_EVENT_LOAN,                        /* "loan": a copy borrowed */
    LOAN_EVENT_HOLD,                        /* "hold": a hold (reservation) placed */
    LOAN_EVENT_HOLD_FILLED,                 /* "hold_filled": a copy waits for its holder */
    LOAN_EVENT_HOLD_CANCELLED,              /* "hold_cancelled" */
};
#define LOAN_EVENT_TYPES "loan, hold, hold_filled or hold_cancelled"

/* The type called name (n bytes), or -1. */
int loan_event_type_parse(const char *name, size_t n, enum loan_event_type *out);
const char *loan_event_type_name(enum loan_event_type type);

struct loan_event {
    char patron[PSEUDONYM_HEX_LEN + 1];     /* pseudonym, never the raw id */
    char id[PSEUDONYM_HEX_LEN + 1];         /* hashed event id, or "" */
    enum loan_event_type type;              /* in the padding after id: no bigger */
    char *record;                           /* owned: a block that holds branch too */
    char *branch;                           /* in record's block (not freed apart), or NULL */
    long long when;                         /* Unix seconds */
    size_t seq;                             /* index in its batch */
};

struct loan_batch {
    struct loan_event *ev;                  /* owned */
    size_t n, cap;
    int ordered;                            /* the events are in the order loan_order_by_patron
                                               puts them in already (the loader's jobs): the
                                               ingest need not order them again */
};

struct loan_problem {
    size_t index;                           /* event index in the batch (0-based) */
    size_t line;                            /* line in the text (1-based), 0 for JSON */
    const char *field;                      /* static */
    const char *message;                    /* static English text */
};

/* Parses a time: Unix seconds, YYYY-MM-DD (midnight UTC) or ISO 8601
 * YYYY-MM-DDTHH:MM:SS[.fff] with Z or +HH:MM/-HH:MM. -1 if malformed. */
int loan_time_parse(const char *s, long long *unix_seconds);

/* The same, and also the form library systems' exports write (SQL
 * DATETIME): a blank for the T, and no zone, read as UTC (a whole file
 * then moves by the same hours, its order and gaps kept). For CSV files,
 * not for what programs send. */
int loan_time_parse_export(const char *s, long long *unix_seconds);

/* What loans_from_json and loans_from_text found. Running out of memory
 * is never the input's fault: it has a status of its own, which callers
 * must not report as a problem of an event (HTTP: 503, not 400). */
enum loans_status {
    LOANS_OK,               /* every event good, all of them in the batch */
    LOANS_INVALID,          /* *nprobs problems (at most maxp of them in probs) */
    LOANS_NO_MEMORY,        /* out of memory: checking stopped there; the
                               batch holds the events taken before (free it) */
};

/* jansson does not always say when it runs out of memory (2.14 calls a
 * string it could not copy an "invalid token"): this routes its
 * allocations through a count of failures, which loan_json_load consults
 * so as never to blame the input for them. Call it once at start, before
 * any other jansson call. */
void loan_json_init(void);
/* json_loadb (rejecting duplicate keys) of a loan body or line: NULL with
 * *st LOANS_INVALID (jerr says what and where) or LOANS_NO_MEMORY. */
json_t *loan_json_load(const char *text, size_t len, json_error_t *jerr, enum loans_status *st);

/* Appends the events of a JSON body (one object or an array of them).
 * *nprobs is the number of problems found (at most maxp are filled); the
 * batch holds the good events. now bounds times in the future. */
enum loans_status loans_from_json(const json_t *body, const struct config *cfg, long long now,
                                  size_t max_events, struct loan_batch *out,
                                  struct loan_problem *probs, size_t maxp, size_t *nprobs);
/* The same for a text: CSV with a header, MovieLens ratings, or JSON
 * lines (told apart by the first line). */
enum loans_status loans_from_text(const char *text, size_t len, const struct config *cfg,
                                  long long now, size_t max_events, struct loan_batch *out,
                                  struct loan_problem *probs, size_t maxp, size_t *nprobs);

/* The same a line at a time, for a file read in blocks (onloan load):
 * what loans_from_text keeps between lines. Problems go to probs (the
 * first maxp of them; nprobs counts all). */
struct loan_text {
    size_t lineno;              /* lines read (1-based, as problems name them) */
    size_t index;               /* events read, good or bad */
    size_t nprobs;
    int have_header, format, stop;  /* stop: a bad header or too many events ended it */
    int col[7];                 /* a CSV's columns (loan_event.c) */
    char *line;                 /* owned scratch */
    size_t cap;
    struct loan_problem *probs;
    size_t maxp;
};
void loan_text_init(struct loan_text *t, struct loan_problem *probs, size_t maxp);
/* One line of n bytes (without its newline): its event appended to out,
 * LOANS_OK; or a problem recorded, LOANS_INVALID; or nothing (the header,
 * a blank line, anything after stop), LOANS_OK. LOANS_NO_MEMORY: nothing
 * of the line was taken. */
enum loans_status loan_text_line(struct loan_text *t, const char *line, size_t n,
                                 const struct config *cfg, long long now, size_t max_events,
                                 struct loan_batch *out);
/* A line not read (the reader's reasons: too long): counted, and a
 * problem of field with message (static). */
void loan_text_skip(struct loan_text *t, const char *field, const char *message);
/* The line just read, whose event the reader refuses after all (a limit
 * of its own): a problem of field with message (static), at that line.
 * Dropping the event is the caller's. */
void loan_text_refuse(struct loan_text *t, const char *field, const char *message);
/* After the last line: LOANS_INVALID if any problem was found (a text
 * without a single line is one: "no events"). */
enum loans_status loan_text_end(struct loan_text *t);
void loan_text_free(struct loan_text *t);

void loan_batch_free(struct loan_batch *b);

/* The order loans are applied in (qsort on struct loan_event): by patron,
 * then time, then arrival (seq). */
int loan_event_order(const void *x, const void *y);
/* Puts the n events ev[] points to in the order they are applied: each
 * patron's together (patrons in the order they first appear), in time,
 * then arrival order. Linear but for sorting within a patron; -1 when
 * out of memory (ev unchanged). */
int loan_order_by_patron(struct loan_event **ev, size_t n);

#endif
