/* test_record_ids.c: interned record ids (record_ids.h): the same string
 * gives the same index, through every rehash. */
#include <stdint.h>

#include "ingest/record_ids.h"
#include "unit.h"

TEST(names_same_string_same_index)
{
    struct record_ids *nm = record_ids_new();
    CHECK(nm != NULL);
    CHECK(record_ids_count(nm) == 0);
    CHECK(record_ids_find(nm, "f1") == RECORD_IDS_NONE);          /* before any slot exists */
    uint32_t a = record_ids_intern(nm, "f1", 2), b = record_ids_intern(nm, "f2", 2);
    CHECK(a == 0 && b == 1);
    CHECK(record_ids_intern(nm, "f1", 2) == a);
    CHECK(record_ids_intern(nm, "f2xyz", 2) == b);           /* only n bytes count */
    CHECK(record_ids_intern(nm, "f", 1) != a);               /* a prefix is another name */
    CHECK(record_ids_intern(nm, "f12", 3) != a);
    CHECK(record_ids_intern(nm, "", 0) != RECORD_IDS_NONE);
    CHECK(record_ids_count(nm) == 5);
    CHECK_STR(record_ids_get(nm, a), "f1");
    CHECK_STR(record_ids_get(nm, b), "f2");
    CHECK(record_ids_get(nm, 5) == NULL);
    CHECK(record_ids_find(nm, "f2") == b);
    CHECK(record_ids_find(nm, "f3") == RECORD_IDS_NONE);
    record_ids_free(nm);
    record_ids_free(NULL);
}

TEST(names_survive_rehash)
{
    /* Slots start at 1024 and double whenever more than half full:
     * 5000 names pass 1024, 2048, 4096 and 8192 slots. */
    struct record_ids *nm = record_ids_new();
    char s[32];
    for (uint32_t i = 0; i < 5000; i++) {
        int n = snprintf(s, sizeof s, "rec:%u", i);
        CHECK(record_ids_intern(nm, s, (size_t)n) == i);
    }
    CHECK(record_ids_count(nm) == 5000);
    int bad = 0;
    for (uint32_t i = 0; i < 5000; i++) {
        int n = snprintf(s, sizeof s, "rec:%u", i);
        bad += record_ids_find(nm, s) != i;
        bad += record_ids_intern(nm, s, (size_t)n) != i;
        bad += strcmp(record_ids_get(nm, i), s) != 0;
    }
    CHECK(bad == 0);
    CHECK(record_ids_count(nm) == 5000);
    CHECK(record_ids_find(nm, "rec:5000") == RECORD_IDS_NONE);
    record_ids_free(nm);
}

int main(void)
{
    RUN(names_same_string_same_index);
    RUN(names_survive_rehash);
    printf("%d failed\n", unit_failures);
    return unit_failures != 0;
}
