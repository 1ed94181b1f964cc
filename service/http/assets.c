/* assets.c: the built-in browser files; see assets.h. */
#include "http/assets.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http/reply.h"

const struct asset *assets_find(const char *path)
{
    for (size_t i = 0; i < nassets; i++)
        if (strcmp(assets[i].path, path) == 0)
            return &assets[i];
    return NULL;
}

static const char *skip_ows(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

int assets_etag_matches(const char *if_none_match, const char *etag)
{
    size_t n = strlen(etag);
    const char *s = if_none_match;
    while (s && *s) {
        s = skip_ows(s);
        if (*s == ',') {
            s++;
            continue;
        }
        if (!*s)
            break;
        if (*s == '*')
            return 1;
        if (strncmp(s, "W/", 2) == 0)
            s += 2;
        if (*s != '"')
            return 0;           /* malformed: nothing after it is trusted */
        const char *end = strchr(s + 1, '"');
        if (!end)
            return 0;
        if ((size_t)(end + 1 - s) == n && memcmp(s, etag, n) == 0)
            return 1;
        s = end + 1;
    }
    return 0;
}

/* Whether a qvalue (RFC 9110 12.4.2) is above 0: "0", "0.", "0.000" are 0. */
static int qvalue_positive(const char *q, size_t n)
{
    if (n == 0 || q[0] != '0')
        return 1;
    for (size_t i = 1; i < n; i++)
        if (q[i] != '0' && !(i == 1 && q[i] == '.'))
            return 1;
    return 0;
}

/* One element of Accept-Encoding, s up to end: its coding is *coding
 * (*clen bytes); returns whether its weight is above 0. */
static int coding_positive(const char *s, const char *end, const char **coding, size_t *clen)
{
    s = skip_ows(s);
    const char *c = s;
    while (s < end && *s != ';' && *s != ' ' && *s != '\t')
        s++;
    *coding = c;
    *clen = (size_t)(s - c);
    while (s < end) {
        const char *semi = memchr(s, ';', (size_t)(end - s));
        if (!semi)
            break;
        s = skip_ows(semi + 1);
        if (end - s >= 2 && (s[0] == 'q' || s[0] == 'Q') && s[1] == '=') {
            const char *v = s + 2, *ve = v;
            while (ve < end && *ve != ';' && *ve != ' ' && *ve != '\t')
                ve++;
            return qvalue_positive(v, (size_t)(ve - v));
        }
    }
    return 1;
}

int assets_accepts_gzip(const char *accept_encoding)
{
    int gzip = -1, star = -1;
    const char *s = accept_encoding;
    while (s && *s) {
        const char *end = strchr(s, ',');
        if (!end)
            end = s + strlen(s);
        const char *coding;
        size_t clen;
        int positive = coding_positive(s, end, &coding, &clen);
        if ((clen == 4 && strncasecmp(coding, "gzip", 4) == 0) ||
            (clen == 6 && strncasecmp(coding, "x-gzip", 6) == 0))
            gzip = positive;
        else if (clen == 1 && *coding == '*')
            star = positive;
        s = *end ? end + 1 : end;
    }
    return gzip >= 0 ? gzip : star > 0;
}

void assets_handle(struct evhttp_request *req, const struct asset *a)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    int gz = a->gzip_len < a->len &&
             assets_accepts_gzip(evhttp_find_header(in, "Accept-Encoding"));
    const char *etag = gz ? a->gzip_etag : a->etag;
    int fresh = assets_etag_matches(evhttp_find_header(in, "If-None-Match"), etag);
    struct evbuffer *body = NULL;
    if (!fresh && (!(body = evbuffer_new()) ||
                   evbuffer_add_reference(body, gz ? a->gzip : a->data,
                                          gz ? a->gzip_len : a->len, NULL, NULL) < 0)) {
        if (body)
            evbuffer_free(body);
        http_reply_unavailable(req, HTTP_NO_MEMORY);
        return;
    }
    char cache[64];
    snprintf(cache, sizeof cache, "public, max-age=%d", ASSET_MAX_AGE_S);
    /* the headers a 304 repeats (RFC 9110 15.4.5) */
    evhttp_add_header(out, "ETag", etag);
    evhttp_add_header(out, "Cache-Control", cache);
    evhttp_add_header(out, "Vary", "Accept-Encoding");
    if (fresh) {
        evhttp_send_reply(req, 304, "Not Modified", NULL);
        return;
    }
    evhttp_add_header(out, "Content-Type", a->content_type);
    evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
    /* an OPAC whose pages require CORP (COEP) may still load it */
    evhttp_add_header(out, "Cross-Origin-Resource-Policy", "cross-origin");
    if (gz)
        evhttp_add_header(out, "Content-Encoding", "gzip");
    http_send_reply(req, 200, "OK", body);
    evbuffer_free(body);
}
