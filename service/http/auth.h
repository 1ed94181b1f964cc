/* auth.h: API keys on the routes that want one.
 *
 * "Authorization: Bearer <key>" with a key from api_keys in the config
 * (config.h keeps only a hash of each and compares in constant time). */
#ifndef ONLOAN_HTTP_AUTH_H
#define ONLOAN_HTTP_AUTH_H

#include <event2/http.h>

struct server;

enum auth_result { AUTH_OK, AUTH_NO_KEY, AUTH_UNKNOWN_KEY, AUTH_LACKS_ROLE };

/* Whether the request's key has role (ROLE_*, config.h); answers
 * nothing. *key_name (may be NULL) is the key's name from the config
 * when it is known (AUTH_OK, AUTH_LACKS_ROLE), else NULL. */
enum auth_result auth_check(const struct server *srv, struct evhttp_request *req, unsigned role,
                            const char **key_name);

/* 0 when the request's key has role (ROLE_*, config.h); otherwise it
 * answers 401 (no key, or an unknown one) or 403 (the key lacks the
 * role, role_name in the message) and returns -1. */
int auth_require(struct server *srv, struct evhttp_request *req, unsigned role,
                 const char *role_name);

#endif
