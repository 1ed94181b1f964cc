/* params.c: see params.h. Query strings are split by libevent. */
#include "http/params.h"

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "core/ids.h"
#include "core/pseudonym.h"
#include "http/receipt.h"

/* Digits from s to end, a number that fits 64 bits (Redis's stream ids
 * are two: a larger one is no id, and Redis would refuse the read). */
static int u64_digits(const char *s, const char *end)
{
    uint64_t v = 0;
    if (s == end)
        return 0;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return 0;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    return 1;
}

int params_touchpoint_id(const char *s, size_t n, char out[TOUCHPOINT_ID_MAX_BYTES + 1])
{
    const char *dash = memchr(s, '-', n);
    if (!dash || n > TOUCHPOINT_ID_MAX_BYTES || !u64_digits(s, dash) ||
        !u64_digits(dash + 1, s + n))
        return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

/* An opaque session id: 1..SESSION_MAX_BYTES of printable ASCII. */
static int session_valid(const char *s)
{
    size_t n = strlen(s);
    for (const char *c = s; *c; c++)
        if (*c < 0x21 || *c > 0x7e)
            return 0;
    return n >= 1 && n <= SESSION_MAX_BYTES;
}

static const char *one_of(const char *v, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (strcmp(v, *allowed) == 0)
            return *allowed;
    return NULL;
}

static int fail(struct param_error *err, const char *field, const char *message)
{
    err->field = field;
    err->message = message;
    err->no_memory = 0;
    return -1;
}

/* A copy of a value that was fine, or -1 when out of memory. */
static int copy_value(char **dst, const char *v, struct param_error *err)
{
    if ((*dst = strdup(v)))
        return 0;
    fail(err, NULL, "out of memory");
    err->no_memory = 1;
    return -1;
}

/* libevent decodes a query string into C strings, in which an encoded NUL
 * byte (%00) would cut a value short without a word (record=f356%00x
 * asking for f356, patron=a%00b for patron a): the first known parameter
 * whose raw value holds one, or NULL. Names are compared raw, as libevent
 * takes them (it decodes values only). */
static const char *known_with_nul(const char *query, const char *const *known)
{
    for (const char *p = query; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t seg = amp ? (size_t)(amp - p) : strlen(p);
        if (memmem(p, seg, "%00", 3)) {
            const char *eq = memchr(p, '=', seg);
            size_t name_len = eq ? (size_t)(eq - p) : seg;
            for (const char *const *k = known; *k; k++)
                if (strlen(*k) == name_len && memcmp(*k, p, name_len) == 0)
                    return *k;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

int params_split_strict(const char *query, const char *const *known, struct evkeyvalq *q,
                        struct param_error *err)
{
    TAILQ_INIT(q);
    const char *cut = known_with_nul(query, known);
    if (cut)
        return fail(err, cut, "must not contain a NUL byte (%00)");
    if (evhttp_parse_query_str(query ? query : "", q) < 0)
        return fail(err, "query", "malformed query string");
    struct evkeyval *kv, *other;
    TAILQ_FOREACH(kv, q, next) {
        if (!one_of(kv->key, known)) {
            size_t n = strlen(kv->key);
            int printable = n >= 1 && n <= PARAM_NAME_MAX_BYTES;
            for (size_t i = 0; i < n && printable; i++)
                printable = kv->key[i] > 0x20 && kv->key[i] < 0x7f;
            if (!printable)
                return fail(err, "query", "holds a parameter this endpoint does not take");
            memcpy(err->name, kv->key, n + 1);
            return fail(err, err->name, "this endpoint does not take this parameter");
        }
        for (other = TAILQ_NEXT(kv, next); other; other = TAILQ_NEXT(other, next))
            if (strcmp(other->key, kv->key) == 0)
                return fail(err, one_of(kv->key, known), "given more than once");
    }
    return 0;
}

int params_parse_alternatives(const char *query, const struct config *cfg,
                              struct alt_params *p, struct param_error *err)
{
    static const char *const langs[] = {"nl", "en", NULL};
    static const char *const known[] = {"record", "branch", "limit", "lang", "channel",
                                        "catalogue", "patron", "session", "format", "width",
                                        NULL};
    static const char *const formats[] = {"json", "receipt", NULL};
    memset(p, 0, sizeof *p);
    p->width = RECEIPT_DEFAULT_WIDTH;
    p->limit = cfg->default_alternatives;
    p->lang = "nl";
    p->channel = channel_names[CHANNEL_OPAC];
    p->channel_id = CHANNEL_OPAC;

    const char *cut = known_with_nul(query, known);
    if (cut)
        return fail(err, cut, "must not contain a NUL byte (%00)");
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    if (evhttp_parse_query_str(query ? query : "", &q) < 0) {
        evhttp_clear_headers(&q);
        return fail(err, "query", "malformed query string");
    }
    int rc = 0;
    const char *seen[sizeof known / sizeof known[0]] = {0};
    struct evkeyval *kv;
    TAILQ_FOREACH(kv, &q, next) {
        const char *name = one_of(kv->key, known);
        if (!name)
            continue;       /* cache busters and the like are ignored */
        size_t idx = 0;
        while (known[idx] != name)
            idx++;
        if (seen[idx]) {
            rc = fail(err, name, "given more than once");
            break;
        }
        seen[idx] = kv->value;
        const char *v = kv->value;
        if (strcmp(name, "record") == 0) {
            if (!record_id_valid(v, cfg->max_record_id_bytes)) {
                rc = fail(err, "record", "must be 1 to limits.max_record_id_bytes characters of A-Z a-z 0-9 . _ : -");
                break;
            }
            if ((rc = copy_value(&p->record, v, err)) < 0)
                break;
        } else if (strcmp(name, "branch") == 0) {
            if (!branch_code_valid(v)) {
                rc = fail(err, "branch", "must be a branch code of 1 to 16 characters A-Z a-z 0-9 _ -");
                break;
            }
            if ((rc = copy_value(&p->branch, v, err)) < 0)
                break;
        } else if (strcmp(name, "format") == 0) {
            const char *f = one_of(v, formats);
            if (!f) {
                rc = fail(err, "format", "must be json or receipt");
                break;
            }
            p->receipt = f == formats[1];
        } else if (strcmp(name, "width") == 0) {
            char *end;
            long n = strtol(v, &end, 10);
            if (!(*v >= '0' && *v <= '9') || *end || n < RECEIPT_MIN_WIDTH ||
                n > RECEIPT_MAX_WIDTH) {
                rc = fail(err, "width", "must be a whole number from 16 to 80 (cells)");
                break;
            }
            p->width = (int)n;
        } else if (strcmp(name, "limit") == 0) {
            char *end;      /* digits only: strtol would also take " 5" and "+5" */
            long n = strtol(v, &end, 10);
            if (!(*v >= '0' && *v <= '9') || *end || n < 1 || n > cfg->max_alternatives) {
                rc = fail(err, "limit", "must be a whole number from 1 to limits.max_alternatives");
                break;
            }
            p->limit = (int)n;
        } else if (strcmp(name, "lang") == 0) {
            if (!(p->lang = one_of(v, langs))) {
                rc = fail(err, "lang", "must be nl or en");
                break;
            }
        } else if (strcmp(name, "channel") == 0) {
            if (!(p->channel = one_of(v, channel_names))) {
                rc = fail(err, "channel", "must be opac, kiosk, app or widget");
                break;
            }
            p->channel_id = CHANNEL_OPAC;
            while (channel_names[p->channel_id] != p->channel)
                p->channel_id++;
        } else if (strcmp(name, "session") == 0) {
            if (!session_valid(v)) {
                rc = fail(err, "session", "must be 1 to 64 printable ASCII characters");
                break;
            }
            if ((rc = copy_value(&p->session, v, err)) < 0)
                break;
        } else if (strcmp(name, "catalogue") == 0) {
            if (!config_catalogue(cfg, v)) {
                rc = fail(err, "catalogue", "no catalogue of that name is configured");
                break;
            }
            if ((rc = copy_value(&p->catalogue, v, err)) < 0)
                break;
        } else if (strcmp(name, "patron") == 0) {
            /* Hashed at once: the raw id goes no further than this. */
            if (pseudonymise_patron(cfg->patron_key, v, strlen(v), p->patron) < 0) {
                rc = fail(err, "patron", PATRON_RULE);
                break;
            }
        }
    }
    if (rc == 0 && !p->record)
        rc = fail(err, "record", "is required");
    evhttp_clear_headers(&q);
    if (rc < 0)
        params_free(p);
    return rc;
}

void params_free(struct alt_params *p)
{
    free(p->record);
    free(p->branch);
    free(p->catalogue);
    free(p->session);
    p->record = p->branch = p->catalogue = p->session = NULL;
    p->patron[0] = '\0';
}
