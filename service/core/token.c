/* token.c: see token.h. */
#include "core/token.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The MAC of s and expires. Fields are NUL-separated: no id contains a
 * NUL, so no two subjects share a message. */
void token_key_init(struct token_key *k, const unsigned char key[TOKEN_KEY_BYTES])
{
    crypto_auth_hmacsha256_init(&k->keyed, key, TOKEN_KEY_BYTES);
}

static void token_mac(const struct token_key *k, const struct token_subject *s, long long expires,
                      unsigned char mac[crypto_auth_hmacsha256_BYTES])
{
    static const char version[] = "onloan-touchpoint-v1";
    char when[24];
    int n = snprintf(when, sizeof when, "%lld", expires);
    crypto_auth_hmacsha256_state st = k->keyed;
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)version, sizeof version);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)when, (unsigned long long)n + 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)s->touchpoint, strlen(s->touchpoint) + 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)s->record, strlen(s->record) + 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)s->alternatives,
                                  strlen(s->alternatives) + 1);
    crypto_auth_hmacsha256_final(&st, mac);
}

void token_make(const struct token_key *k, const struct token_subject *s, long long expires,
                char out[TOKEN_MAX_BYTES + 1])
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    token_mac(k, s, expires, mac);
    /* 20 digits at most, the dot, 43 of base64: 64 */
    int n = snprintf(out, TOKEN_MAX_BYTES + 1, "%lld.", expires);
    sodium_bin2base64(out + n, (size_t)(TOKEN_MAX_BYTES + 1 - n), mac, sizeof mac,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

enum token_verdict token_check(const struct token_key *k, const struct token_subject *s,
                               const char *token, long long now)
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES], want[crypto_auth_hmacsha256_BYTES];
    size_t maclen = 0;
    const char *dot = strchr(token, '.'), *end = NULL;
    if (!dot || dot == token || dot - token > 19 || strlen(token) > TOKEN_MAX_BYTES)
        return TOKEN_MALFORMED;
    long long expires = 0;
    for (const char *p = token; p < dot; p++) {
        if (*p < '0' || *p > '9')
            return TOKEN_MALFORMED;
        expires = expires * 10 + (*p - '0');
    }
    if (sodium_base642bin(mac, sizeof mac, dot + 1, strlen(dot + 1), NULL, &maclen, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        maclen != sizeof mac || *end)
        return TOKEN_MALFORMED;
    token_mac(k, s, expires, want);
    if (sodium_memcmp(mac, want, sizeof mac) != 0)
        return TOKEN_FORGED;
    return now < expires ? TOKEN_OK : TOKEN_EXPIRED;
}
