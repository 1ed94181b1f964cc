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

int main(void)
{
    RUN(dict_set_get_del);
    return unit_failures != 0;
}
