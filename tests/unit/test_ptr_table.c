/* test_ptr_table.c: the fixed-capacity pointer map (ptr_table.h). */
#include <stdint.h>
#include <stdlib.h>

#include "core/ptr_table.h"
#include "unit.h"

TEST(ptr_table_bounds)
{
    struct ptr_table *t = ptr_table_new(3);
    int a, b, c, d;
    CHECK(ptr_table_put(t, NULL, &a) == -1);
    CHECK(ptr_table_put(t, &a, &a) == 0);
    CHECK(ptr_table_put(t, &a, &b) == -1);        /* there already */
    CHECK(ptr_table_put(t, &b, &b) == 0 && ptr_table_put(t, &c, &c) == 0);
    CHECK(ptr_table_put(t, &d, &d) == -1);        /* max entries */
    CHECK(ptr_table_size(t) == 3);
    CHECK(ptr_table_get(t, &b) == &b && ptr_table_get(t, &d) == NULL);
    CHECK(ptr_table_del(t, &d) == NULL);
    CHECK(ptr_table_del(t, &b) == &b && ptr_table_get(t, &b) == NULL);
    CHECK(ptr_table_put(t, &d, &d) == 0 && ptr_table_get(t, &d) == &d);
    ptr_table_free(t);
}

/* Keys come and go at random, packed close as heap addresses are (so
 * they share home slots and chains), against a plain array: every key
 * in is found with its value, every key out is not, after each step
 * (deletion moves entries back into the gap it leaves). */
TEST(ptr_table_churn)
{
    enum { MAX = 500, KEYS = 2000 };
    static char base[KEYS * 16];
    static int in[KEYS];
    struct ptr_table *t = ptr_table_new(MAX);
    size_t n = 0;
    unsigned seed = 12345;
    int bad = 0;
    for (int step = 0; step < 200000 && !bad; step++) {
        seed = seed * 1103515245u + 12345u;
        int k = (int)((seed >> 8) % KEYS);
        void *key = base + 16 * k;
        if (in[k]) {
            bad |= ptr_table_del(t, key) != (void *)(intptr_t)(k + 1);
            in[k] = 0;
            n--;
        } else if (n < MAX) {
            bad |= ptr_table_put(t, key, (void *)(intptr_t)(k + 1)) != 0;
            in[k] = 1;
            n++;
        }
        if (step % 997 == 0)
            for (int i = 0; i < KEYS; i++)
                bad |= ptr_table_get(t, base + 16 * i) != (in[i] ? (void *)(intptr_t)(i + 1) : NULL);
    }
    CHECK(!bad);
    CHECK(ptr_table_size(t) == n);
    ptr_table_free(t);
}

int main(void)
{
    RUN(ptr_table_bounds);
    RUN(ptr_table_churn);
    return unit_failures != 0;
}
