/* test_dict.c: the string-keyed hash table (dict.h). */
#include "core/dict.h"
#include "unit.h"

static int count_entry(const char *k, void *v, void *arg)
{
    (void)k;
    (void)v;
    ++*(int *)arg;
    return 0;
}

TEST(dict_set_get_del)
{
    struct dict *d = dict_new();
    char key[32];
    for (long i = 1; i <= 5000; i++) {
        snprintf(key, sizeof key, "k%ld", i);
        CHECK(dict_set(d, key, (void *)i, NULL) == 0);
    }
    CHECK(dict_size(d) == 5000);
    CHECK(dict_get(d, "k4242") == (void *)4242);
    CHECK(dict_del(d, "k4242") == (void *)4242);
    CHECK(dict_get(d, "k4242") == NULL);
    void *old = NULL;
    CHECK(dict_set(d, "k1", (void *)7, &old) == 0 && old == (void *)1);
    int n = 0;
    dict_each(d, count_entry, &n);
    CHECK(n == 4999);
    dict_free(d, NULL);
}

/* Keys a client could choose to collide under an unkeyed hash: all of
 * these share FNV-1a's low 12 bits, so an FNV-1a table of up to 4096
 * slots would chain them all in one slot. Under the keyed hash they
 * spread like any keys. */
TEST(dict_keyed_against_flooding)
{
    struct dict *d = dict_new();
    char key[32];
    uint64_t target = hash_bytes("r0", 2) & 0xfff;
    int found = 0;
    for (long i = 1; found < 300 && i < 10000000; i++) {
        int n = snprintf(key, sizeof key, "r%ld", i);
        if ((hash_bytes(key, (size_t)n) & 0xfff) != target)
            continue;
        CHECK(dict_set(d, key, (void *)i, NULL) == 0);
        found++;
    }
    CHECK(found == 300);
    CHECK(dict_size(d) == 300);
    CHECK(dict_longest_chain(d) < 12);
    dict_free(d, NULL);
}

int main(void)
{
    RUN(dict_set_get_del);
    RUN(dict_keyed_against_flooding);
    return unit_failures != 0;
}
