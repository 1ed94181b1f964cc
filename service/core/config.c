/* config.c: strict reading of the JSON configuration; see config.h.
 *
 * Each object is read by a table of known keys; whatever the table does
 * not name is reported as unknown. Reading goes on after an error so that
 * one check shows all of them.
 *
 * A secret is read by read_secret, whichever way it is given (KEY in the
 * file, or KEY_file): the one place that knows the published example
 * keys and where the secrets others may read are noted. A new secret
 * (redis.password, say) is one more read_secret call. */
#include "core/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/calendar.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/pseudonym.h"

const char *const score_measure_names[] = {"raw", "cosine", "jaccard", "llr", NULL};
const char *const holdings_mapping_names[] = {"koha952", "sirsi949", NULL};
const char *const channel_names[] = {"opac", "kiosk", "app", "widget", NULL};
const char *const reason_names[] = {"also_borrowed", "same_author", "same_subject", "popular",
                                    NULL};
const char *const rate_names[] = {"click_rate", "reserve_rate", "alternative_borrow_rate", NULL};

struct reader {
    const char *file;
    struct strbuf *errors;
    int nerrors;
    int demo;                   /* "demo": true */
    struct strbuf inline_secrets;   /* key paths of secrets written in the file itself,
                                     * one per line (example keys are none) */
    struct strbuf exposures;    /* config_exposures' lines */
};

/* Appends one line to out: fmt's text with every control character
 * (a newline in a key, say) written as \n, \t or \xHH, so that a line is
 * one error whatever the file holds, and none can pass for another. */
static void line_printf(struct strbuf *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void line_printf(struct strbuf *out, const char *fmt, ...)
{
    struct strbuf raw = {0};
    va_list ap;
    va_start(ap, fmt);
    int rc = strbuf_vprintf(&raw, fmt, ap);
    va_end(ap);
    for (size_t i = 0; rc == 0 && i < raw.len; i++) {
        unsigned char c = (unsigned char)raw.buf[i];
        if (c == '\n')
            rc = strbuf_puts(out, "\\n");
        else if (c == '\t')
            rc = strbuf_puts(out, "\\t");
        else if (c < 0x20 || c == 0x7f)
            rc = strbuf_printf(out, "\\x%02x", c);
        else
            rc = strbuf_append(out, raw.buf + i, 1);
    }
    strbuf_free(&raw);
    strbuf_puts(out, "\n");
}

static void config_error(struct reader *r, const char *path, const char *key,
                         const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void config_error(struct reader *r, const char *path, const char *key,
                         const char *fmt, ...)
{
    struct strbuf what = {0};
    va_list ap;
    va_start(ap, fmt);
    strbuf_vprintf(&what, fmt, ap);
    va_end(ap);
    line_printf(r->errors, "%s: %s%s%s: %s", r->file, path, *path ? "." : "", key,
                what.len ? what.buf : "out of memory");
    strbuf_free(&what);
    r->nerrors++;
}

/* Reports keys of obj that are not in known (NULL-terminated). */
static void check_unknown_keys(struct reader *r, const char *path, json_t *obj,
                               const char *const *known)
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value) {
        int found = 0;
        for (const char *const *k = known; *k; k++)
            if (strcmp(*k, key) == 0)
                found = 1;
        if (!found)
            config_error(r, path, key, "unknown key");
    }
}

static void read_string(struct reader *r, const char *path, json_t *obj,
                        const char *key, char **dst, const char *dflt)
{
    json_t *v = json_object_get(obj, key);
    const char *s = dflt;
    if (v && !json_is_string(v))
        config_error(r, path, key, "must be a string");
    else if (v)
        s = json_string_value(v);
    if (!s) {
        if (!v)
            config_error(r, path, key, "is required");
        return;
    }
    if (!*s) {
        config_error(r, path, key, "must not be empty");
        return;
    }
    free(*dst);
    if (!(*dst = strdup(s)))
        config_error(r, path, key, "out of memory");
}

static void read_bool(struct reader *r, const char *path, json_t *obj, const char *key, int *dst,
                      int dflt)
{
    json_t *v = json_object_get(obj, key);
    if (v && !json_is_boolean(v))
        config_error(r, path, key, "must be true or false");
    *dst = v && json_is_boolean(v) ? json_is_true(v) : dflt;
}

/* A string that names one of choices (NULL-terminated, the first is the
 * default): *dst becomes its index. The error lists them all. */
static void read_choice(struct reader *r, const char *path, json_t *obj,
                        const char *key, const char *const *choices, int *dst)
{
    char *s = NULL;
    read_string(r, path, obj, key, &s, choices[0]);
    if (!s)
        return;
    int i = 0;
    while (choices[i] && strcmp(s, choices[i]) != 0)
        i++;
    free(s);
    if (choices[i]) {
        *dst = i;
        return;
    }
    struct strbuf list = {0};
    int rc = 0;
    for (i = 0; choices[i]; i++)
        rc |= strbuf_printf(&list, "%s\"%s\"", !i ? "" : choices[i + 1] ? ", " : " or ", choices[i]);
    config_error(r, path, key, "must be %s", rc ? "one of the values docs/configuration.md lists" : strbuf_cstr(&list));
    strbuf_free(&list);
}

static void read_int(struct reader *r, const char *path, json_t *obj,
                     const char *key, int *dst, int dflt, int min, int max)
{
    json_t *v = json_object_get(obj, key);
    *dst = dflt;
    if (!v)
        return;
    if (!json_is_integer(v)) {
        config_error(r, path, key, "must be an integer");
        return;
    }
    json_int_t n = json_integer_value(v);
    if (n < min || n > max) {
        config_error(r, path, key, "must be between %d and %d", min, max);
        return;
    }
    *dst = (int)n;
}

static json_t *read_object(struct reader *r, const char *path, json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (v && !json_is_object(v)) {
        config_error(r, path, key, "must be an object");
        return NULL;
    }
    return v;
}

