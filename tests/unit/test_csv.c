/* test_csv.c: splitting a CSV line into its fields, and writing a field
 * (csv.h). */
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

static struct strbuf out;

static const char *field(const char *s)
{
    strbuf_reset(&out);
    CHECK(csv_put_field(&out, s, strlen(s)) == 0);
    return strbuf_cstr(&out);
}

TEST(csv_writing_fields)
{
    CHECK_STR(field("CEN"), "CEN");
    CHECK_STR(field(""), "");
    CHECK_STR(field("a,b"), "\"a,b\"");
    CHECK_STR(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    CHECK_STR(field("\""), "\"\"\"\"");
    CHECK_STR(field("two\nlines"), "\"two\nlines\"");
    CHECK_STR(field("cr\r"), "\"cr\r\"");
    CHECK_STR(field("semi;colon 'quote'"), "semi;colon 'quote'");
    /* what is written is read back as it was */
    char line[64];
    snprintf(line, sizeof line, "%s,%s", field("a,\"b\""), "c");
    char *f[4];
    CHECK(csv_split(line, f, 4) == 2);
    CHECK_STR(f[0], "a,\"b\"");
    CHECK_STR(f[1], "c");
    strbuf_free(&out);
}

int main(void)
{
    RUN(csv_fields_and_quotes);
    RUN(csv_writing_fields);
    return unit_failures != 0;
}
