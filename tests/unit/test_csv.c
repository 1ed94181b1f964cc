/* test_csv.c: splitting a CSV line into its fields (csv.h). */
#include "core/csv.h"
#include "unit.h"

TEST(csv_fields_and_quotes)
{
    char line[] = "2100000001,\"f1\",\"a, \"\"quoted\"\" one\",\r\n";
    char *f[8];
    CHECK(csv_split(line, f, 8) == 4);
    CHECK_STR(f[0], "2100000001");
    CHECK_STR(f[1], "f1");
    CHECK_STR(f[2], "a, \"quoted\" one");
    CHECK_STR(f[3], "");
    char open_quote[] = "a,\"b\n";
    CHECK(csv_split(open_quote, f, 8) == -1);
    char too_many[] = "a,b,c";
    CHECK(csv_split(too_many, f, 2) == -1);
}

int main(void)
{
    RUN(csv_fields_and_quotes);
    return unit_failures != 0;
}
