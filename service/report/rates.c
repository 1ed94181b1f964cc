/* rates.c: see rates.h. */
#include "report/rates.h"

#include <math.h>

void rate_wilson(uint64_t k, uint64_t n, struct estimate *e)
{
    if (n == 0) {
        *e = (struct estimate){0, 0, 0, 0};
        return;
    }
    if (k > n)
        k = n;
    double nn = (double)n, p = (double)k / nn, z2 = RATE_Z * RATE_Z;
    double denom = 1 + z2 / nn;
    double centre = (p + z2 / (2 * nn)) / denom;
    double half = RATE_Z / denom * sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
    e->known = 1;
    e->value = p;
    e->low = centre - half < 0 ? 0 : centre - half;
    e->high = centre + half > 1 ? 1 : centre + half;
    /* at k = 0 and k = n the bound is exactly 0 or 1 (rounding aside) */
    if (k == 0)
        e->low = 0;
    if (k == n)
        e->high = 1;
}

void rate_difference(uint64_t k1, uint64_t n1, uint64_t k2, uint64_t n2, struct estimate *e)
{
    struct estimate a, b;
    rate_wilson(k1, n1, &a);
    rate_wilson(k2, n2, &b);
    if (!a.known || !b.known) {
        *e = (struct estimate){0, 0, 0, 0};
        return;
    }
    double d = a.value - b.value;
    e->known = 1;
    e->value = d;
    e->low = d - sqrt((a.value - a.low) * (a.value - a.low) + (b.high - b.value) * (b.high - b.value));
    e->high = d + sqrt((a.high - a.value) * (a.high - a.value) + (b.value - b.low) * (b.value - b.low));
}
