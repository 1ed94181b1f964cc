/* test_token.c: touchpoint tokens (token.h): made, checked, and refused
 * when anything they cover changes, when their time is past, or when
 * they are not tokens at all. */
#include <sodium.h>

#include "core/token.h"
#include "unit.h"

static const unsigned char key_bytes[TOKEN_KEY_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8};
static const unsigned char other_key_bytes[TOKEN_KEY_BYTES] = {8, 7, 6, 5, 4, 3, 2, 1};
static struct token_key keyed, other_keyed;
static const struct token_key *const key = &keyed, *const other_key = &other_keyed;

TEST(made_and_checked)
{
    struct token_subject s = {"1795437192039-0", "f356", "f539,f161"};
    char t[TOKEN_MAX_BYTES + 1];
    token_make(key, &s, 2000000000, t);
    CHECK(strncmp(t, "2000000000.", 11) == 0 && strlen(t) == 11 + 43);
    CHECK(token_check(key, &s, t, 1999999999) == TOKEN_OK);
    CHECK(token_check(key, &s, t, 2000000000) == TOKEN_EXPIRED);
    CHECK(token_check(other_key, &s, t, 1) == TOKEN_FORGED);
    /* everything it covers */
    struct token_subject changed[] = {{"1795437192039-1", "f356", "f539,f161"},
                                      {"1795437192039-0", "f357", "f539,f161"},
                                      {"1795437192039-0", "f356", "f539,f16"},
                                      {"1795437192039-0", "f356", "f539"},
                                      {"1795437192039-0", "f356f539", ",f161"}};
    for (size_t i = 0; i < sizeof changed / sizeof changed[0]; i++)
        CHECK(token_check(key, &changed[i], t, 1) == TOKEN_FORGED);
    /* a later expiry with the same MAC is forged, not merely expired */
    char later[TOKEN_MAX_BYTES + 2];
    snprintf(later, sizeof later, "3%s", t + 1);
    CHECK(token_check(key, &s, later, 1) == TOKEN_FORGED);
}

TEST(not_tokens)
{
    struct token_subject s = {"1-0", "f1", ""};
    char t[TOKEN_MAX_BYTES + 1];
    token_make(key, &s, 100, t);
    CHECK(token_check(key, &s, t, 99) == TOKEN_OK);
    static const char *const bad[] = {"", ".", "100", "100.", ".abc", "x100.abc",
                                      "100.not base64!", "100.AAAA",
                                      "100000000000000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(token_check(key, &s, bad[i], 1) == TOKEN_MALFORMED);
    char longer[TOKEN_MAX_BYTES + 8];
    snprintf(longer, sizeof longer, "%sAAAA", t);      /* past the MAC */
    CHECK(token_check(key, &s, longer, 1) == TOKEN_MALFORMED);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    token_key_init(&keyed, key_bytes);
    token_key_init(&other_keyed, other_key_bytes);
    RUN(made_and_checked);
    RUN(not_tokens);
    return unit_failures != 0;
}
