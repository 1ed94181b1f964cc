/* server.c: bringing the daemon's parts up and down; see server.h. */
#include "server.h"

#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "ttl_cache.h"

int server_start(struct server *srv, struct event_base *base, const struct config *cfg,
                 struct strbuf *err)
{
    memset(srv, 0, sizeof *srv);
    srv->base = base;
    srv->cfg = cfg;
    srv->catalogues = calloc(cfg->ncatalogues, sizeof *srv->catalogues);
    srv->links = calloc(cfg->ncatalogues, sizeof *srv->links);
    if (!srv->catalogues || !srv->links) {
        strbuf_puts(err, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < cfg->ncatalogues; i++) {
        const struct catalogue_config *cc = &cfg->catalogues[i];
        if (!(srv->links[i] = link_open(cfg->plugin_dir, cc->link, err))) {
            strbuf_printf(err, " (catalogue %s)", cc->name);
            return -1;
        }
        if (!(srv->catalogues[i] = catalogue_new(base, cc, err)))
            return -1;
    }
    if (!(srv->store = store_new(base, cfg))) {
        strbuf_puts(err, "cannot set up the Redis client");
        return -1;
    }
    if (!(srv->model = model_new(srv->store, cfg)) ||
        !(srv->answers = answers_new((size_t)cfg->max_kept_answers))) {
        strbuf_puts(err, "out of memory");
        return -1;
    }
    return http_start(srv, err);
}

void server_stop(struct server *srv)
{
    if (srv->http)
        evhttp_free(srv->http);
    srv->http = NULL;
    for (size_t i = 0; srv->cfg && i < srv->cfg->ncatalogues; i++) {
        if (srv->catalogues)
            catalogue_free(srv->catalogues[i]);
        if (srv->links)
            link_close(srv->links[i]);
    }
    free(srv->catalogues);
    free(srv->links);
    ttl_cache_free(srv->answers);
    model_free(srv->model);
    store_free(srv->store);
    memset(srv, 0, sizeof *srv);
}

int server_catalogue_index(const struct server *srv, const char *name)
{
    for (size_t i = 0; i < srv->cfg->ncatalogues; i++)
        if (!name || strcmp(srv->cfg->catalogues[i].name, name) == 0)
            return (int)i;
    return -1;
}