static void read_address(struct reader *r, const char *path, json_t *obj,
                         const char *key, const char *dflt, char **host, int *port)
{
    char *addr = NULL;
    read_string(r, path, obj, key, &addr, dflt);
    if (!addr)
        return;
    struct in_addr ip;
    if (config_split_address(addr, host, port) < 0)
        config_error(r, path, key, "must be IP:PORT, got \"%s\"", addr);
    else if (inet_pton(AF_INET, *host, &ip) != 1)
        config_error(r, path, key, "must be a numeric IPv4 address (no name look-ups), got \"%s\"", *host);
    free(addr);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The keys published with onloan, in config/onloan.json: fine for a
 * demo, no secret anywhere else. */
static const char *const example_hex_keys[] = {
    "6f6e6c6f616e2d64656d6f2d6b65792d6368616e67652d6d652d706c65617365",   /* privacy.patron_key */
    "746f756368706f696e742d746f6b656e2d64656d6f2d6b65792d6368616e6765",   /* touchpoints.token_key */
    NULL};
#define EXAMPLE_KEY_PREFIX "demo-"
#define EXAMPLE_KEY_SUFFIX "-key-change-me"     /* the API keys: demo-ingest-key-change-me... */

static int key_is_example(const char *key, size_t len)
{
    for (const char *const *k = example_hex_keys; *k; k++)
        if (len == strlen(*k) && strncasecmp(key, *k, len) == 0)
            return 1;
    size_t p = sizeof EXAMPLE_KEY_PREFIX - 1, x = sizeof EXAMPLE_KEY_SUFFIX - 1;
    return len >= p + x && strncmp(key, EXAMPLE_KEY_PREFIX, p) == 0 &&
           memcmp(key + len - x, EXAMPLE_KEY_SUFFIX, x) == 0;
}

/* Reads the KEY_file at file (an absolute path, or a credential name in
 * $CREDENTIALS_DIRECTORY) for the key at path.key: its one line,
 * malloc'd (caller wipes and frees), or NULL after an error. */
static char *read_secret_file(struct reader *r, const char *path, const char *key,
                              const char *file, size_t *len)
{
    struct strbuf full = {0};
    char *out = NULL;
    int fd = -1, credential = !strchr(file, '/');
    if (!credential) {
        if (file[0] != '/') {
            config_error(r, path, key, "must be an absolute path, or the name of a systemd "
                         "credential (no '/'), got \"%s\"", file);
            return NULL;
        }
        if (strbuf_puts(&full, file) < 0)
            goto no_memory;
    } else {
        const char *dir = getenv("CREDENTIALS_DIRECTORY");
        if (strcmp(file, ".") == 0 || strcmp(file, "..") == 0) {
            config_error(r, path, key, "\"%s\" is not a credential name", file);
            return NULL;
        }
        if (!dir || dir[0] != '/') {
            config_error(r, path, key, "\"%s\" is the name of a credential, but "
                         "CREDENTIALS_DIRECTORY is not set (systemd's LoadCredential= sets "
                         "it); or give an absolute path", file);
            return NULL;
        }
        if (strbuf_printf(&full, "%s/%s", dir, file) < 0)
            goto no_memory;
    }
    const char *name = strbuf_cstr(&full);
    /* O_NONBLOCK: a FIFO named here must not hang the check. */
    fd = open(name, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        config_error(r, path, key, "%s: cannot read: %s", name, strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        config_error(r, path, key, "%s: is not a regular file", name);
        goto done;
    }
    if (st.st_size > SECRET_FILE_MAX_BYTES) {
        config_error(r, path, key, "%s: is larger than %d bytes: not a key", name,
                     SECRET_FILE_MAX_BYTES);
        goto done;
    }
    if (!(out = malloc(SECRET_FILE_MAX_BYTES + 2)))
        goto no_memory;
    size_t n = 0;
    for (;;) {
        ssize_t got = read(fd, out + n, SECRET_FILE_MAX_BYTES + 1 - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            config_error(r, path, key, "%s: cannot read: %s", name, strerror(errno));
            goto wipe;
        }
        if (got == 0 || (n += (size_t)got) > SECRET_FILE_MAX_BYTES)
            break;
    }
    if (n > SECRET_FILE_MAX_BYTES) {        /* it grew since fstat */
        config_error(r, path, key, "%s: is larger than %d bytes: not a key", name,
                     SECRET_FILE_MAX_BYTES);
        goto wipe;
    }
    if (n > 0 && out[n - 1] == '\n')
        n--;
    out[n] = '\0';
    if (n == 0) {
        config_error(r, path, key, "%s: is empty", name);
        goto wipe;
    }
    if (memchr(out, '\0', n) || memchr(out, '\n', n) || memchr(out, '\r', n)) {
        config_error(r, path, key, "%s: must hold the key alone on one line", name);
        goto wipe;
    }
    /* A credential's access is systemd's: it grants the service alone read
     * access, by an ACL where the file system has them (the mode's group
     * bits are then the ACL's mask, not a group's access), in a directory
     * that is the service's. Any other key file must be its owner's alone. */
    if (!credential && (st.st_mode & (S_IRGRP | S_IROTH)))
        line_printf(&r->exposures, "%s: %s%s%s: %s: its group or others can read it (mode "
                    "%04o): chmod go= it", r->file, path, *path ? "." : "", key, name,
                    (unsigned)(st.st_mode & 07777));
    *len = n;
    goto done;
no_memory:
    config_error(r, path, key, "out of memory");
    goto done;
wipe:
    sodium_memzero(out, SECRET_FILE_MAX_BYTES + 2);
    free(out);
    out = NULL;
done:
    if (fd >= 0)
        close(fd);
    strbuf_free(&full);
    return out;
}

/* A secret at path.key, written there or in the file path.key_file
 * (exactly one of the two). Returns it malloc'd (caller wipes and frees)
 * with its length, and in *given the key it came from (for messages);
 * NULL when absent (an error if required) or wrong. */
static char *read_secret(struct reader *r, const char *path, json_t *obj, const char *key,
                         int required, size_t *len, const char **given)
{
    char file_key[64];
    snprintf(file_key, sizeof file_key, "%s_file", key);
    json_t *v = json_object_get(obj, key), *f = json_object_get(obj, file_key);
    *given = key;
    if (v && f) {
        config_error(r, path, key, "give %s or %s, not both", key, file_key);
        return NULL;
    }
    if (!v && !f) {
        if (required)
            config_error(r, path, key, "is required (or %s, a file that holds it)", file_key);
        return NULL;
    }
    char *s = NULL;
    if (v) {
        read_string(r, path, obj, key, &s, NULL);
        if (!s)
            return NULL;
        *len = strlen(s);
    } else {
        char *file = NULL;
        read_string(r, path, obj, file_key, &file, NULL);
        if (!file)
            return NULL;
        s = read_secret_file(r, path, file_key, file, len);
        free(file);
        if (!s)
            return NULL;
    }
    if (key_is_example(s, *len)) {
        if (!r->demo) {
            config_error(r, path, v ? key : file_key, "is a key published with onloan (for "
                         "demos, with \"demo\": true): make one of your own");
            sodium_memzero(s, *len);
            free(s);
            return NULL;
        }
    } else if (v) {
        strbuf_printf(&r->inline_secrets, "%s%s%s\n", path, *path ? "." : "", key);
    }
    /* the object's own copy of the name: file_key is gone on return */
    *given = v ? key : json_object_iter_key(json_object_iter_at(obj, file_key));
    return s;
}

/* A required key of n bytes, written as 2n hexadecimal digits, inline or
 * in a file (read_secret). */
static void read_hex_key(struct reader *r, const char *path, json_t *obj, const char *key,
                         unsigned char *dst, int n)
{
    size_t len = 0;
    const char *given;
    char *hex = read_secret(r, path, obj, key, 1, &len, &given);
    if (!hex)
        return;
    if (len != 2 * (size_t)n) {
        config_error(r, path, given, "must be %d hexadecimal digits (%d bytes)", 2 * n, n);
    } else {
        for (int i = 0; i < n; i++) {
            int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                config_error(r, path, given, "must be hexadecimal");
                break;
            }
            dst[i] = (unsigned char)(hi << 4 | lo);
        }
    }
    sodium_memzero(hex, len);
    free(hex);
}

long config_date_days(const char *s)
{
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
            return -1;
    long y = strtol(s, NULL, 10);
    unsigned m = (unsigned)((s[5] - '0') * 10 + (s[6] - '0'));
    unsigned d = (unsigned)((s[8] - '0') * 10 + (s[9] - '0'));
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] || (m == 2 && d == 29 && !leap))
        return -1;
    return cal_days_from_civil(y, m, d);
}

/* A date YYYY-MM-DD into dst (11 bytes); required unless dflt. */
static void read_date(struct reader *r, const char *path, json_t *obj, const char *key,
                      char dst[11], const char *dflt)
{
    char *s = NULL;
    read_string(r, path, obj, key, &s, dflt);
    if (!s)
        return;
    if (config_date_days(s) < 0)
        config_error(r, path, key, "must be a date YYYY-MM-DD, got \"%s\"", s);
    else
        memcpy(dst, s, 11);
    free(s);
}

