/* test_link.c: loading link plugins and the URLs they make. Uses the
 * plugins of this build (BUILD/plugins, found from argv[0]), the fixtures
 * beside this test (BUILD/tests/unit/plugins: tests/unit/plugin_*.c) and
 * plugin directories of its own in a temporary directory. */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalogue/link.h"
#include "unit.h"

static char plugin_dir[PATH_MAX], fixture_dir[PATH_MAX];

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
    strbuf_free(&err);
}

/* The ABI is read from the file: a plugin for another ABI is refused
 * before its constructor runs; a newer minor is refused; a symbol of
 * the name that is no descriptor too. */
TEST(loader_checks_abi_before_any_plugin_code_runs)
{
    struct strbuf err = {0};
    unsetenv("ONLOAN_BADABI_RAN");
    CHECK(open_with(fixture_dir, "{\"plugin\": \"badabi\"}", &err) == NULL);
    CHECK(strstr(strbuf_cstr(&err), "badabi.so: plugin ABI 2.0, host has 1.0") != NULL);
    CHECK(getenv("ONLOAN_BADABI_RAN") == NULL);     /* its constructor never ran */
    strbuf_reset(&err);
    CHECK(open_with(fixture_dir, "{\"plugin\": \"newminor\"}", &err) == NULL);
    CHECK(strstr(strbuf_cstr(&err), "newminor.so: plugin ABI 1.1, host has 1.0") != NULL);
    strbuf_reset(&err);
    CHECK(open_with(fixture_dir, "{\"plugin\": \"nodesc\"}", &err) == NULL);
    CHECK(strstr(strbuf_cstr(&err), "nodesc.so: onloan_link_plugin is not a plugin descriptor") != NULL);
    strbuf_free(&err);
}

static int copy_file(const char *from, const char *to, mode_t mode)
{
    char buf[65536];
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, mode);
    ssize_t n = 0;
    while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            n = -1;
    int rc = in >= 0 && out >= 0 && n == 0 && fchmod(out, mode) == 0 ? 0 : -1;
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return rc;
}

static int refused_with(const char *dir, const char *json, const char *want)
{
    struct strbuf err = {0};
    struct link *l = open_with(dir, json, &err);
    int ok = !l && strstr(strbuf_cstr(&err), want) != NULL;
    if (!ok)
        printf("  want \"%s\", got \"%s\"\n", want, l ? "(loaded)" : strbuf_cstr(&err));
    link_close(l);
    strbuf_free(&err);
    return ok;
}

/* plugin_dir is absolute, and it and the plugin file are writable by no
 * one but root and the user onloand runs as; the file is no link. */
TEST(loader_refuses_plugins_others_can_change)
{
    static const char koha[] = "{\"plugin\": \"koha\", \"base_url\": \"https://x.org\"}";
    char dir[] = "/tmp/onloan-test-link-XXXXXX", so[64], lnk[64], src[sizeof plugin_dir + 16];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(so, sizeof so, "%s/koha.so", dir);
    snprintf(lnk, sizeof lnk, "%s/template.so", dir);
    snprintf(src, sizeof src, "%s/koha.so", plugin_dir);
    CHECK(copy_file(src, so, 0644) == 0);
    CHECK(chmod(dir, 0755) == 0);
    struct strbuf err = {0};
    struct link *l = open_with(dir, koha, &err);     /* as it should be: loads */
    CHECK(l != NULL);
    link_close(l);
    CHECK(refused_with("tmp/plugins", koha, "plugin_dir: must be an absolute path, got \"tmp/plugins\""));
    CHECK(chmod(dir, 0775) == 0);
    CHECK(refused_with(dir, koha, "writable by its group or others (mode 0775): chmod go-w it"));
    CHECK(chmod(dir, 0757) == 0);
    CHECK(refused_with(dir, koha, "(mode 0757)"));
    CHECK(chmod(dir, 0755) == 0 && chmod(so, 0664) == 0);
    CHECK(refused_with(dir, koha, "koha.so: writable by its group or others (mode 0664)"));
    CHECK(chmod(so, 0644) == 0);
    CHECK(symlink(so, lnk) == 0);
    CHECK(refused_with(dir, "{\"plugin\": \"template\"}", "template.so: cannot load: a symbolic link"));
    if (geteuid() == 0) {       /* only root can give a file away */
        CHECK(chown(so, 4242, 0) == 0);
        CHECK(refused_with(dir, koha, "koha.so: owned by uid 4242: plugins are loaded only from "
                                      "root's or onloand's own (uid 0)"));
        CHECK(chown(so, 0, 0) == 0 && chown(dir, 4242, 4242) == 0);
        CHECK(refused_with(dir, koha, "owned by uid 4242"));
        CHECK(chown(dir, 0, 0) == 0);
    }
    int junk = open(so, O_WRONLY | O_TRUNC);
    CHECK(junk >= 0 && write(junk, "#!/bin/sh\n", 10) == 10);
    if (junk >= 0)
        close(junk);
    CHECK(refused_with(dir, koha, "koha.so: not an ELF shared object"));
    unlink(lnk);
    unlink(so);
    rmdir(dir);
    strbuf_free(&err);
}

int main(int argc, char **argv)
{
    (void)argc;
    char *self = realpath(argv[0], NULL), up[sizeof plugin_dir + 16];  /* plugin_dir is absolute */
    const char *dir = self ? dirname(self) : ".";  /* BUILD/tests/unit */
    snprintf(up, sizeof up, "%s/../../plugins", dir);
    if (!realpath(up, plugin_dir))
        plugin_dir[0] = '\0';
    snprintf(fixture_dir, sizeof fixture_dir, "%s/plugins", dir);
    free(self);
    RUN(koha_links);
    RUN(template_links);
    RUN(loader_refuses_bad_plugins);
    RUN(loader_checks_abi_before_any_plugin_code_runs);
    RUN(loader_refuses_plugins_others_can_change);
    return unit_failures != 0;
}
