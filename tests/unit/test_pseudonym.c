/* test_pseudonym.c: patron pseudonyms (pseudonym.h): keyed, stable,
 * and a patron id's bounds. */
#include "core/pseudonym.h"
#include "unit.h"

TEST(pseudonyms_are_keyed_and_stable)
{
    unsigned char k1[32] = {1}, k2[32] = {2};
    char a[PSEUDONYM_HEX_LEN + 1], b[PSEUDONYM_HEX_LEN + 1], c[PSEUDONYM_HEX_LEN + 1];
    CHECK(pseudonym_init() == 0);
    pseudonymise(k1, "2100000001", 10, a);
    pseudonymise(k1, "2100000001", 10, b);
    pseudonymise(k2, "2100000001", 10, c);
    CHECK(strlen(a) == PSEUDONYM_HEX_LEN);
    CHECK_STR(a, b);
    CHECK(strcmp(a, c) != 0);
    CHECK(strstr(a, "2100000001") == NULL);

    /* A patron id from outside: 1 to PATRON_MAX_BYTES bytes, no NUL. */
    char longest[PATRON_MAX_BYTES + 1];
    memset(longest, '7', sizeof longest);
    CHECK(pseudonymise_patron(k1, "2100000001", 10, c) == 0 && strcmp(a, c) == 0);
    CHECK(pseudonymise_patron(k1, longest, PATRON_MAX_BYTES, c) == 0);
    strcpy(c, "untouched");
    CHECK(pseudonymise_patron(k1, longest, PATRON_MAX_BYTES + 1, c) == -1);
    CHECK(pseudonymise_patron(k1, "", 0, c) == -1);
    CHECK(pseudonymise_patron(k1, "21\0001", 4, c) == -1);
    CHECK_STR(c, "untouched");
    CHECK_STR(PATRON_RULE, "must be 1 to 128 bytes");
}

int main(void)
{
    RUN(pseudonyms_are_keyed_and_stable);
    return unit_failures != 0;
}