/* A name of an experiment, arm or goal: 1..NAME_MAX_BYTES bytes. */
static int name_ok(const char *s, int strict)
{
    size_t n = strlen(s);
    if (n == 0 || n > NAME_MAX_BYTES)
        return 0;
    for (const char *p = s; *p && strict; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
            return 0;
    return 1;
}

/* Leaves *dst as it is when the key is absent. */
static void read_scoring(struct reader *r, const char *path, json_t *obj, enum score_measure *dst)
{
    int m = (int)*dst;
    if (json_object_get(obj, "scoring"))
        read_choice(r, path, obj, "scoring", score_measure_names, &m);
    *dst = (enum score_measure)m;
}

int config_id_field_valid(const char *f)
{
    if (strlen(f) < 3 || !isdigit((unsigned char)f[0]) || !isdigit((unsigned char)f[1]) ||
        !isdigit((unsigned char)f[2]))
        return 0;
    if (f[3] == '\0')
        return strncmp(f, "010", 3) < 0;     /* control fields 001-009 */
    return f[3] == '$' && isalnum((unsigned char)f[4]) && f[5] == '\0';
}

static void read_api_keys(struct reader *r, json_t *root, struct config *cfg)
{
    json_t *keys = json_object_get(root, "api_keys");
    if (!keys)
        return;
    if (!json_is_array(keys)) {
        config_error(r, "", "api_keys", "must be an array of {name, key, roles}");
        return;
    }
    if (pseudonym_init() < 0) {
        config_error(r, "", "api_keys", "cannot initialise libsodium");
        return;
    }
    cfg->api_keys = calloc(json_array_size(keys) + 1, sizeof *cfg->api_keys);
    if (!cfg->api_keys) {
        config_error(r, "", "api_keys", "out of memory");
        return;
    }
    static const char *const known[] = {"name", "key", "key_file", "roles", NULL};
    int min = r->demo ? API_KEY_DEMO_MIN_BYTES : API_KEY_MIN_BYTES;
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k) {
        char path[48];
        snprintf(path, sizeof path, "api_keys[%zu]", i);
        if (!json_is_object(k)) {
            config_error(r, "", path, "must be an object {name, key, roles}");
            continue;
        }
        struct api_key *ak = &cfg->api_keys[cfg->napi_keys++];
        check_unknown_keys(r, path, k, known);
        read_string(r, path, k, "name", &ak->name, NULL);
        size_t len = 0;
        const char *given;
        char *key = read_secret(r, path, k, "key", 1, &len, &given);
        int hashed = 0;
        if (key && len < (size_t)min) {
            config_error(r, path, given, "must be at least %d characters%s", min,
                         r->demo ? "" : " (a demo, with \"demo\": true, takes 16)");
        } else if (key) {
            crypto_generichash(ak->hash, sizeof ak->hash, (const unsigned char *)key, len, NULL, 0);
            hashed = 1;
        }
        if (key)
            sodium_memzero(key, len);
        free(key);
        json_t *roles = json_object_get(k, "roles");
        size_t j;
        json_t *role;
        if (!json_is_array(roles) || json_array_size(roles) == 0) {
            config_error(r, path, "roles", "must be a non-empty array of \"ingest\", \"forget\", \"report\", "
                         "\"personalise\"");
            continue;
        }
        json_array_foreach(roles, j, role) {
            const char *name = json_string_value(role);
            if (name && strcmp(name, "ingest") == 0)
                ak->roles |= ROLE_INGEST;
            else if (name && strcmp(name, "forget") == 0)
                ak->roles |= ROLE_FORGET;
            else if (name && strcmp(name, "report") == 0)
                ak->roles |= ROLE_REPORT;
            else if (name && strcmp(name, "personalise") == 0)
                ak->roles |= ROLE_PERSONALISE;
            else
                config_error(r, path, "roles", "unknown role (known: ingest, forget, report, personalise)");
        }
        for (size_t m = 0; m + 1 < cfg->napi_keys; m++)
            if (hashed && sodium_memcmp(cfg->api_keys[m].hash, ak->hash, sizeof ak->hash) == 0)
                config_error(r, path, given, "is the same as api_keys[%zu].key", m);
    }
}

unsigned config_api_key_roles(const struct config *cfg, const char *key, size_t len,
                              const char **name)
{
    unsigned char hash[API_KEY_HASH_BYTES];
    unsigned roles = 0;
    crypto_generichash(hash, sizeof hash, (const unsigned char *)key, len, NULL, 0);
    *name = NULL;
    for (size_t i = 0; i < cfg->napi_keys; i++) {
        /* No early exit: every key is compared. */
        if (sodium_memcmp(cfg->api_keys[i].hash, hash, sizeof hash) == 0) {
            roles = cfg->api_keys[i].roles;
            *name = cfg->api_keys[i].name;
        }
    }
    return roles;
}

/* fit: which of format, audience and language an alternative must share
 * with the wanted title; each at most once. All three unless given. */
static void read_fit(struct reader *r, const char *path, json_t *obj, unsigned *fit)
{
    static const char *const names[] = {"format", "audience", "language"};
    static const unsigned bits[] = {FIT_FORMAT, FIT_AUDIENCE, FIT_LANGUAGE};
    json_t *a = json_object_get(obj, "fit"), *v;
    size_t i;
    *fit = FIT_ALL;
    if (!a)
        return;
    if (!json_is_array(a)) {
        config_error(r, path, "fit", "must be an array of \"format\", \"audience\", \"language\"");
        return;
    }
    *fit = 0;
    json_array_foreach(a, i, v) {
        unsigned bit = 0;
        for (size_t k = 0; json_is_string(v) && k < 3; k++)
            if (strcmp(json_string_value(v), names[k]) == 0)
                bit = bits[k];
        if (!bit)
            config_error(r, path, "fit", "element %zu must be \"format\", \"audience\" or "
                         "\"language\"", i);
        else if (*fit & bit)
            config_error(r, path, "fit", "names \"%s\" twice", json_string_value(v));
        *fit |= bit;
    }
}

const char *config_order_set(struct catalogue_config *cat, const char *const *names, size_t n,
                             size_t *at)
{
    unsigned seen = 0;
    cat->norder = 0;
    if (n == 0 || n > NREASONS) {
        *at = 0;
        return "must name 1 to 4 of the reasons";
    }
    for (size_t i = 0; i < n; i++) {
        int k = 0;
        while (reason_names[k] && strcmp(reason_names[k], names[i]) != 0)
            k++;
        *at = i;
        if (!reason_names[k])
            return "is not a reason: \"also_borrowed\", \"same_author\", \"same_subject\" "
                   "or \"popular\"";
        if (seen & (1u << k))
            return "is named twice";
        if (k == REASON_POPULAR && i != n - 1)
            return "can only come last";
        seen |= 1u << k;
        cat->order[cat->norder++] = (enum reason)k;
    }
    return NULL;
}

/* order: the reasons used, in the order shown; unless given, all four
 * with the wanted title's author first: on library loans a patron's next
 * new title is more often by the same author than among the titles its
 * borrowers borrowed (docs/evaluation.md, "The order of reasons"). */
static void read_order(struct reader *r, const char *path, json_t *obj,
                       struct catalogue_config *cat)
{
    json_t *a = json_object_get(obj, "order"), *v;
    const char *names[NREASONS];
    size_t i, at;
    if (!a) {
        static const enum reason author_first[NREASONS] = {
            REASON_SAME_AUTHOR, REASON_ALSO_BORROWED, REASON_SAME_SUBJECT, REASON_POPULAR};
        memcpy(cat->order, author_first, sizeof author_first);
        cat->norder = NREASONS;
        return;
    }
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > NREASONS) {
        config_error(r, path, "order", "must be an array of 1 to 4 of \"also_borrowed\", "
                     "\"same_author\", \"same_subject\", \"popular\"");
        return;
    }
    json_array_foreach(a, i, v) {
        if (!json_is_string(v)) {
            config_error(r, path, "order", "element %zu must be a string", i);
            return;
        }
        names[i] = json_string_value(v);
    }
    const char *wrong = config_order_set(cat, names, json_array_size(a), &at);
    if (wrong)
        config_error(r, path, "order", "element %zu (\"%s\") %s", at, names[at], wrong);
}

