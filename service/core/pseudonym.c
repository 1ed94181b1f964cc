/* pseudonym.c: keyed hashing of patron ids; see pseudonym.h. */
#include "core/pseudonym.h"

#include <sodium.h>
#include <string.h>

#include "core/config.h"

int pseudonym_init(void)
{
    return sodium_init() < 0 ? -1 : 0;
}

int pseudonymise_patron(const unsigned char *key, const char *patron, size_t len,
                        char out[PSEUDONYM_HEX_LEN + 1])
{
    if (len == 0 || len > PATRON_MAX_BYTES || memchr(patron, '\0', len))
        return -1;
    pseudonymise(key, patron, len, out);
    return 0;
}

void pseudonymise(const unsigned char *key, const char *patron, size_t len,
                  char out[PSEUDONYM_HEX_LEN + 1])
{
    unsigned char digest[PSEUDONYM_HEX_LEN / 2];
    crypto_generichash(digest, sizeof digest, (const unsigned char *)patron, len,
                       key, PATRON_KEY_BYTES);
    sodium_bin2hex(out, PSEUDONYM_HEX_LEN + 1, digest, sizeof digest);
}
