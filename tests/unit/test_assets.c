/* test_assets.c: the built-in browser files' table, and the headers that
 * choose what is sent (If-None-Match, Accept-Encoding). */
#include <string.h>

#include "http/assets.h"
#include "unit.h"

#define TAG "\"fa9a061ea56eb118e9b0d76d4ea7ec2e\""

TEST(etag_lists_weak_and_star)
{
    CHECK(assets_etag_matches(TAG, TAG));
    CHECK(assets_etag_matches("W/" TAG, TAG));
    CHECK(assets_etag_matches("\"x\", " TAG, TAG));
    CHECK(assets_etag_matches("\"x\",W/" TAG " ,\"y\"", TAG));
    CHECK(assets_etag_matches(" ,, " TAG, TAG));
    CHECK(assets_etag_matches("*", TAG));
    CHECK(!assets_etag_matches(NULL, TAG));
    CHECK(!assets_etag_matches("", TAG));
    CHECK(!assets_etag_matches("\"x\"", TAG));
    /* the gzip form's tag is not the plain one's, nor a prefix of it */
    CHECK(!assets_etag_matches("\"fa9a061ea56eb118e9b0d76d4ea7ec2e-gz\"", TAG));
    CHECK(!assets_etag_matches("\"fa9a061ea56eb118e9b0d76d4ea7ec2\"", TAG));
    /* unquoted or unterminated: malformed, and nothing after it counts */
    CHECK(!assets_etag_matches("fa9a061ea56eb118e9b0d76d4ea7ec2e", TAG));
    CHECK(!assets_etag_matches("\"fa9a061ea56eb118e9b0d76d4ea7ec2e", TAG));
    CHECK(!assets_etag_matches("junk, " TAG, TAG));
}

TEST(gzip_by_accept_encoding)
{
    CHECK(assets_accepts_gzip("gzip"));
    CHECK(assets_accepts_gzip("gzip, deflate, br, zstd"));
    CHECK(assets_accepts_gzip("br;q=1.0, GZIP;q=0.5"));
    CHECK(assets_accepts_gzip("x-gzip"));
    CHECK(assets_accepts_gzip("*"));
    CHECK(assets_accepts_gzip("deflate, *;q=0.1"));
    CHECK(assets_accepts_gzip("gzip;q=0.001"));
    CHECK(assets_accepts_gzip("gzip ; q=1"));
    CHECK(!assets_accepts_gzip(NULL));
    CHECK(!assets_accepts_gzip(""));
    CHECK(!assets_accepts_gzip("identity"));
    CHECK(!assets_accepts_gzip("deflate, br"));
    CHECK(!assets_accepts_gzip("gzip;q=0"));
    CHECK(!assets_accepts_gzip("gzip;q=0.000"));
    CHECK(!assets_accepts_gzip("gzip;q=0., *"));      /* the named coding rules */
    CHECK(!assets_accepts_gzip("*;q=0"));
    CHECK(!assets_accepts_gzip("gzipped"));
    CHECK(!assets_accepts_gzip("br;gzip"));
}

TEST(table_is_whole)
{
    const struct asset *w = assets_find("/widget.js");
    CHECK(w != NULL);
    CHECK(!assets_find("/widget"));
    CHECK(!assets_find("/widget.js/"));
    CHECK(!assets_find(""));
    for (size_t i = 0; i < nassets; i++) {
        const struct asset *a = &assets[i];
        CHECK(a->path[0] == '/');
        CHECK(assets_find(a->path) == a);
        CHECK(a->len > 0 && a->gzip_len > 18);
        /* gzip's magic, and the length of the original in its trailer */
        CHECK(a->gzip[0] == 0x1f && a->gzip[1] == 0x8b);
        const unsigned char *t = a->gzip + a->gzip_len - 4;
        CHECK((size_t)(t[0] | t[1] << 8 | t[2] << 16 | (unsigned long)t[3] << 24) == a->len);
        CHECK(strlen(a->etag) == 34 && a->etag[0] == '"' && a->etag[33] == '"');
        CHECK(strncmp(a->gzip_etag, a->etag, 33) == 0 && strcmp(a->gzip_etag + 33, "-gz\"") == 0);
        if (strncmp(a->content_type, "text/", 5) == 0)
            CHECK(strstr(a->content_type, "; charset=utf-8") != NULL);
    }
    if (w) {
        CHECK_STR(w->content_type, "text/javascript; charset=utf-8");
        CHECK(w->len > 1000 && memcmp(w->data, "/* onloan widget", 16) == 0);
    }
}

int main(void)
{
    RUN(etag_lists_weak_and_star);
    RUN(gzip_by_accept_encoding);
    RUN(table_is_whole);
    return unit_failures != 0;
}