static void read_catalogue(struct reader *r, const char *path, json_t *obj,
                           struct catalogue_config *cat)
{
    static const char *const known[] = {
        "name", "target", "protocol", "holdings", "id_field", "record_charset",
        "id_query", "connections", "timeout_ms", "cache_ms", "cache_max_entries", "batch_max",
        "join_max", "subject_max_hits", "search_max_records", "max_queued", "scoring", "fit", "order",
        "loan_period_days", "link", NULL};
    check_unknown_keys(r, path, obj, known);
    read_string(r, path, obj, "name", &cat->name, NULL);
    if (cat->name && !name_ok(cat->name, 1))
        config_error(r, path, "name", "must be 1 to %d characters of A-Z a-z 0-9 _ -",
                     NAME_MAX_BYTES);
    read_string(r, path, obj, "target", &cat->target, NULL);
    if (cat->target && !strchr(cat->target, '/'))
        config_error(r, path, "target", "must be HOST:PORT/DATABASE");

    static const char *const protocols[] = {"z3950", "sru", NULL};      /* enum catalogue_protocol */
    static const char *const id_queries[] = {"or", "regex", NULL};      /* enum id_query */
    int choice = 0;
    read_choice(r, path, obj, "protocol", protocols, &choice);
    cat->protocol = (enum catalogue_protocol)choice;
    choice = 0;
    read_choice(r, path, obj, "id_query", id_queries, &choice);
    cat->id_query = (enum id_query)choice;

    choice = 0;
    read_choice(r, path, obj, "holdings", holdings_mapping_names, &choice);
    cat->holdings = (enum holdings_mapping)choice;
    read_string(r, path, obj, "id_field", &cat->id_field, "001");
    if (cat->id_field && !config_id_field_valid(cat->id_field))
        config_error(r, path, "id_field", "must be a control tag like \"001\" or TAG$CODE like \"999$c\"");
    read_string(r, path, obj, "record_charset", &cat->record_charset, "marc8s");
    read_int(r, path, obj, "connections", &cat->connections, 4, 1, 64);
    read_int(r, path, obj, "timeout_ms", &cat->timeout_ms, 1000, 10, 60000);
    read_int(r, path, obj, "cache_ms", &cat->cache_ms, 5000, 0, 60000);
    read_int(r, path, obj, "cache_max_entries", &cat->cache_max_entries, 100000, 0, 10000000);
    read_int(r, path, obj, "batch_max", &cat->batch_max, 10, 1, 100);
    read_int(r, path, obj, "join_max", &cat->join_max, 50, 1, 1000);
    if (cat->join_max < cat->batch_max)
        config_error(r, path, "join_max", "must be at least batch_max (%d)", cat->batch_max);
    read_int(r, path, obj, "subject_max_hits", &cat->subject_max_hits, 200, 0, 1000000);
    read_int(r, path, obj, "search_max_records", &cat->search_max_records, 200, 1, 1000);
    read_int(r, path, obj, "max_queued", &cat->max_queued, 1000, 1, 1000000);
    read_scoring(r, path, obj, &cat->scoring);      /* model.scoring unless given */
    read_fit(r, path, obj, &cat->fit);
    read_order(r, path, obj, cat);
    read_int(r, path, obj, "loan_period_days", &cat->loan_period_days, 21, 1, 365);

    json_t *link = json_object_get(obj, "link");
    if (!link)
        config_error(r, path, "link", "is required (e.g. {\"plugin\": \"koha\", \"base_url\": ...})");
    else if (!json_is_object(link) || !json_is_string(json_object_get(link, "plugin")))
        config_error(r, path, "link", "must be an object with a string \"plugin\"");
    else
        cat->link = json_incref(link);
}

/* touchpoints: the outcome tokens' key and life, the attribution window. */
static void read_touchpoints(struct reader *r, json_t *root, struct config *cfg)
{
    static const char *const known[] = {"token_key", "token_key_file", "token_ttl_s",
                                        "attribution_days", NULL};
    json_t *tp = read_object(r, "", root, "touchpoints");
    if (!tp) {
        config_error(r, "", "touchpoints", "is required (it holds token_key)");
        return;
    }
    check_unknown_keys(r, "touchpoints", tp, known);
    read_hex_key(r, "touchpoints", tp, "token_key", cfg->token_key, TOKEN_KEY_BYTES);
    read_int(r, "touchpoints", tp, "token_ttl_s", &cfg->token_ttl_s, 604800, 60, 31536000);
    read_int(r, "touchpoints", tp, "attribution_days", &cfg->attribution_days, 14, 1, 365);
}

/* http.cors_origins: the exact origins (scheme://host[:port]) whose pages
 * may call onloan from a browser. */
static void read_http(struct reader *r, json_t *root, struct config *cfg)
{
    static const char *const known[] = {"cors_origins", NULL};
    json_t *http = read_object(r, "", root, "http");
    if (!http)
        return;
    check_unknown_keys(r, "http", http, known);
    json_t *origins = json_object_get(http, "cors_origins");
    if (!origins)
        return;
    if (!json_is_array(origins)) {
        config_error(r, "http", "cors_origins", "must be an array of origins");
        return;
    }
    cfg->cors_origins = calloc(json_array_size(origins) + 1, sizeof *cfg->cors_origins);
    if (!cfg->cors_origins) {
        config_error(r, "http", "cors_origins", "out of memory");
        return;
    }
    size_t i;
    json_t *o;
    json_array_foreach(origins, i, o) {
        const char *s = json_string_value(o);
        const char *host = s ? strstr(s, "://") : NULL;
        if (!s || !host || host == s || !host[3] || strchr(host + 3, '/') || strchr(s, '*') ||
            strlen(s) > 256) {
            config_error(r, "http", "cors_origins",
                         "[%zu] must be an exact origin such as \"https://opac.example.org\" "
                         "(no path, no wildcard)", i);
            continue;
        }
        if (!(cfg->cors_origins[cfg->ncors_origins] = strdup(s))) {
            config_error(r, "http", "cors_origins", "out of memory");
            return;
        }
        cfg->ncors_origins++;
    }
}

static void read_arm(struct reader *r, const char *path, json_t *obj, const struct config *cfg,
                     struct arm_config *arm)
{
    static const char *const known[] = {"name", "share", "alternatives", "scoring", "fallbacks",
                                        NULL};
    check_unknown_keys(r, path, obj, known);
    read_string(r, path, obj, "name", &arm->name, NULL);
    if (arm->name && !name_ok(arm->name, 1))
        config_error(r, path, "name", "must be 1 to %d characters of A-Z a-z 0-9 _ -",
                     NAME_MAX_BYTES);
    read_int(r, path, obj, "share", &arm->share, 0, 1, 100);
    if (!json_object_get(obj, "share"))
        config_error(r, path, "share", "is required (a percentage; the arms add up to 100)");
    arm->alternatives = -1;
    if (json_object_get(obj, "alternatives"))
        read_int(r, path, obj, "alternatives", &arm->alternatives, -1, 0, cfg->max_alternatives);
    arm->scoring = -1;
    if (json_object_get(obj, "scoring"))
        read_choice(r, path, obj, "scoring", score_measure_names, &arm->scoring);
    arm->fallbacks = -1;
    json_t *fb = json_object_get(obj, "fallbacks");
    if (fb && !json_is_boolean(fb))
        config_error(r, path, "fallbacks", "must be true or false");
    else if (fb)
        arm->fallbacks = json_is_true(fb);
}

