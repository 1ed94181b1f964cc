/* assets.h: the files a browser loads from onloand (the OPAC widget,
 * web/widget/; the marketing dashboard, web/dashboard/, with Debian's
 * Chart.js; the API's description, docs/openapi.json), built into the
 * daemon and served as they are.
 *
 * web/embed.sh turns web/ into a C table at build time (the Makefile's
 * WEB_ASSETS): each file's bytes, its gzip form (gzip -9n, the same bytes
 * at every build) and strong ETags from its SHA-256. Built in, onloand
 * needs no install path to find them, cannot serve a widget of another
 * version than its own API, and does no file I/O or compression while
 * it runs. The paths are stable (an OPAC pastes /widget.js once), so
 * they are cached for ASSET_MAX_AGE_S and revalidated with If-None-Match:
 * a new widget reaches every OPAC page within that time of a deploy, and
 * meanwhile a check costs a 304 without a body. */
#ifndef ONLOAN_HTTP_ASSETS_H
#define ONLOAN_HTTP_ASSETS_H

#include <event2/http.h>
#include <stddef.h>

#define ASSET_MAX_AGE_S 3600

struct asset {
    const char *path;               /* "/widget.js" */
    const char *content_type;       /* with charset for text */
    const unsigned char *data;
    size_t len;
    const unsigned char *gzip;      /* the same, gzip-encoded */
    size_t gzip_len;
    const char *etag;               /* quoted: "\"<hex>\"" */
    const char *gzip_etag;          /* the gzip form's: "\"<hex>-gz\"" */
};

/* The table web/embed.sh writes ($(BUILD)/gen/assets_data.c). */
extern const struct asset assets[];
extern const size_t nassets;

/* The asset served at path, or NULL. */
const struct asset *assets_find(const char *path);
/* Answers a GET or HEAD of a: 200 with the body (gzip when the client
 * takes it), or 304 when If-None-Match names its ETag. */
void assets_handle(struct evhttp_request *req, const struct asset *a);

/* Whether an If-None-Match value matches etag (weak comparison, as
 * RFC 9110 13.1.2 asks: W/ is ignored; "*" matches any). NULL: no. */
int assets_etag_matches(const char *if_none_match, const char *etag);
/* Whether an Accept-Encoding value takes gzip (gzip, x-gzip or * with a
 * q above 0). NULL: no. */
int assets_accepts_gzip(const char *accept_encoding);

#endif
