/* test_strbuf.c: the growing string buffer (strbuf.h). */
#include <limits.h>
#include <stdlib.h>

#include "core/strbuf.h"
#include "unit.h"

TEST(strbuf_grows_and_encodes)
{
    struct strbuf sb = {0};
    CHECK_STR(strbuf_cstr(&sb), "");
    for (int i = 0; i < 1000; i++)
        CHECK(strbuf_printf(&sb, "%d,", i) == 0);
    CHECK(sb.len == strlen(sb.buf));
    CHECK(strncmp(sb.buf + sb.len - 4, "999,", 4) == 0);
    strbuf_reset(&sb);
    CHECK(strbuf_urlencode(&sb, "a b/\xc3\xa7~", 7) == 0);
    CHECK_STR(strbuf_cstr(&sb), "a%20b%2F%C3%A7~");
    char *s = strbuf_steal(&sb);
    CHECK(sb.buf == NULL && sb.len == 0);
    free(s);
}

TEST(strbuf_put_ll_matches_printf)
{
    const long long v[] = {0, 7, -7, 10, 1700000000, -1, LLONG_MAX, LLONG_MIN};
    struct strbuf sb = {0}, want = {0};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        CHECK(strbuf_put_ll(&sb, v[i]) == 0 && strbuf_puts(&sb, ",") == 0);
        CHECK(strbuf_printf(&want, "%lld,", v[i]) == 0);
    }
    CHECK_STR(strbuf_cstr(&sb), strbuf_cstr(&want));
    strbuf_free(&sb);
    strbuf_free(&want);
}

int main(void)
{
    RUN(strbuf_grows_and_encodes);
    RUN(strbuf_put_ll_matches_printf);
    return unit_failures != 0;
}
