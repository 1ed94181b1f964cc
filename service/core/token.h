/* token.h: touchpoint tokens, which make outcomes unforgeable.
 *
 * Every answer carries a token: an HMAC-SHA-256 (libsodium) under
 * touchpoints.token_key over the touchpoint's id, the records it showed
 * and the time it expires. An outcome posted for that touchpoint must
 * bring it back: without the key nobody can make one for a touchpoint
 * they were not shown, nor for another record, nor keep one past its
 * time. The token is "<expiry>.<MAC in URL-safe base64>", at most
 * TOKEN_MAX_BYTES. */
#ifndef ONLOAN_CORE_TOKEN_H
#define ONLOAN_CORE_TOKEN_H

#include <sodium.h>
#include <stddef.h>

#include "core/config.h"

#define TOKEN_MAX_BYTES 64

/* What a touchpoint showed: the wanted record and the alternatives, as
 * the touchpoint stream holds them (ids joined by ','; "" for none). */
struct token_subject {
    const char *touchpoint;
    const char *record;
    const char *alternatives;
};

/* touchpoints.token_key made ready once: the HMAC state keyed (its
 * inner and outer pads hashed), which each token starts from. */
struct token_key {
    crypto_auth_hmacsha256_state keyed;
};
void token_key_init(struct token_key *k, const unsigned char key[TOKEN_KEY_BYTES]);

/* Writes the token of s that expires at expires (Unix seconds). */
void token_make(const struct token_key *k, const struct token_subject *s, long long expires,
                char out[TOKEN_MAX_BYTES + 1]);

enum token_verdict { TOKEN_OK, TOKEN_MALFORMED, TOKEN_EXPIRED, TOKEN_FORGED };
/* Whether token is s's own and still good at now (Unix seconds). The MAC
 * is compared in constant time. */
enum token_verdict token_check(const struct token_key *k, const struct token_subject *s,
                               const char *token, long long now);

#endif
