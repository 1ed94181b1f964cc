/* test_utf8.c: what counts as UTF-8 (RFC 3629), and the repair. */
#include <stdlib.h>

#include "core/utf8.h"
#include "unit.h"

static int valid(const char *s)
{
    return utf8_valid(s, strlen(s));
}

TEST(valid_sequences)
{
    CHECK(valid(""));
    CHECK(valid("plain ASCII"));
    CHECK(valid("Caf\xc3\xa9 K\xc3\xb6ln \xe2\x82\xac \xf0\x9f\x93\x9a"));  /* 2, 3, 4 bytes */
    CHECK(valid("\xed\x9f\xbf"));           /* U+D7FF, just below the surrogates */
    CHECK(valid("\xf4\x8f\xbf\xbf"));       /* U+10FFFF, the last */
    CHECK(utf8_valid("a\0b", 3));           /* a NUL is a character like any */
}

TEST(invalid_sequences)
{
    CHECK(!valid("\xe9"));                  /* Latin-1 */
    CHECK(!valid("\xc3"));                  /* cut short */
    CHECK(!valid("\xc3("));                 /* no continuation */
    CHECK(!valid("\x80"));                  /* a continuation alone */
    CHECK(!valid("\xc0\xaf"));              /* overlong "/" */
    CHECK(!valid("\xe0\x80\xaf"));          /* overlong, three bytes */
    CHECK(!valid("\xf0\x80\x80\xaf"));      /* overlong, four bytes */
    CHECK(!valid("\xed\xa0\x80"));          /* a surrogate */
    CHECK(!valid("\xf4\x90\x80\x80"));      /* past U+10FFFF */
    CHECK(!valid("\xf5\x80\x80\x80"));
    CHECK(!valid("\xff"));
    CHECK(!utf8_valid("\xc3\xa9", 1));      /* n bounds the check */
}

TEST(repair_replaces_each_bad_byte)
{
    char *r = utf8_repaired("Caf\xe9 ok \xc3\xa9 \xed\xa0\x80");
    CHECK_STR(r, "Caf\xef\xbf\xbd ok \xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    CHECK(r && valid(r));
    free(r);
    r = utf8_repaired("\xff\xff\xff");      /* the most it can grow: three times */
    CHECK_STR(r, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    free(r);
    r = utf8_repaired("already fine \xe2\x82\xac");
    CHECK_STR(r, "already fine \xe2\x82\xac");
    free(r);
}

int main(void)
{
    RUN(valid_sequences);
    RUN(invalid_sequences);
    RUN(repair_replaces_each_bad_byte);
    return unit_failures != 0;
}
