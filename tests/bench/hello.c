/* hello.c: the floor for onloand's HTTP layer — a minimal libevent evhttp
 * server answering every request with a small JSON body.
 *
 *   hello PORT        (127.0.0.1; stops on SIGTERM/SIGINT)
 *
 * Built by tests/bench/run with cc -O2 and pkg-config libevent. */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

static void on_request(struct evhttp_request *req, void *arg)
{
    (void)arg;
    struct evbuffer *out = evbuffer_new();
    if (!out) {
        evhttp_send_error(req, 500, "out of memory");
        return;
    }
    evbuffer_add_printf(out, "{\"status\":\"ok\",\"hello\":\"world\"}\n");
    evhttp_add_header(evhttp_request_get_output_headers(req),
                      "Content-Type", "application/json");
    evhttp_send_reply(req, 200, "OK", out);
    evbuffer_free(out);
}

static void on_signal(evutil_socket_t sig, short what, void *base)
{
    (void)sig;
    (void)what;
    event_base_loopbreak(base);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: hello PORT\n");
        return 2;
    }
    int port = atoi(argv[1]);
    struct event_base *base = event_base_new();
    struct evhttp *http = base ? evhttp_new(base) : NULL;
    if (!http || port <= 0 || port > 65535) {
        fprintf(stderr, "hello: cannot start\n");
        return 1;
    }
    evhttp_set_gencb(http, on_request, NULL);
    if (!evhttp_bind_socket_with_handle(http, "127.0.0.1", (unsigned short)port)) {
        fprintf(stderr, "hello: cannot listen on 127.0.0.1:%d\n", port);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    struct event *term = evsignal_new(base, SIGTERM, on_signal, base);
    struct event *intr = evsignal_new(base, SIGINT, on_signal, base);
    evsignal_add(term, NULL);
    evsignal_add(intr, NULL);
    event_base_dispatch(base);
    event_free(term);
    event_free(intr);
    evhttp_free(http);
    event_base_free(base);
    return 0;
}