static void read_experiment(struct reader *r, const char *path, json_t *obj,
                            const struct config *cfg, struct experiment_config *ex)
{
    static const char *const known[] = {"name", "from", "until", "channels", "arms", NULL};
    check_unknown_keys(r, path, obj, known);
    read_string(r, path, obj, "name", &ex->name, NULL);
    if (ex->name && !name_ok(ex->name, 1))
        config_error(r, path, "name", "must be 1 to %d characters of A-Z a-z 0-9 _ -",
                     NAME_MAX_BYTES);
    read_date(r, path, obj, "from", ex->from, NULL);
    read_date(r, path, obj, "until", ex->until, NULL);
    if (ex->from[0] && ex->until[0] && config_date_days(ex->until) <= config_date_days(ex->from))
        config_error(r, path, "until", "must be after from");
    json_t *channels = json_object_get(obj, "channels");
    size_t i;
    json_t *v;
    if (!json_is_array(channels) || json_array_size(channels) == 0) {
        config_error(r, path, "channels", "must be a non-empty array of opac, kiosk, app, widget");
    } else {
        json_array_foreach(channels, i, v) {
            int c = 0;
            const char *s = json_string_value(v);
            while (s && channel_names[c] && strcmp(channel_names[c], s) != 0)
                c++;
            if (!s || !channel_names[c])
                config_error(r, path, "channels", "[%zu] must be opac, kiosk, app or widget", i);
            else
                ex->channels |= 1u << c;
        }
    }
    json_t *arms = json_object_get(obj, "arms");
    if (!json_is_array(arms) || json_array_size(arms) < 2) {
        config_error(r, path, "arms", "must be an array of at least two arms");
        return;
    }
    if (!(ex->arms = calloc(json_array_size(arms), sizeof *ex->arms))) {
        config_error(r, path, "arms", "out of memory");
        return;
    }
    int total = 0;
    json_array_foreach(arms, i, v) {
        char apath[160];
        snprintf(apath, sizeof apath, "%s.arms[%zu]", path, i);
        if (!json_is_object(v)) {
            config_error(r, path, "arms", "[%zu] must be an object", i);
            continue;
        }
        struct arm_config *arm = &ex->arms[ex->narms++];
        read_arm(r, apath, v, cfg, arm);
        total += arm->share;
        for (size_t j = 0; j + 1 < ex->narms; j++)
            if (arm->name && ex->arms[j].name && strcmp(arm->name, ex->arms[j].name) == 0)
                config_error(r, apath, "name", "\"%s\" is used twice", arm->name);
    }
    if (total != 100)
        config_error(r, path, "arms", "shares must add up to 100, not %d", total);
}

static void read_experiments(struct reader *r, json_t *root, struct config *cfg)
{
    json_t *list = json_object_get(root, "experiments");
    if (!list)
        return;
    if (!json_is_array(list)) {
        config_error(r, "", "experiments", "must be an array of experiments");
        return;
    }
    if (!(cfg->experiments = calloc(json_array_size(list) + 1, sizeof *cfg->experiments))) {
        config_error(r, "", "experiments", "out of memory");
        return;
    }
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        char path[48];
        snprintf(path, sizeof path, "experiments[%zu]", i);
        if (!json_is_object(v)) {
            config_error(r, "", path, "must be an object");
            continue;
        }
        struct experiment_config *ex = &cfg->experiments[cfg->nexperiments++];
        read_experiment(r, path, v, cfg, ex);
        for (size_t j = 0; j + 1 < cfg->nexperiments; j++) {
            const struct experiment_config *o = &cfg->experiments[j];
            if (ex->name && o->name && strcmp(ex->name, o->name) == 0)
                config_error(r, path, "name", "\"%s\" is used twice", ex->name);
            /* at most one experiment per channel at a time */
            if ((ex->channels & o->channels) && ex->from[0] && ex->until[0] && o->from[0] &&
                o->until[0] && strcmp(ex->from, o->until) < 0 && strcmp(o->from, ex->until) < 0)
                config_error(r, path, "channels", "experiments[%zu] runs on the same channel "
                             "at the same time (at most one experiment per channel)", j);
        }
    }
}

static void read_goal(struct reader *r, const char *path, json_t *obj, struct goal_config *g)
{
    static const char *const known[] = {"name", "metric", "target", "from", "by", "segment",
                                        NULL};
    static const char *const known_segment[] = {"catalogue", "branch", "channel", "arm", NULL};
    check_unknown_keys(r, path, obj, known);
    read_string(r, path, obj, "name", &g->name, NULL);
    if (g->name && !name_ok(g->name, 0))
        config_error(r, path, "name", "must be 1 to %d bytes", NAME_MAX_BYTES);
    int metric = 0;
    read_choice(r, path, obj, "metric", rate_names, &metric);
    g->metric = (enum rate)metric;
    json_t *t = json_object_get(obj, "target");
    if (!json_is_number(t) || json_number_value(t) <= 0 || json_number_value(t) > 1)
        config_error(r, path, "target", "must be a rate above 0 and at most 1 (0.06 is 6 %%)");
    else
        g->target = json_number_value(t);
    read_date(r, path, obj, "by", g->by, NULL);
    if (json_object_get(obj, "from"))       /* else: a year before by (report/goals.h) */
        read_date(r, path, obj, "from", g->from, NULL);
    if (g->from[0] && g->by[0] && config_date_days(g->by) < config_date_days(g->from))
        config_error(r, path, "by", "must not be before from");
    g->channel = -1;
    json_t *seg = json_object_get(obj, "segment");
    if (!seg)
        return;
    if (!json_is_object(seg)) {
        config_error(r, path, "segment", "must be an object of catalogue, branch, channel, arm");
        return;
    }
    char spath[160];
    snprintf(spath, sizeof spath, "%s.segment", path);
    check_unknown_keys(r, spath, seg, known_segment);
    if (json_object_get(seg, "channel")) {
        int c = 0;
        read_choice(r, spath, seg, "channel", channel_names, &c);
        g->channel = c;
    }
    if (json_object_get(seg, "catalogue"))
        read_string(r, spath, seg, "catalogue", &g->catalogue, NULL);
    if (json_object_get(seg, "branch"))
        read_string(r, spath, seg, "branch", &g->branch, NULL);
    if (g->branch && !branch_code_valid(g->branch))
        config_error(r, spath, "branch", "must be a branch code");
    if (json_object_get(seg, "arm"))
        read_string(r, spath, seg, "arm", &g->arm, NULL);
}

static void read_branch_names(struct reader *r, json_t *root, struct config *cfg)
{
    json_t *obj = json_object_get(root, "branches");
    if (!obj)
        return;
    if (!json_is_object(obj) || json_object_size(obj) > CONFIG_MAX_BRANCHES) {
        config_error(r, "", "branches", "must be an object of at most 1000 branch codes, each "
                     "with its name for patrons (\"CEN\": \"Centrale Bibliotheek\")");
        return;
    }
    if (!(cfg->branch_names = calloc(json_object_size(obj) + 1, sizeof *cfg->branch_names))) {
        config_error(r, "", "branches", "out of memory");
        return;
    }
    const char *code;
    json_t *v;
    json_object_foreach(obj, code, v) {
        const char *name = json_string_value(v);
        if (!branch_code_valid(code))
            config_error(r, "branches", code, "is not a branch code (1 to 16 characters of "
                         "A-Z a-z 0-9 _ -)");
        else if (!name || !*name || strlen(name) > CONFIG_MAX_BRANCH_NAME_BYTES)
            config_error(r, "branches", code, "must be the branch's name: a string of 1 to 100 "
                         "bytes");
        else {
            struct branch_name *b = &cfg->branch_names[cfg->nbranch_names];
            if (!(b->code = strdup(code)) || !(b->name = strdup(name))) {
                free(b->code);
                config_error(r, "branches", code, "out of memory");
                continue;
            }
            cfg->nbranch_names++;
        }
    }
}

