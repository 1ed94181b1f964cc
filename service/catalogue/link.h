/* link.h: loading link plugins (see plugins/onloan_plugin.h). */
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

/* Loads DIR/<conf.plugin>.so, checks its ABI and initialises it with conf.
 * Returns NULL with the file and reason appended to err. */
struct link *link_open(const char *dir, const json_t *conf, struct strbuf *err);
void link_close(struct link *l);

/* Append the URLs to out. Return -1 on failure. */
int link_reserve_url(const struct link *l, const char *record, struct strbuf *out);
int link_record_url(const struct link *l, const char *record, struct strbuf *out);

#endif
