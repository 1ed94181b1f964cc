/* template.c: links from URL templates, for any OPAC.
 *
 *   "link": {"plugin": "template",
 *            "reserve": "https://opac.example.org/hold?id={record}",
 *            "record":  "https://opac.example.org/item/{record}"}
 *
 * {record} is replaced by the percent-encoded local id; "{{" and "}}"
 * stand for literal braces. Any other {name} is refused at start-up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onloan_plugin.h"

struct template_state {
    char *reserve;
    char *record;
};

/* Checks a template; returns NULL if fine, else what is wrong. */
static const char *template_check(const char *t)
{
    if (strncmp(t, "https://", 8) != 0 && strncmp(t, "http://", 7) != 0)
        return "must start with http:// or https://";
    for (const char *p = t; *p; p++) {
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            p++;
        } else if (*p == '{') {
            if (strncmp(p, "{record}", 8) != 0)
                return "unknown placeholder (only {record} is known)";
            p += 7;
        } else if (*p == '}') {
            return "unmatched '}'";
        }
    }
    return NULL;
}

static int template_init(const json_t *conf, void **state, char *err, size_t errlen)
{
    static const char *const keys[] = {"reserve", "record"};
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)conf, key, v) {
        if (strcmp(key, "plugin") != 0 && strcmp(key, keys[0]) != 0 && strcmp(key, keys[1]) != 0) {
            snprintf(err, errlen, "%s: unknown key", key);
            return -1;
        }
    }
    const char *t[2];
    for (int i = 0; i < 2; i++) {
        t[i] = json_string_value(json_object_get(conf, keys[i]));
        const char *why = t[i] ? template_check(t[i]) : "is required (a URL template)";
        if (why) {
            snprintf(err, errlen, "%s: %s", keys[i], why);
            return -1;
        }
    }
    struct template_state *s = calloc(1, sizeof *s);
    if (!s || !(s->reserve = strdup(t[0])) || !(s->record = strdup(t[1]))) {
        if (s)
            free(s->reserve);
        free(s);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    *state = s;
    return 0;
}

static int template_expand(const char *t, const char *record, const struct onloan_out *out)
{
    while (*t) {
        size_t lit = strcspn(t, "{}");
        if (lit && out->put(out->ctx, t, lit) < 0)
            return -1;
        t += lit;
        if (!*t)
            break;
        if (t[0] == t[1]) {             /* "{{" or "}}" */
            if (out->put(out->ctx, t, 1) < 0)
                return -1;
            t += 2;
        } else {                        /* "{record}", checked at init */
            if (out->put_escaped(out->ctx, record, strlen(record)) < 0)
                return -1;
            t += 8;
        }
    }
    return 0;
}

static int template_reserve_url(void *state, const char *record, const struct onloan_out *out)
{
    return template_expand(((struct template_state *)state)->reserve, record, out);
}

static int template_record_url(void *state, const char *record, const struct onloan_out *out)
{
    return template_expand(((struct template_state *)state)->record, record, out);
}

static void template_fini(void *state)
{
    struct template_state *s = state;
    if (s) {
        free(s->reserve);
        free(s->record);
    }
    free(s);
}

const struct onloan_link_plugin onloan_link_plugin = {
    .abi_major = ONLOAN_PLUGIN_ABI_MAJOR,
    .abi_minor = ONLOAN_PLUGIN_ABI_MINOR,
    .name = "template",
    .init = template_init,
    .reserve_url = template_reserve_url,
    .record_url = template_record_url,
    .fini = template_fini,
};