const char *config_branch_name(const struct config *cfg, const char *code)
{
    for (size_t i = 0; i < cfg->nbranch_names; i++)
        if (strcmp(cfg->branch_names[i].code, code) == 0)
            return cfg->branch_names[i].name;
    return code;
}

static void read_goals(struct reader *r, json_t *root, struct config *cfg)
{
    json_t *list = json_object_get(root, "goals");
    if (!list)
        return;
    if (!json_is_array(list)) {
        config_error(r, "", "goals", "must be an array of goals");
        return;
    }
    if (!(cfg->goals = calloc(json_array_size(list) + 1, sizeof *cfg->goals))) {
        config_error(r, "", "goals", "out of memory");
        return;
    }
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        char path[48];
        snprintf(path, sizeof path, "goals[%zu]", i);
        if (!json_is_object(v)) {
            config_error(r, "", path, "must be an object");
            continue;
        }
        struct goal_config *g = &cfg->goals[cfg->ngoals++];
        read_goal(r, path, v, g);
        /* a goal is a report of its days: reports.max_days at most (its
         * from defaults to a year before by) */
        long by = g->by[0] ? config_date_days(g->by) : -1;
        long from = g->from[0] ? config_date_days(g->from) : by >= 0 ? cal_year_before(by) : -1;
        if (by >= 0 && from >= 0 && by - from + 1 > cfg->report_max_days && g->from[0])
            config_error(r, path, "from", "from..by spans %ld days, more than reports.max_days "
                         "(%d)", by - from + 1, cfg->report_max_days);
        else if (by >= 0 && from >= 0 && by - from + 1 > cfg->report_max_days)
            config_error(r, path, "by", "spans %ld days from its default from (a year before "
                         "by), more than reports.max_days (%d): set from", by - from + 1,
                         cfg->report_max_days);
        for (size_t j = 0; j + 1 < cfg->ngoals; j++)
            if (g->name && cfg->goals[j].name && strcmp(g->name, cfg->goals[j].name) == 0)
                config_error(r, path, "name", "\"%s\" is used twice", g->name);
    }
}

/* redis.sentinels (["IP:PORT", ...], at most MAX_SENTINELS), with
 * redis.master_name and optionally redis.sentinel_password(_file). The
 * Sentinels give the primary's address; redis.address then must not be
 * given too (two answers to one question). */
#define MAX_SENTINELS 16
static void read_sentinels(struct reader *r, json_t *redis, struct config *cfg)
{
    json_t *list = json_object_get(redis, "sentinels");
    if (!list) {
        if (json_object_get(redis, "master_name"))
            config_error(r, "redis", "master_name", "needs sentinels");
        if (json_object_get(redis, "sentinel_password") || json_object_get(redis, "sentinel_password_file"))
            config_error(r, "redis", "sentinel_password", "needs sentinels");
        return;
    }
    if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > MAX_SENTINELS) {
        config_error(r, "redis", "sentinels", "must be an array of 1 to %d \"IP:PORT\" strings",
                     MAX_SENTINELS);
        return;
    }
    if (json_object_get(redis, "address"))
        config_error(r, "redis", "address", "must not be given with sentinels (they name the "
                     "primary)");
    cfg->redis_sentinels = calloc(json_array_size(list), sizeof *cfg->redis_sentinels);
    if (!cfg->redis_sentinels) {
        config_error(r, "redis", "sentinels", "out of memory");
        return;
    }
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        struct redis_sentinel_address *sa = &cfg->redis_sentinels[cfg->nredis_sentinels];
        const char *s = json_string_value(v);
        struct in_addr ip;
        if (!s || config_split_address(s, &sa->host, &sa->port) < 0) {
            config_error(r, "redis", "sentinels", "entry %zu must be IP:PORT", i);
            continue;
        }
        cfg->nredis_sentinels++;
        if (inet_pton(AF_INET, sa->host, &ip) != 1)
            config_error(r, "redis", "sentinels", "entry %zu must be a numeric IPv4 address (no "
                         "name look-ups), got \"%s\"", i, sa->host);
    }
    read_string(r, "redis", redis, "master_name", &cfg->redis_master_name, NULL);
    size_t pwlen = 0;
    const char *pwkey;
    cfg->redis_sentinel_password = read_secret(r, "redis", redis, "sentinel_password", 0, &pwlen,
                                               &pwkey);
}

