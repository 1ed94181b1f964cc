/* experiments.c: see experiments.h. */
#include "http/experiments.h"

#include <sodium.h>
#include <string.h>

const struct experiment_config *experiment_running(const struct config *cfg, enum channel channel,
                                                   const char *day)
{
    for (size_t i = 0; i < cfg->nexperiments; i++) {
        const struct experiment_config *ex = &cfg->experiments[i];
        if ((ex->channels & (1u << channel)) && strcmp(ex->from, day) <= 0 &&
            strcmp(day, ex->until) < 0)
            return ex;
    }
    return NULL;
}

unsigned experiment_bucket(const struct experiment_config *ex, const char *unit, size_t n)
{
    unsigned char h[8];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    crypto_generichash_update(&st, (const unsigned char *)ex->name, strlen(ex->name) + 1);
    crypto_generichash_update(&st, (const unsigned char *)unit, n);
    crypto_generichash_final(&st, h, sizeof h);
    unsigned long long v = 0;
    for (size_t i = 0; i < sizeof h; i++)
        v = v << 8 | h[i];
    return (unsigned)(v % 100);
}

const struct arm_config *experiment_arm(const struct experiment_config *ex, const char *unit,
                                        size_t n)
{
    unsigned bucket = experiment_bucket(ex, unit, n);
    unsigned upto = 0;
    for (size_t i = 0; i < ex->narms; i++) {
        upto += (unsigned)ex->arms[i].share;
        if (bucket < upto)
            return &ex->arms[i];
    }
    return &ex->arms[ex->narms - 1];       /* shares add up to 100: not reached */
}
