/* test_experiments.c: which experiment runs (channel, days) and which arm
 * a unit gets (experiments.h): the same every time, in the arms' shares. */
#include <sodium.h>
#include <math.h>
#include <stdlib.h>

#include "http/experiments.h"
#include "unit.h"

static struct config *cfg;

#define EXPERIMENTS \
    "\"experiments\": [" \
    "{\"name\": \"ab\", \"from\": \"2026-12-01\", \"until\": \"2027-03-01\", \"channels\": [\"opac\", \"app\"]," \
    " \"arms\": [{\"name\": \"a\", \"share\": 70}, {\"name\": \"b\", \"share\": 20}," \
    "            {\"name\": \"control\", \"share\": 10, \"alternatives\": 0}]}," \
    "{\"name\": \"kiosk-test\", \"from\": \"2027-01-01\", \"until\": \"2027-01-02\", \"channels\": [\"kiosk\"]," \
    " \"arms\": [{\"name\": \"x\", \"share\": 50}, {\"name\": \"y\", \"share\": 50}]}]"

TEST(running_by_channel_and_day)
{
    CHECK(experiment_running(cfg, CHANNEL_OPAC, "2026-11-30") == NULL);
    CHECK(experiment_running(cfg, CHANNEL_OPAC, "2026-12-01") == &cfg->experiments[0]);
    CHECK(experiment_running(cfg, CHANNEL_APP, "2027-02-28") == &cfg->experiments[0]);
    CHECK(experiment_running(cfg, CHANNEL_OPAC, "2027-03-01") == NULL);     /* until: not on it */
    CHECK(experiment_running(cfg, CHANNEL_WIDGET, "2026-12-15") == NULL);
    CHECK(experiment_running(cfg, CHANNEL_KIOSK, "2027-01-01") == &cfg->experiments[1]);
    CHECK(experiment_running(cfg, CHANNEL_KIOSK, "2027-01-02") == NULL);
}

TEST(arms_stable_and_in_their_shares)
{
    const struct experiment_config *ex = &cfg->experiments[0];
    size_t count[3] = {0}, n = 10000;
    char unit[32];
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(unit, sizeof unit, "patron-%zu", i);
        const struct arm_config *arm = experiment_arm(ex, unit, (size_t)len);
        CHECK(arm == experiment_arm(ex, unit, (size_t)len));       /* the same every time */
        count[arm - ex->arms]++;
    }
    /* 70/20/10 within four standard deviations of a binomial */
    double want[3] = {0.7, 0.2, 0.1};
    for (int a = 0; a < 3; a++) {
        double mean = want[a] * (double)n, sd = sqrt((double)n * want[a] * (1 - want[a]));
        if (!(fabs((double)count[a] - mean) <= 4 * sd))
            printf("  arm %d: %zu of %zu\n", a, count[a], n);
        CHECK(fabs((double)count[a] - mean) <= 4 * sd);
    }
    /* the bucket depends on the experiment's name as well as the unit */
    const struct experiment_config *other = &cfg->experiments[1];
    size_t same = 0;
    for (size_t i = 0; i < 1000; i++) {
        int len = snprintf(unit, sizeof unit, "u%zu", i);
        same += experiment_bucket(ex, unit, (size_t)len) == experiment_bucket(other, unit, (size_t)len);
    }
    CHECK(same < 50);       /* about 10 of 1000 by chance */
    CHECK(experiment_bucket(ex, "x", 1) < 100);
}

int main(void)
{
    struct strbuf err = {0};
    if (sodium_init() < 0)
        return 1;
    cfg = config_parse("{\"privacy\": {\"patron_key\": "
                       "\"0000000000000000000000000000000000000000000000000000000000000000\"}, "
                       UNIT_TOUCHPOINTS ", " EXPERIMENTS ", \"catalogues\": [{\"name\": \"demo\","
                       " \"target\": \"127.0.0.1:2100/demo\", \"link\": {\"plugin\": \"koha\","
                       " \"base_url\": \"https://x\"}}]}", "experiments.json", &err);
    if (!cfg) {
        printf("FAIL config: %s", strbuf_cstr(&err));
        return 1;
    }
    RUN(running_by_channel_and_day);
    RUN(arms_stable_and_in_their_shares);
    config_free(cfg);
    strbuf_free(&err);
    return unit_failures != 0;
}