static void read_config(struct reader *r, json_t *root, struct config *cfg)
{
    static const char *const known[] = {
        "demo", "listen", "listen_ingest", "request_timeout_ms", "log_level", "plugin_dir", "http",
        "limits", "redis", "privacy", "touchpoints", "model", "ingest", "api_keys",
        "experiments", "goals", "reports", "spool_dir", "spool_sync_ms", "spool_replay_ms",
        "branches", "catalogues", NULL};
    static const char *const known_model[] = {
        "neighbours_max", "neighbours_reserve", "cache_ms", "cache_max_entries", "scoring", "window_days",
        "pairs_per_loan", "history_titles", "branch_counts", "flush_ms", "flush_max_pairs",
        "compact_interval_ms", "compact_batch", NULL};
    static const char *const known_ingest[] = {
        "movielens_record_prefix", "max_events_per_request", "max_body_bytes", "gather_max_events", NULL};
    static const char *const known_limits[] = {
        "max_alternatives", "default_alternatives", "max_record_id_bytes",
        "max_body_bytes", "max_header_bytes", "idle_timeout_s", "max_candidates",
        "max_pending_requests", "max_kept_answers", "max_kept_patron_answers",
        "max_connections", "listen_backlog", "read_timeout_ms", "per_client_rps", "per_client_burst",
        "rate_limit_clients", "max_spooled_writes", "max_recent_touchpoints", NULL};
    static const char *const known_redis[] = {
        "address", "prefix", "timeout_ms", "touchpoint_stream_max", "username", "password",
        "password_file", "sentinels", "master_name", "sentinel_password",
        "sentinel_password_file", NULL};
    static const char *const known_privacy[] = {
        "patron_key", "patron_key_file", "min_patrons", "history_max", "history_ttl_days", NULL};

    if (!json_is_object(root)) {
        config_error(r, "", "(top level)", "must be a JSON object");
        return;
    }
    check_unknown_keys(r, "", root, known);
    json_t *demo = json_object_get(root, "demo");
    if (demo && !json_is_boolean(demo))
        config_error(r, "", "demo", "must be true or false");
    cfg->demo = r->demo = json_is_true(demo);
    read_address(r, "", root, "listen", "127.0.0.1:8080", &cfg->listen_host, &cfg->listen_port);
    if (json_object_get(root, "listen_ingest")) {
        read_address(r, "", root, "listen_ingest", NULL, &cfg->listen_ingest_host,
                     &cfg->listen_ingest_port);
        if (cfg->listen_ingest_host && cfg->listen_host &&
            cfg->listen_ingest_port == cfg->listen_port &&
            strcmp(cfg->listen_ingest_host, cfg->listen_host) == 0)
            config_error(r, "", "listen_ingest", "must not be the same address as listen");
    }
    read_int(r, "", root, "request_timeout_ms", &cfg->request_timeout_ms, 2000, 50, 60000);
    read_string(r, "", root, "log_level", &cfg->log_level, "info");
    enum log_level lvl;
    if (cfg->log_level && log_level_parse(cfg->log_level, &lvl) < 0)
        config_error(r, "", "log_level", "must be debug, info, warn or error");
    read_string(r, "", root, "plugin_dir", &cfg->plugin_dir, ONLOAN_PLUGIN_DIR);
    if (cfg->plugin_dir && cfg->plugin_dir[0] != '/')
        config_error(r, "", "plugin_dir", "must be an absolute path (code is loaded from it), "
                     "got \"%s\"", cfg->plugin_dir);
    if (json_object_get(root, "spool_dir")) {
        read_string(r, "", root, "spool_dir", &cfg->spool_dir, NULL);
        if (cfg->spool_dir && cfg->spool_dir[0] != '/')
            config_error(r, "", "spool_dir", "must be an absolute path, got \"%s\"", cfg->spool_dir);
    }
    read_int(r, "", root, "spool_sync_ms", &cfg->spool_sync_ms, 200, 1, 60000);
    read_int(r, "", root, "spool_replay_ms", &cfg->spool_replay_ms, 3000, 0, 60000);

    json_t *limits = read_object(r, "", root, "limits");
    json_t *empty = json_object();
    if (!limits)
        limits = empty;
    check_unknown_keys(r, "limits", limits, known_limits);
    read_int(r, "limits", limits, "max_alternatives", &cfg->max_alternatives, 20, 1, 100);
    read_int(r, "limits", limits, "default_alternatives", &cfg->default_alternatives, 5, 1, 100);
    if (cfg->default_alternatives > cfg->max_alternatives)
        config_error(r, "limits", "default_alternatives", "must not exceed max_alternatives");
    /* Zebra refuses a search term of 512 bytes or more ("Too many
     * characters in search statement"), which would fail every lookup
     * batched with such an id: a longer id could never be looked up. */
    read_int(r, "limits", limits, "max_record_id_bytes", &cfg->max_record_id_bytes, 64, 1, 511);
    read_int(r, "limits", limits, "max_body_bytes", &cfg->max_body_bytes, 8192, 64, 16 << 20);
    read_int(r, "limits", limits, "max_header_bytes", &cfg->max_header_bytes, 16384, 1024, 1 << 20);
    read_int(r, "limits", limits, "idle_timeout_s", &cfg->idle_timeout_s, 30, 1, 3600);
    read_int(r, "limits", limits, "max_candidates", &cfg->max_candidates, 40, 1, 1000);
    read_int(r, "limits", limits, "max_pending_requests", &cfg->max_pending_requests, 4096, 1, 1 << 20);
    read_int(r, "limits", limits, "max_kept_answers", &cfg->max_kept_answers, 10000, 0, 1000000);
    read_int(r, "limits", limits, "max_kept_patron_answers", &cfg->max_kept_patron_answers, 10000,
             0, 1000000);
    read_int(r, "limits", limits, "max_connections", &cfg->max_connections, 4096, 1, 1000000);
    read_int(r, "limits", limits, "listen_backlog", &cfg->listen_backlog, 1024, 1, 65535);
    read_int(r, "limits", limits, "read_timeout_ms", &cfg->read_timeout_ms, 10000, 100, 3600000);
    read_int(r, "limits", limits, "per_client_rps", &cfg->per_client_rps, 0, 0, 1000000);
    read_int(r, "limits", limits, "per_client_burst", &cfg->per_client_burst, 20, 1, 1000000);
    read_int(r, "limits", limits, "rate_limit_clients", &cfg->rate_limit_clients, 10000, 1,
             10000000);
    read_int(r, "limits", limits, "max_spooled_writes", &cfg->spool_max_writes, 100000, 1,
             10000000);
    read_int(r, "limits", limits, "max_recent_touchpoints", &cfg->max_recent_touchpoints, 100000,
             0, 10000000);

    json_t *redis = read_object(r, "", root, "redis");
    if (!redis)
        redis = empty;
    check_unknown_keys(r, "redis", redis, known_redis);
    read_address(r, "redis", redis, "address", "127.0.0.1:6379", &cfg->redis_host, &cfg->redis_port);
    read_string(r, "redis", redis, "prefix", &cfg->redis_prefix, "onloan:");
    read_int(r, "redis", redis, "timeout_ms", &cfg->redis_timeout_ms, 500, 10, 60000);
    read_int(r, "redis", redis, "touchpoint_stream_max", &cfg->touchpoint_stream_max, 1000000, 1000, INT_MAX);
    if (json_object_get(redis, "username"))
        read_string(r, "redis", redis, "username", &cfg->redis_username, NULL);
    size_t pwlen = 0;
    const char *pwkey;
    cfg->redis_password = read_secret(r, "redis", redis, "password", 0, &pwlen, &pwkey);
    if (cfg->redis_username && !cfg->redis_password)
        config_error(r, "redis", "username", "needs password (or password_file)");
    read_sentinels(r, redis, cfg);

    json_t *privacy = read_object(r, "", root, "privacy");
    if (!privacy) {
        config_error(r, "", "privacy", "is required (it holds patron_key)");
    } else {
        check_unknown_keys(r, "privacy", privacy, known_privacy);
        read_hex_key(r, "privacy", privacy, "patron_key", cfg->patron_key, PATRON_KEY_BYTES);
        read_int(r, "privacy", privacy, "min_patrons", &cfg->min_patrons, 3, 1, 1000);
        read_int(r, "privacy", privacy, "history_max", &cfg->history_max, 100, 1, 10000);
        read_int(r, "privacy", privacy, "history_ttl_days", &cfg->history_ttl_days, 400, 1, 3650);
    }
    json_t *model = read_object(r, "", root, "model");
    if (!model)
        model = empty;
    check_unknown_keys(r, "model", model, known_model);
    read_int(r, "model", model, "neighbours_max", &cfg->neighbours_max, 100, 1, 10000);
    read_int(r, "model", model, "neighbours_reserve", &cfg->neighbours_reserve, 300, 0, 100000);
    read_int(r, "model", model, "cache_ms", &cfg->model_cache_ms, 5000, 0, 3600000);
    read_int(r, "model", model, "cache_max_entries", &cfg->model_cache_max_entries, 100000, 0, 10000000);
    cfg->scoring = SCORE_LLR;
    read_scoring(r, "model", model, &cfg->scoring);
    read_int(r, "model", model, "window_days", &cfg->window_days, 400, 1, 36500);
    read_int(r, "model", model, "pairs_per_loan", &cfg->pairs_per_loan, 100, 1, 10000);
    read_int(r, "model", model, "history_titles", &cfg->history_titles, 5, 0, MAX_HISTORY_TITLES);
    read_bool(r, "model", model, "branch_counts", &cfg->branch_counts, 1);
    read_int(r, "model", model, "flush_ms", &cfg->flush_ms, 200, 1, 60000);
    read_int(r, "model", model, "flush_max_pairs", &cfg->flush_max_pairs, 1000000, 1, 100000000);
    read_int(r, "model", model, "compact_interval_ms", &cfg->compact_interval_ms, 10000, 1, 3600000);
    read_int(r, "model", model, "compact_batch", &cfg->compact_batch, 256, 1, 100000);

    json_t *ingest = read_object(r, "", root, "ingest");
    if (!ingest)
        ingest = empty;
    check_unknown_keys(r, "ingest", ingest, known_ingest);
    read_string(r, "ingest", ingest, "movielens_record_prefix", &cfg->movielens_record_prefix, "f");
    read_int(r, "ingest", ingest, "max_events_per_request", &cfg->max_events_per_request, 1000, 1, 1000000);
    read_int(r, "ingest", ingest, "gather_max_events", &cfg->gather_max_events, 2000, 1, 1000000);
    read_int(r, "ingest", ingest, "max_body_bytes", &cfg->max_loans_body_bytes, 1 << 20, 64, 256 << 20);
    const char *prefix = cfg->movielens_record_prefix;
    if (prefix && *prefix && !record_id_valid(prefix, cfg->max_record_id_bytes - 1))
        config_error(r, "ingest", "movielens_record_prefix",
                     "must be the start of a record id (A-Z a-z 0-9 . _ : -), shorter than "
                     "limits.max_record_id_bytes");
    json_t *reports = read_object(r, "", root, "reports");
    if (!reports)
        reports = empty;
    static const char *const known_reports[] = {"max_days", "max_rows", NULL};
    check_unknown_keys(r, "reports", reports, known_reports);
    read_int(r, "reports", reports, "max_days", &cfg->report_max_days, 731, 1, 36600);
    read_int(r, "reports", reports, "max_rows", &cfg->report_max_rows, 100000, 1, 10000000);
    json_decref(empty);
    read_api_keys(r, root, cfg);
    read_touchpoints(r, root, cfg);
    read_http(r, root, cfg);
    read_experiments(r, root, cfg);
    read_goals(r, root, cfg);
    read_branch_names(r, root, cfg);

    json_t *cats = json_object_get(root, "catalogues");
    if (!cats || !json_is_array(cats) || json_array_size(cats) == 0) {
        config_error(r, "", "catalogues", "must be a non-empty array of catalogue objects");
        return;
    }
    cfg->ncatalogues = json_array_size(cats);
    cfg->catalogues = calloc(cfg->ncatalogues, sizeof *cfg->catalogues);
    if (!cfg->catalogues) {
        config_error(r, "", "catalogues", "out of memory");
        cfg->ncatalogues = 0;
        return;
    }
    for (size_t i = 0; i < cfg->ncatalogues; i++) {
        char path[48];
        snprintf(path, sizeof path, "catalogues[%zu]", i);
        json_t *c = json_array_get(cats, i);
        if (!json_is_object(c)) {
            config_error(r, "", path, "must be an object");
            continue;
        }
        cfg->catalogues[i].scoring = cfg->scoring;
        read_catalogue(r, path, c, &cfg->catalogues[i]);
        for (size_t j = 0; j < i; j++)
            if (cfg->catalogues[i].name && cfg->catalogues[j].name &&
                strcmp(cfg->catalogues[i].name, cfg->catalogues[j].name) == 0)
                config_error(r, path, "name", "\"%s\" is used twice", cfg->catalogues[i].name);
    }
}

