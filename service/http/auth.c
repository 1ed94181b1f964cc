/* auth.c: see auth.h. */
#include "http/auth.h"

#include <event2/keyvalq_struct.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/strbuf.h"
#include "http/reply.h"
#include "server.h"

int auth_require(struct server *srv, struct evhttp_request *req, unsigned role,
                 const char *role_name)
{
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0 || !auth[7]) {
        evhttp_add_header(out, "WWW-Authenticate", "Bearer");
        http_reply_error(req, 401, "authorization", "an API key is required: Authorization: Bearer <key>");
        return -1;
    }
    const char *name;
    unsigned roles = config_api_key_roles(srv->cfg, auth + 7, strlen(auth + 7), &name);
    if (!roles) {
        evhttp_add_header(out, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
        http_reply_error(req, 401, "authorization", "unknown API key");
        return -1;
    }
    if (!(roles & role)) {
        log_msg(LOG_WARN, "API key \"%s\" used without the %s role", name, role_name);
        struct strbuf msg = {0};
        int oom = strbuf_printf(&msg, "this API key lacks the %s role", role_name) < 0;
        http_reply_error(req, 403, "authorization", oom ? "this API key lacks the role" : msg.buf);
        strbuf_free(&msg);
        return -1;
    }
    return 0;
}
