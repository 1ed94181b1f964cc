/* test_rcmd.c: a command's arguments as rcmd.h builds them. */
#include <string.h>

#include "redis/rcmd.h"
#include "unit.h"

TEST(numbers_and_joined_parts)
{
    struct rcmd c = {0};
    const char *three[] = {"f1", "", "demo"};
    CHECK(rcmd_addu(&c, 0) == 0 && rcmd_addu(&c, 7) == 0 && rcmd_addu(&c, 1234567890) == 0 &&
          rcmd_addu(&c, 18446744073709551615ULL) == 0);
    CHECK(rcmd_addparts(&c, three, 3, " ") == 0 && rcmd_addparts(&c, three, 0, " ") == 0 &&
          rcmd_addparts(&c, three, 3, "") == 0);
    CHECK(rcmd_addjoin(&c, "onloan:", "tpd:", "20261206") == 0);
    CHECK(c.argc == 8);
    if (c.argc == 8) {
        CHECK_STR(c.argv[0], "0");
        CHECK_STR(c.argv[1], "7");
        CHECK_STR(c.argv[2], "1234567890");
        CHECK_STR(c.argv[3], "18446744073709551615");
        CHECK_STR(c.argv[4], "f1  demo ");
        CHECK(c.len[4] == 9);
        CHECK_STR(c.argv[5], "");
        CHECK(c.len[5] == 0);
        CHECK_STR(c.argv[6], "f1demo");
        CHECK_STR(c.argv[7], "onloan:tpd:20261206");
    }
    rcmd_free(&c);
}

int main(void)
{
    RUN(numbers_and_joined_parts);
    return unit_failures != 0;
}
