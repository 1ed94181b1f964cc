/* auth.c: see auth.h. */
#include "http/auth.h"

#include <event2/keyvalq_struct.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/strbuf.h"
#include "http/reply.h"
#include "server.h"

enum auth_result auth_check(const struct server *srv, struct evhttp_request *req, unsigned role,
                            const char **key_name)
{
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    const char *name = NULL;
    if (key_name)
        *key_name = NULL;
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0 || !auth[7])
        return AUTH_NO_KEY;
    unsigned roles = config_api_key_roles(srv->cfg, auth + 7, strlen(auth + 7), &name);
    if (!roles)
        return AUTH_UNKNOWN_KEY;
    if (key_name)
        *key_name = name;
    return roles & role ? AUTH_OK : AUTH_LACKS_ROLE;
}

int auth_require(struct server *srv, struct evhttp_request *req, unsigned role,
                 const char *role_name)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    const char *name;
    switch (auth_check(srv, req, role, &name)) {
    case AUTH_OK:
        return 0;
    case AUTH_NO_KEY:
        evhttp_add_header(out, "WWW-Authenticate", "Bearer");
        http_reply_error(req, 401, "authorization", "an API key is required: Authorization: Bearer <key>");
        return -1;
    case AUTH_UNKNOWN_KEY:
        evhttp_add_header(out, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
        http_reply_error(req, 401, "authorization", "unknown API key");
        return -1;
    case AUTH_LACKS_ROLE:
        break;
    }
    log_msg(LOG_WARN, "API key \"%s\" used without the %s role", name, role_name);
    struct strbuf msg = {0};
    int oom = strbuf_printf(&msg, "this API key lacks the %s role", role_name) < 0;
    http_reply_error(req, 403, "authorization", oom ? "this API key lacks the role" : msg.buf);
    strbuf_free(&msg);
    return -1;
}
