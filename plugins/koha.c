/* koha.c: links into a Koha OPAC.
 *
 *   "link": {"plugin": "koha", "base_url": "https://opac.example.org"}
 *
 * reserve: BASE/cgi-bin/koha/opac-reserve.pl?biblionumber=ID
 * record:  BASE/cgi-bin/koha/opac-detail.pl?biblionumber=ID */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onloan_plugin.h"

struct koha_state {
    char *base_url;         /* without a trailing slash */
};

static int koha_init(const json_t *conf, void **state, char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)conf, key, v) {
        if (strcmp(key, "plugin") != 0 && strcmp(key, "base_url") != 0) {
            snprintf(err, errlen, "%s: unknown key", key);
            return -1;
        }
    }
    const char *base = json_string_value(json_object_get(conf, "base_url"));
    if (!base || (strncmp(base, "https://", 8) != 0 && strncmp(base, "http://", 7) != 0)) {
        snprintf(err, errlen, "base_url: must be an http:// or https:// URL");
        return -1;
    }
    struct koha_state *s = malloc(sizeof *s);
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    if (!s || !(s->base_url = strndup(base, n))) {
        free(s);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    *state = s;
    return 0;
}

static int koha_link(struct koha_state *s, const char *script, const char *record,
                     const struct onloan_out *out)
{
    if (out->put(out->ctx, s->base_url, strlen(s->base_url)) < 0 ||
        out->put(out->ctx, "/cgi-bin/koha/", 14) < 0 ||
        out->put(out->ctx, script, strlen(script)) < 0 ||
        out->put(out->ctx, "?biblionumber=", 14) < 0)
        return -1;
    return out->put_escaped(out->ctx, record, strlen(record));
}

static int koha_reserve_url(void *state, const char *record, const struct onloan_out *out)
{
    return koha_link(state, "opac-reserve.pl", record, out);
}

static int koha_record_url(void *state, const char *record, const struct onloan_out *out)
{
    return koha_link(state, "opac-detail.pl", record, out);
}

static void koha_fini(void *state)
{
    struct koha_state *s = state;
    if (s)
        free(s->base_url);
    free(s);
}

const struct onloan_link_plugin onloan_link_plugin = {
    .abi_major = ONLOAN_PLUGIN_ABI_MAJOR,
    .abi_minor = ONLOAN_PLUGIN_ABI_MINOR,
    .name = "koha",
    .init = koha_init,
    .reserve_url = koha_reserve_url,
    .record_url = koha_record_url,
    .fini = koha_fini,
};
