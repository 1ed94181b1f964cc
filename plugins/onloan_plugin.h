/* onloan_plugin.h: the one header a link plugin is built against.
 *
 * A plugin is a shared object in the plugin directory that exports one
 * data symbol, `onloan_link_plugin`, of the type below. The host reads its
 * ABI numbers from the file before loading it, so before any plugin code
 * runs, and refuses a plugin whose major ABI differs from its own, or
 * whose minor is newer (it may be older: the plugin was built against an
 * older, compatible header). abi_major and abi_minor therefore stay the
 * first two members, as constants in the file. Plugins have no
 * constructors and keep no globals: all state lives behind `state`. The
 * plugin directory and file must be writable only by root or onloand's
 * user (link.h).
 *
 * URLs are written through `struct onloan_out`, so a plugin never sizes a
 * buffer: put() appends bytes as they are, put_escaped() percent-encodes
 * them for a URL query or path. Both return 0, or -1 when out of memory;
 * a plugin passes -1 on. */
#ifndef ONLOAN_PLUGIN_H
#define ONLOAN_PLUGIN_H

#include <jansson.h>
#include <stddef.h>

#define ONLOAN_PLUGIN_ABI_MAJOR 1
#define ONLOAN_PLUGIN_ABI_MINOR 0

struct onloan_out {
    void *ctx;
    int (*put)(void *ctx, const char *s, size_t n);
    int (*put_escaped)(void *ctx, const char *s, size_t n);
};

struct onloan_link_plugin {
    unsigned abi_major;         /* ONLOAN_PLUGIN_ABI_MAJOR */
    unsigned abi_minor;         /* ONLOAN_PLUGIN_ABI_MINOR */
    const char *name;           /* "koha", "template", ... */
    /* conf is the catalogue's "link" object (borrowed). On failure return
     * -1 with a message in err (at most errlen bytes, NUL included). */
    int (*init)(const json_t *conf, void **state, char *err, size_t errlen);
    /* A patron-facing link to place a hold on record. */
    int (*reserve_url)(void *state, const char *record, const struct onloan_out *out);
    /* A link to the record's page in the OPAC. */
    int (*record_url)(void *state, const char *record, const struct onloan_out *out);
    void (*fini)(void *state);
};

#endif
