/* test_link.c: loading link plugins and the URLs they make. Uses the
 * plugins of this build (BUILD/plugins, found from argv[0]). */
#include <libgen.h>
#include <stdlib.h>

#include "catalogue/link.h"
#include "unit.h"

static char plugin_dir[4096], fixture_dir[4096];

static struct link *open_with(const char *dir, const char *json, struct strbuf *err)
{
    json_error_t je;
    json_t *conf = json_loads(json, 0, &je);
    struct link *l = link_open(dir, conf, err);
    json_decref(conf);
    return l;
}

TEST(koha_links)
{
    struct strbuf err = {0}, url = {0};
    struct link *l = open_with(plugin_dir, "{\"plugin\": \"koha\", \"base_url\": \"https://opac.example.org/\"}", &err);
    CHECK(l != NULL);
    if (!l) {
        printf("  %s\n", strbuf_cstr(&err));
        return;
    }
    CHECK(link_reserve_url(l, "f356", &url) == 0);
    CHECK_STR(strbuf_cstr(&url), "https://opac.example.org/cgi-bin/koha/opac-reserve.pl?biblionumber=f356");
    strbuf_reset(&url);
    CHECK(link_record_url(l, "a b&c", &url) == 0);
    CHECK_STR(strbuf_cstr(&url), "https://opac.example.org/cgi-bin/koha/opac-detail.pl?biblionumber=a%20b%26c");
    link_close(l);
    CHECK(open_with(plugin_dir, "{\"plugin\": \"koha\", \"base_url\": \"ftp://x\"}", &err) == NULL);
    CHECK(strstr(strbuf_cstr(&err), "base_url") != NULL);
    strbuf_free(&url);
    strbuf_free(&err);
}

TEST(template_links)
{
    struct strbuf err = {0}, url = {0};
    struct link *l = open_with(plugin_dir, "{\"plugin\": \"template\", "
        "\"reserve\": \"https://x.org/hold?id={record}&n={{1}}\", \"record\": \"https://x.org/r/{record}\"}", &err);
    CHECK(l != NULL);
    if (l) {
        CHECK(link_reserve_url(l, "03-0018137", &url) == 0);
        CHECK_STR(strbuf_cstr(&url), "https://x.org/hold?id=03-0018137&n={1}");
        strbuf_reset(&url);
        CHECK(link_record_url(l, "a/b", &url) == 0);
        CHECK_STR(strbuf_cstr(&url), "https://x.org/r/a%2Fb");
        link_close(l);
    }
    strbuf_reset(&err);
    CHECK(open_with(plugin_dir, "{\"plugin\": \"template\", \"reserve\": \"https://x/{id}\", \"record\": \"https://x\"}", &err) == NULL);
    CHECK(strstr(strbuf_cstr(&err), "unknown placeholder") != NULL);
    strbuf_free(&url);
    strbuf_free(&err);
}

TEST(loader_refuses_bad_plugins)
{
    struct strbuf err = {0};
    CHECK(open_with(plugin_dir, "{\"plugin\": \"nosuch\"}", &err) == NULL);
    CHECK(strstr(strbuf_cstr(&err), "nosuch.so: cannot load") != NULL);
    strbuf_reset(&err);
    CHECK(open_with(plugin_dir, "{\"plugin\": \"../koha\"}", &err) == NULL);
    CHECK(strstr(strbuf_cstr(&err), "plugin: must be a plugin name") != NULL);
    strbuf_reset(&err);
    CHECK(open_with(fixture_dir, "{\"plugin\": \"badabi\"}", &err) == NULL);
    CHECK(strstr(strbuf_cstr(&err), "badabi.so: plugin ABI 2.0, host has 1.0") != NULL);
    strbuf_free(&err);
}

int main(int argc, char **argv)
{
    (void)argc;
    char *self = strdup(argv[0]);
    const char *dir = dirname(self);            /* BUILD/tests/unit */
    snprintf(plugin_dir, sizeof plugin_dir, "%s/../../plugins", dir);
    snprintf(fixture_dir, sizeof fixture_dir, "%s/plugins", dir);
    free(self);
    RUN(koha_links);
    RUN(template_links);
    RUN(loader_refuses_bad_plugins);
    return unit_failures != 0;
}
