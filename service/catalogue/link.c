/* link.c: dlopen-loaded link plugins; see link.h. */
#include "catalogue/link.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

static int out_put(void *ctx, const char *s, size_t n)
{
    return strbuf_append(ctx, s, n);
}

static int out_put_escaped(void *ctx, const char *s, size_t n)
{
    return strbuf_urlencode(ctx, s, n);
}

struct link *link_open(const char *dir, const json_t *conf, struct strbuf *err)
{
    const char *name = json_string_value(json_object_get(conf, "plugin"));
    if (!name || !*name || strchr(name, '/') || strchr(name, '.')) {
        strbuf_printf(err, "plugin: must be a plugin name like \"koha\"");
        return NULL;
    }
    struct strbuf path = {0};
    strbuf_printf(&path, "%s/%s.so", dir, name);
    struct link *l = calloc(1, sizeof *l);
    if (!l) {
        strbuf_free(&path);
        return NULL;
    }
    l->dl = dlopen(strbuf_cstr(&path), RTLD_NOW | RTLD_LOCAL);
    if (!l->dl) {
        strbuf_printf(err, "%s: cannot load: %s", strbuf_cstr(&path), dlerror());
        goto fail;
    }
    l->plugin = dlsym(l->dl, "onloan_link_plugin");
    const struct onloan_link_plugin *p = l->plugin;
    if (!p) {
        strbuf_printf(err, "%s: no symbol onloan_link_plugin", strbuf_cstr(&path));
        goto fail;
    }
    if (p->abi_major != ONLOAN_PLUGIN_ABI_MAJOR || p->abi_minor > ONLOAN_PLUGIN_ABI_MINOR) {
        strbuf_printf(err, "%s: plugin ABI %u.%u, host has %d.%d (major must match, minor not be newer)",
                      strbuf_cstr(&path), p->abi_major, p->abi_minor,
                      ONLOAN_PLUGIN_ABI_MAJOR, ONLOAN_PLUGIN_ABI_MINOR);
        goto fail;
    }
    if (!p->name || strcmp(p->name, name) != 0 || !p->init || !p->reserve_url ||
        !p->record_url || !p->fini) {
        strbuf_printf(err, "%s: incomplete descriptor or name is not \"%s\"", strbuf_cstr(&path), name);
        goto fail;
    }
    char why[256] = "";
    if (p->init(conf, &l->state, why, sizeof why) < 0) {
        strbuf_printf(err, "%s plugin: %s", name, why);
        goto fail;
    }
    strbuf_free(&path);
    return l;
fail:
    if (l->dl)
        dlclose(l->dl);
    free(l);
    strbuf_free(&path);
    return NULL;
}

void link_close(struct link *l)
{
    if (!l)
        return;
    l->plugin->fini(l->state);
    dlclose(l->dl);
    free(l);
}

int link_reserve_url(const struct link *l, const char *record, struct strbuf *out)
{
    struct onloan_out o = {out, out_put, out_put_escaped};
    return l->plugin->reserve_url(l->state, record, &o);
}

int link_record_url(const struct link *l, const char *record, struct strbuf *out)
{
    struct onloan_out o = {out, out_put, out_put_escaped};
    return l->plugin->record_url(l->state, record, &o);
}
