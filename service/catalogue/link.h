/* link.h: loading link plugins (see plugins/onloan_plugin.h).
 *
 * A plugin is loaded only from an absolute plugin_dir, a directory and a
 * file (not a symbolic link) that no one but root and the user onloand
 * runs as can change; and only after its descriptor's ABI, read from the
 * file without loading it, has been found compatible: no code of an
 * incompatible plugin ever runs (link.c says how, and what a loader
 * cannot prevent). */
#ifndef ONLOAN_CATALOGUE_LINK_H
#define ONLOAN_CATALOGUE_LINK_H

#include <jansson.h>

#include "core/strbuf.h"
#include "onloan_plugin.h"

/* One loaded and initialised plugin instance. */
struct link {
    void *dl;                           /* dlopen handle */
    const struct onloan_link_plugin *plugin;
    void *state;
};

/* Checks and loads DIR/<conf.plugin>.so and initialises it with conf.
 * Returns NULL with the file and reason appended to err. */
struct link *link_open(const char *dir, const json_t *conf, struct strbuf *err);
void link_close(struct link *l);

/* Append the URLs to out. Return -1 on failure. */
int link_reserve_url(const struct link *l, const char *record, struct strbuf *out);
int link_record_url(const struct link *l, const char *record, struct strbuf *out);

#endif
