/* pseudonym.h: patron pseudonyms.
 *
 * A patron id is replaced by a keyed BLAKE2b-128 hash (libsodium's
 * crypto_generichash) before it goes anywhere: Redis, logs, reports.
 * Without the key (config privacy.patron_key) a pseudonym cannot be
 * linked back to a card number by hashing candidate numbers. */
#ifndef ONLOAN_CORE_PSEUDONYM_H
#define ONLOAN_CORE_PSEUDONYM_H

#include <stddef.h>

#define PSEUDONYM_HEX_LEN 32    /* 16 bytes as hex */
#define PATRON_MAX_BYTES 128    /* a patron id (card number, ILS id) */
#define PSEUDO_STR_(x) #x
#define PSEUDO_STR(x) PSEUDO_STR_(x)
/* What a patron id must be: the message of every 400 about one. */
#define PATRON_RULE "must be 1 to " PSEUDO_STR(PATRON_MAX_BYTES) " bytes"

/* Must be called once before pseudonymise (initialises libsodium). */
int pseudonym_init(void);
/* Writes the NUL-terminated hex pseudonym of the patron id into out. */
void pseudonymise(const unsigned char *key, const char *patron, size_t len,
                  char out[PSEUDONYM_HEX_LEN + 1]);
/* pseudonymise for a patron id from outside: -1 (out untouched) unless it
 * is 1 to PATRON_MAX_BYTES bytes without a NUL. */
int pseudonymise_patron(const unsigned char *key, const char *patron, size_t len,
                        char out[PSEUDONYM_HEX_LEN + 1]);

#endif