/* st: the config file's, or NULL for a text in memory. */
static struct config *config_finish(struct reader *r, json_t *root, const char *name,
                                    const struct stat *st)
{
    struct config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) {
        json_decref(root);
        line_printf(r->errors, "%s: out of memory", name);
        return NULL;
    }
    if (!(cfg->path = strdup(name)))
        config_error(r, "", "(top level)", "out of memory");
    read_config(r, root, cfg);
    json_decref(root);
    if (st && (st->st_mode & (S_IRGRP | S_IROTH))) {
        /* one line per secret written in a file others can read */
        const char *line = strbuf_cstr(&r->inline_secrets), *nl;
        for (; (nl = strchr(line, '\n')); line = nl + 1) {
            int n = (int)(nl - line), k = n;
            while (k > 0 && line[k - 1] != '.')
                k--;                /* line + k: the key, after its path */
            line_printf(&r->exposures, "%s: %.*s: a secret in a config file that its group "
                        "or others can read (mode %04o): chmod go= %s, or give it as %.*s_file",
                          name, n, line, (unsigned)(st->st_mode & 07777), name, n - k, line + k);
        }
    }
    strbuf_free(&r->inline_secrets);
    if (r->nerrors) {
        strbuf_free(&r->exposures);
        config_free(cfg);
        return NULL;
    }
    cfg->exposures = r->exposures.len ? strbuf_steal(&r->exposures) : NULL;
    strbuf_free(&r->exposures);
    return cfg;
}

struct config *config_parse(const char *text, const char *name, struct strbuf *errors)
{
    struct reader r = {.file = name, .errors = errors};
    json_error_t jerr;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        line_printf(errors, "%s:%d:%d: %s", name, jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    return config_finish(&r, root, name, NULL);
}

struct config *config_load(const char *path, struct strbuf *errors)
{
    struct reader r = {.file = path, .errors = errors};
    json_error_t jerr;
    struct stat st;
    int fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        line_printf(errors, "%s: cannot read: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    json_t *root = json_loadfd(fd, JSON_REJECT_DUPLICATES, &jerr);
    close(fd);
    if (!root) {
        if (jerr.line > 0)
            line_printf(errors, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
        else        /* the file could not be read: jansson has no position */
            line_printf(errors, "%s: %s", path, jerr.text);
        return NULL;
    }
    return config_finish(&r, root, path, &st);
}

struct config *config_load_or_report(const char *path)
{
    struct strbuf err = {0};
    struct config *cfg = config_load(path, &err);
    if (!cfg)
        fputs(strbuf_cstr(&err), stderr);
    strbuf_free(&err);
    return cfg;
}

void config_free(struct config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->ncatalogues; i++) {
        struct catalogue_config *c = &cfg->catalogues[i];
        free(c->name);
        free(c->target);
        free(c->id_field);
        free(c->record_charset);
        json_decref(c->link);
    }
    for (size_t i = 0; i < cfg->napi_keys; i++)
        free(cfg->api_keys[i].name);
    for (size_t i = 0; i < cfg->ncors_origins; i++)
        free(cfg->cors_origins[i]);
    free(cfg->cors_origins);
    for (size_t i = 0; i < cfg->nexperiments; i++) {
        struct experiment_config *ex = &cfg->experiments[i];
        for (size_t j = 0; j < ex->narms; j++)
            free(ex->arms[j].name);
        free(ex->arms);
        free(ex->name);
    }
    free(cfg->experiments);
    for (size_t i = 0; i < cfg->nbranch_names; i++) {
        free(cfg->branch_names[i].code);
        free(cfg->branch_names[i].name);
    }
    free(cfg->branch_names);
    for (size_t i = 0; i < cfg->ngoals; i++) {
        struct goal_config *g = &cfg->goals[i];
        free(g->name);
        free(g->catalogue);
        free(g->branch);
        free(g->arm);
    }
    free(cfg->goals);
    free(cfg->spool_dir);
    free(cfg->redis_username);
    if (cfg->redis_password) {
        sodium_memzero(cfg->redis_password, strlen(cfg->redis_password));
        free(cfg->redis_password);
    }
    free(cfg->api_keys);
    free(cfg->movielens_record_prefix);
    free(cfg->catalogues);
    free(cfg->path);
    free(cfg->exposures);
    free(cfg->listen_host);
    free(cfg->listen_ingest_host);
    free(cfg->log_level);
    free(cfg->plugin_dir);
    free(cfg->redis_host);
    free(cfg->redis_prefix);
    for (size_t i = 0; i < cfg->nredis_sentinels; i++)
        free(cfg->redis_sentinels[i].host);
    free(cfg->redis_sentinels);
    free(cfg->redis_master_name);
    if (cfg->redis_sentinel_password) {
        sodium_memzero(cfg->redis_sentinel_password, strlen(cfg->redis_sentinel_password));
        free(cfg->redis_sentinel_password);
    }
    free(cfg);
}

const char *config_exposures(const struct config *cfg)
{
    return cfg->exposures;
}

const struct catalogue_config *config_catalogue(const struct config *cfg, const char *name)
{
    if (!name)
        return cfg->ncatalogues ? &cfg->catalogues[0] : NULL;
    for (size_t i = 0; i < cfg->ncatalogues; i++)
        if (strcmp(cfg->catalogues[i].name, name) == 0)
            return &cfg->catalogues[i];
    return NULL;
}

int config_split_address(const char *addr, char **host, int *port)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr)
        return -1;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || colon[1] == '\0' || p < 1 || p > 65535)
        return -1;
    *host = strndup(addr, (size_t)(colon - addr));
    *port = (int)p;
    return *host ? 0 : -1;
}
