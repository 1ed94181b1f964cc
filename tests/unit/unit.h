/* unit.h: the smallest test harness that says what failed.
 *
 * Each TEST(name) is a function; CHECK records a failure with the
 * expression and line and goes on. RUN(name) prints "ok name" or
 * "FAIL name: ..." lines; main returns unit_failures != 0. */
#ifndef ONLOAN_UNIT_H
#define ONLOAN_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_failures, unit_current_failed;
static const char *unit_current;

#define TEST(name) static void name(void)

/* The touchpoints section every config needs: its token key. */
#define UNIT_TOUCHPOINTS \
    "\"touchpoints\": {\"token_key\": " \
    "\"1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100\"}"

/* The config of the loan-event tests: a patron key and a MovieLens
 * record prefix ("ml"), one catalogue that is never asked. */
#define UNIT_LOAN_CONFIG \
    "{\"privacy\": {\"patron_key\": " \
    "\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"}, " UNIT_TOUCHPOINTS "," \
    " \"ingest\": {\"movielens_record_prefix\": \"ml\"}," \
    " \"catalogues\": [{\"name\": \"demo\", \"target\": \"127.0.0.1:2100/demo\"," \
    " \"link\": {\"plugin\": \"koha\", \"base_url\": \"https://x\"}}]}"

#define CHECK(cond) do { \
    if (!(cond)) { \
        printf("FAIL %s: %s:%d: %s\n", unit_current, __FILE__, __LINE__, #cond); \
        unit_current_failed = 1; \
    } \
} while (0)

#define CHECK_STR(got, want) do { \
    const char *g_ = (got), *w_ = (want); \
    if (!g_ || !w_ || strcmp(g_, w_) != 0) { \
        printf("FAIL %s: %s:%d: %s is \"%s\", want \"%s\"\n", unit_current, __FILE__, \
               __LINE__, #got, g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
        unit_current_failed = 1; \
    } \
} while (0)

#define RUN(name) do { \
    unit_current = #name; \
    unit_current_failed = 0; \
    name(); \
    if (unit_current_failed) \
        unit_failures++; \
    else \
        printf("ok %s\n", #name); \
} while (0)

#endif
